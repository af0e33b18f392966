"""Provides the rubric model: weighted, declarative checks over captured sessions and tenant state.

A rubric is data, never code: each check names one of the check types below and its parameters.
Checks may depend on others (``requires``); a check whose prerequisite failed is skipped, not
failed.

Patterns for addresses are shell-style (``*@fabrikam.com``); reply codes match by prefix
(``550 5.7.64``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "AuditCheck",
    "AuthResultsCheck",
    "Check",
    "ConnectorCheck",
    "DeliveredCheck",
    "MessagesCheck",
    "NoBasicAuthCheck",
    "ReplyCheck",
    "Rubric",
    "SessionCheck",
    "TenantCheck",
    "TraceCheck",
]

CheckId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=2, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class _Check(_Model):
    id: CheckId
    """Check id, unique in the rubric."""
    title: str = Field(min_length=1)
    """What is checked, in the trainee's terms."""
    points: int = Field(default=1, ge=0, le=100)
    """Weight of the check."""
    pass_message: str = Field(default="", alias="pass")
    """Shown when the check passes."""
    fail_message: str = Field(alias="fail", min_length=1)
    """Shown when it fails: what is wrong and how to fix it."""
    lesson: str | None = None
    """Lesson to reread when the check fails."""
    requires: list[CheckId] = Field(default_factory=list)
    """Checks that must pass first; when one fails, this check is skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid",
                              validate_default=True, populate_by_name=True)


class DeliveredCheck(_Check):
    """A message reached a recipient (Inbox, Junk, or an external domain's server)."""

    check: Literal["delivered"]
    to: str = Field(min_length=1)
    """Recipient pattern, e.g. helpdesk@contoso.com or *@fabrikam.com."""
    folder: Literal["Inbox", "Junk Email", "any"] = "Inbox"
    """Where it must have landed (external recipients count as Inbox)."""
    expect: bool = True
    """False: check that nothing reached this recipient (e.g. a spoof no longer gets in)."""
    from_pattern: str | None = Field(default=None, alias="from")
    """Only messages whose envelope sender matches this pattern."""


class ReplyCheck(_Check):
    """The tenant sent (or never sent) a reply starting with a code."""

    check: Literal["reply"]
    code: str = Field(min_length=3)
    """Reply prefix, e.g. '550 5.7.64' or '235'."""
    stage: Literal["any", "CONNECT", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "END"] = "any"
    """The command the reply answered (END: the reply after the final dot)."""
    present: bool = True
    """True: must occur; False: must never occur."""


class SessionCheck(_Check):
    """Facts about the sessions that delivered mail (or about every session)."""

    check: Literal["session"]
    scope: Literal["delivering", "all", "any"] = "delivering"
    """delivering: every session that delivered to at least one recipient (there must be one);
    all: every session; any: at least one session."""
    endpoint: Literal["mx", "mx-legacy", "submission", "smtps"] | None = None
    """Endpoint used."""
    port: int | None = None
    """Real port dialled (25, 587, 465)."""
    tls: bool | None = None
    """TLS was used."""
    tls_min_version: Literal["TLSv1.2", "TLSv1.3"] | None = None
    """TLS at least this version."""
    starttls_before_auth: bool | None = None
    """TLS was up before AUTH was sent."""
    auth: Literal["none", "basic", "oauth"] | None = None
    """Kind of successful authentication."""
    auth_mechanism: str | None = None
    """Mechanism of the successful AUTH (LOGIN, XOAUTH2)."""
    auth_identity: str | None = None
    """Pattern of the authenticated identity."""
    oauth_app_id: str | None = None
    """The token's app id."""
    attribution: Literal["connector", "anonymous", "authenticated"] | None = None
    """How the tenant attributed the mail."""
    connector: str | None = None
    """Connector name (pattern) the mail matched."""
    site: str | None = None
    """Site the session came from."""
    client_cert: bool | None = None
    """A client certificate was presented."""

    @model_validator(mode="after")
    def _has_condition(self) -> SessionCheck:
        conditions = [k for k in type(self).model_fields if k not in _Check.model_fields and k not in ("check", "scope")]
        if all(getattr(self, k) is None for k in conditions):
            raise ValueError("a session check needs at least one condition (endpoint, tls, auth, ...)")
        return self


class NoBasicAuthCheck(_Check):
    """No session tried Basic authentication (AUTH LOGIN or PLAIN)."""

    check: Literal["no-basic-auth"]


class TraceCheck(_Check):
    """Message trace shows a message with a status."""

    check: Literal["trace"]
    recipient: str = "*"
    """Recipient pattern."""
    sender: str = "*"
    """Sender pattern."""
    status: Literal["Delivered", "Failed", "FilteredAsSpam", "Quarantined", "Pending", "Expanded", "None"]
    """Expected status."""
    connector: str | None = None
    """Connector name the detail must show."""


class TenantCheck(_Check):
    """A tenant setting has a value after the attempt.

    ``path`` is dotted with ``[key=value]`` selectors for lists, e.g.
    ``recipients[address=app@contoso.com].smtp_client_authentication_disabled``.
    """

    check: Literal["tenant"]
    path: str = Field(min_length=1)
    """Setting path."""
    equals: Any = None
    """Expected value (true, false, null, a number or text)."""
    exists: bool | None = None
    """Instead of a value: whether the path exists at all."""


class ConnectorCheck(_Check):
    """An inbound connector with these properties exists (or must not)."""

    check: Literal["connector"]
    sender_ip: str | None = None
    """An IP its SenderIPAddresses cover."""
    certificate_name: str | None = None
    """A certificate domain its TlsSenderCertificateName matches."""
    connector_type: Literal["OnPremises", "Partner"] | None = None
    """Connector type."""
    require_tls: bool | None = None
    """RequireTls value."""
    enabled: bool | None = True
    """Enabled value."""
    expect: bool = True
    """False: no such connector may exist."""


class AuditCheck(_Check):
    """The admin audit log has (or lacks) a command."""

    check: Literal["audit"]
    cmdlet: str = Field(min_length=3)
    """Cmdlet name, e.g. Set-CASMailbox."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Parameters the command must have had (names as typed in full, values compared loosely)."""
    present: bool = True
    """False: no such command may have been run."""


class AuthResultsCheck(_Check):
    """Authentication-Results stamped on delivered mail."""

    check: Literal["auth-results"]
    to: str = "*"
    """Recipient pattern."""
    spf: str | None = None
    """e.g. pass, fail, softfail."""
    dkim: str | None = None
    """e.g. pass, none, fail."""
    dmarc: str | None = None
    """e.g. pass, fail."""
    dkim_signed_by: str | None = None
    """Outbound copy DKIM-signed by this domain."""


class MessagesCheck(_Check):
    """How many messages were accepted (all transactions with a 250 after the dot)."""

    check: Literal["messages"]
    min: int = Field(default=1, ge=0)
    """At least this many."""
    max: int | None = None
    """At most this many."""
    delayed: bool | None = None
    """Some were delayed by throttling (True) or none were (False)."""


Check = Annotated[
    DeliveredCheck | ReplyCheck | SessionCheck | NoBasicAuthCheck | TraceCheck | TenantCheck
    | ConnectorCheck | AuditCheck | AuthResultsCheck | MessagesCheck,
    Field(discriminator="check"),
]
"""Any check, told apart by ``check``."""


class Rubric(_Model):
    """The checks of a lab and the score needed to pass."""

    pass_percent: int = Field(default=100, ge=1, le=100)
    """Percentage of points needed to pass."""
    checks: list[Check] = Field(min_length=1)
    """Checks, in the order they are reported."""

    @model_validator(mode="after")
    def _ids(self) -> Rubric:
        ids = [c.id for c in self.checks]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate check ids: {', '.join(sorted(dupes))}")
        for c in self.checks:
            for r in c.requires:
                if r not in ids:
                    raise ValueError(f"check {c.id!r} requires unknown check {r!r}")
                if ids.index(r) >= ids.index(c.id):
                    raise ValueError(f"check {c.id!r} requires {r!r}, which must come before it")
        if sum(c.points for c in self.checks) == 0:
            raise ValueError("the checks carry no points")
        return self
