"""Provides the frozen facts policy functions decide on, and the decisions they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from labs.records import CertInfo
from labs.tenant.policy.replies import Reply

__all__ = ["Attribution", "AuthIdentity", "ConnFacts", "RcptDecision", "Route"]

EndpointKind = Literal["mx", "mx-legacy", "submission", "smtps"]
Route = Literal["internal", "external", "unknown"]


@dataclass(frozen=True, slots=True)
class AuthIdentity:
    """Who a client authenticated as."""

    mailbox: str
    """The mailbox the session sends as (XOAUTH2 ``user=`` or the LOGIN user)."""
    kind: Literal["basic", "oauth"]
    app_id: str | None = None
    principal: str | None = None
    """The service principal object id (app tokens) or the user's address (delegated and basic)."""


@dataclass(frozen=True, slots=True)
class ConnFacts:
    """What the tenant knows about a connection when it decides."""

    endpoint: EndpointKind
    public_ip: str
    site: str | None
    tls: bool
    tls_version: str | None = None
    sni: str | None = None
    client_cert: CertInfo | None = None
    helo: str | None = None
    auth: AuthIdentity | None = None
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attribution:
    """How a message on the MX endpoint was attributed."""

    kind: Literal["connector", "partner", "anonymous"]
    """connector: an OnPremises connector matched (Originating, may relay).
    partner: a Partner connector matched (Incoming, may not relay).
    anonymous: nothing matched (Incoming, Direct Send)."""
    connector: str | None = None
    via: Literal["certificate", "ip", "domain"] | None = None
    reason: str = ""
    """Why, in words (shown in transcripts and hints)."""
    reject: Reply | None = None
    """A rejection that applies to every recipient (e.g. a connector requiring TLS)."""
    restricted_partner: str | None = None
    """A Partner connector matched the sender domain but its Restrict* settings refuse this source."""

    @property
    def directionality(self) -> str:
        """X-MS-Exchange-Organization-MessageDirectionality."""
        return "Originating" if self.kind == "connector" else "Incoming"


@dataclass(frozen=True, slots=True)
class RcptDecision:
    """Whether one recipient is accepted, and where it goes."""

    reply: Reply
    accepted: bool
    route: Route
    reason: str = ""
    expands_to: tuple[str, ...] = field(default_factory=tuple)
