"""Provides client submission's rules (smtp.office365.com): authentication, Send As and limits.

Authentication order for AUTH LOGIN (Basic), most general first:

1. Basic authentication removed from the service → ``550 5.7.30``;
2. Basic authentication disabled by default for the tenant → ``535 5.7.139 ... basic authentication is disabled.``;
3. the user and password (Microsoft Entra) → ``535 5.7.3``;
4. Security Defaults block legacy sign-ins → ``535 5.7.139 ... security defaults policy``;
5. Conditional Access / MFA → ``535 5.7.139 ... did not meet the criteria``;
6. an Exchange Online licence → ``535 5.7.3``;
7. the SMTP AUTH switches (mailbox value wins when set, else the organisation's) →
   ``535 5.7.139 ... disabled for the Mailbox`` / ``... for the Tenant``.

XOAUTH2 checks the token (signature, lifetime, audience, tenant), the permission it carries
(``roles: SMTP.SendAsApp`` for app tokens, ``scp: SMTP.Send`` for delegated ones), the service
principal registered in Exchange and its FullAccess on the mailbox — any failure is the plain
``535 5.7.3`` — and then the same mailbox gate (licence, SMTP AUTH switches). Security Defaults and
the Basic-auth state do not apply to OAuth.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from labs.tenant.policy import replies as R
from labs.tenant.policy.facts import AuthIdentity, ConnFacts, RcptDecision, Route
from labs.tenant.policy.mx import domain_of, recipient_limit
from labs.tenant.scenario import Recipient, TenantScenario

__all__ = [
    "AuthDecision",
    "BASIC_AUTH_DEFAULT_OFF",
    "basic_auth_state",
    "can_send_as",
    "login_decision",
    "mailbox_gate",
    "submission_after_data",
    "submission_mail",
    "submission_rcpt",
    "xoauth2_decision",
]

BASIC_AUTH_DEFAULT_OFF = datetime(2027, 1, 1, tzinfo=UTC)
"""End of December 2026: Basic auth for SMTP AUTH disabled by default for existing tenants (reference §6)."""

APP_AUDIENCES = {"https://outlook.office.com", "https://outlook.office365.com",
                 "00000002-0000-0ff1-ce00-000000000000"}


class AuthDecision:
    """The outcome of an AUTH command."""

    __slots__ = ("identity", "reason", "reply")

    def __init__(self, reply: R.Reply, identity: AuthIdentity | None, reason: str) -> None:
        self.reply = reply
        self.identity = identity
        self.reason = reason

    @property
    def success(self) -> bool:
        """Whether the client is now authenticated."""
        return self.identity is not None


def basic_auth_state(state: TenantScenario, now: datetime) -> Literal["allowed", "disabled_default", "removed"]:
    """Return the Basic-auth state: the scenario's setting, or Microsoft's timeline for 'auto'."""
    setting = state.submission.basic_auth
    if setting != "auto":
        return setting
    return "allowed" if now < BASIC_AUTH_DEFAULT_OFF else "disabled_default"


def mailbox_gate(state: TenantScenario, mailbox: Recipient) -> AuthDecision | None:
    """The checks every authentication passes last: licence and the SMTP AUTH switches."""
    if mailbox.type == "UserMailbox" and not mailbox.licensed:
        return AuthDecision(R.AUTH_FAILED, None, f"{mailbox.address} has no Exchange Online licence")
    if mailbox.type == "DistributionGroup":
        return AuthDecision(R.AUTH_FAILED, None, f"{mailbox.address} is a distribution group, not a mailbox")
    value = mailbox.smtp_client_authentication_disabled
    if value is True:
        return AuthDecision(R.AUTH_DISABLED_MAILBOX, None,
                            f"SmtpClientAuthenticationDisabled is $true on {mailbox.address}")
    if value is None and state.transport_config.smtp_client_authentication_disabled:
        return AuthDecision(R.AUTH_DISABLED_TENANT, None,
                            "SmtpClientAuthenticationDisabled is $true for the organisation and the mailbox "
                            "does not override it ($null)")
    return None


def login_decision(state: TenantScenario, conn: ConnFacts, user: str, password: str) -> AuthDecision:
    """Decide AUTH LOGIN (or PLAIN, when offered) — Basic authentication."""
    now = conn.now or datetime.now(UTC)
    basic = basic_auth_state(state, now)
    if basic == "removed":
        return AuthDecision(R.AUTH_BASIC_REMOVED, None, "Basic authentication has been removed from client submission")
    if basic == "disabled_default":
        return AuthDecision(R.AUTH_BASIC_DISABLED, None, "Basic authentication is disabled for the tenant")
    mailbox = state.recipient(user)
    if mailbox is None or mailbox.password is None or mailbox.password != password:
        return AuthDecision(R.AUTH_FAILED, None, "user name or password rejected")
    if state.submission.security_defaults:
        return AuthDecision(R.AUTH_SECURITY_DEFAULTS, None, "Security Defaults block Basic authentication")
    if state.submission.legacy_auth_blocked_by_conditional_access or mailbox.mfa_required:
        return AuthDecision(R.AUTH_CONDITIONAL_ACCESS, None, "Conditional Access (MFA) blocked the sign-in")
    gate = mailbox_gate(state, mailbox)
    if gate is not None:
        return gate
    return AuthDecision(R.AUTH_OK, AuthIdentity(mailbox.address, "basic", None, mailbox.address),
                        "Basic authentication accepted")


def _has_full_access(state: TenantScenario, mailbox: str, principal: str) -> bool:
    return any(p.identity.lower() == mailbox.lower() and p.user.lower() == principal.lower()
               and p.access_rights == "FullAccess" for p in state.mailbox_permissions)


def xoauth2_decision(state: TenantScenario, conn: ConnFacts, user: str, token_ok: bool, token_reason: str,
                     claims: Mapping[str, Any]) -> AuthDecision:
    """Decide AUTH XOAUTH2 from the SASL user and the checked token."""
    if not token_ok:
        return AuthDecision(R.AUTH_FAILED, None, f"access token rejected: {token_reason}")
    if str(claims.get("tid", "")).lower() != state.tenant_id:
        return AuthDecision(R.AUTH_FAILED, None, "token issued for another tenant")
    if claims.get("aud") not in APP_AUDIENCES:
        return AuthDecision(R.AUTH_FAILED, None, f"token audience {claims.get('aud')!r} is not Exchange Online")
    mailbox = state.recipient(user)
    if mailbox is None:
        return AuthDecision(R.AUTH_FAILED, None, f"no mailbox {user!r}")
    app_id = str(claims.get("appid", "") or "")
    roles = claims.get("roles") or []
    scopes = str(claims.get("scp", "") or "").split()
    if roles or claims.get("idtyp") == "app":
        if "SMTP.SendAsApp" not in roles:
            return AuthDecision(R.AUTH_FAILED, None,
                                "app token without the SMTP.SendAsApp role (permission missing or no admin consent)")
        oid = str(claims.get("oid", "")).lower()
        registered = [sp for sp in state.service_principals if sp.app_id == app_id.lower()]
        if not registered:
            return AuthDecision(R.AUTH_FAILED, None, "the app has no service principal in Exchange Online "
                                "(New-ServicePrincipal was not run)")
        if not any(sp.object_id == oid for sp in registered):
            return AuthDecision(R.AUTH_FAILED, None, "the service principal was registered with the wrong object id "
                                "(the app registration's, not the enterprise application's)")
        if not _has_full_access(state, mailbox.address, oid):
            return AuthDecision(R.AUTH_FAILED, None, f"the service principal has no FullAccess on {mailbox.address}")
        principal = oid
    else:
        if "SMTP.Send" not in scopes:
            return AuthDecision(R.AUTH_FAILED, None, "delegated token without the SMTP.Send scope")
        upn = str(claims.get("upn", "") or claims.get("unique_name", "")).lower()
        if upn != mailbox.address.lower() and not _has_full_access(state, mailbox.address, upn):
            return AuthDecision(R.AUTH_FAILED, None, f"{upn} has no access to {mailbox.address}")
        principal = upn
    if mailbox.type == "SharedMailbox":
        value = mailbox.smtp_client_authentication_disabled
        if value is True:
            return AuthDecision(R.AUTH_DISABLED_MAILBOX, None,
                                f"SmtpClientAuthenticationDisabled is $true on {mailbox.address}")
        if value is None and state.transport_config.smtp_client_authentication_disabled:
            return AuthDecision(R.AUTH_DISABLED_TENANT, None, "SMTP AUTH is disabled for the organisation")
    else:
        gate = mailbox_gate(state, mailbox)
        if gate is not None:
            return gate
    return AuthDecision(R.AUTH_OK, AuthIdentity(mailbox.address, "oauth", app_id or None, principal),
                        "OAuth access token accepted")


def can_send_as(state: TenantScenario, identity: AuthIdentity, address: str) -> bool:
    """Whether the authenticated identity may send as ``address`` (its own mailbox, an alias, or Send As)."""
    wanted = address.lower()
    mailbox = state.recipient(identity.mailbox)
    if mailbox is not None and (mailbox.address.lower() == wanted or wanted in (a.lower() for a in mailbox.aliases)):
        return True
    target = state.recipient(address)
    target_address = target.address.lower() if target else wanted
    trustees = {identity.mailbox.lower()} | ({identity.principal.lower()} if identity.principal else set())
    return any(p.identity.lower() == target_address and p.trustee.lower() in trustees
               for p in state.recipient_permissions)


def submission_mail(state: TenantScenario, conn: ConnFacts, concurrent: int) -> R.Reply:
    """Decide MAIL FROM on client submission.

    Args:
        state: the tenant.
        conn: connection facts (TLS, authentication).
        concurrent: this session's position among the mailbox's open authenticated sessions (1 = oldest).
    """
    if not conn.tls:
        return R.STARTTLS_REQUIRED
    if conn.auth is None:
        return R.NOT_AUTHENTICATED
    if concurrent > state.limits.concurrent_connections:
        return R.CONCURRENT_LIMIT
    mailbox = state.recipient(conn.auth.mailbox)
    if mailbox is not None and mailbox.restricted:
        return R.BAD_OUTBOUND_SENDER
    return R.SENDER_OK


def submission_rcpt(state: TenantScenario, conn: ConnFacts, address: str, count: int) -> RcptDecision:
    """Decide RCPT TO on client submission: every recipient is accepted up to the SMTP-time cap."""
    domain = domain_of(address)
    route: Route = "internal" if state.accepted_domain(domain) is not None else "external"
    if count >= max(recipient_limit(state), state.limits.service_recipient_limit):
        return RcptDecision(R.TOO_MANY_RECIPIENTS, False, route, "recipients-per-message cap reached")
    recipient = state.recipient(address)
    members = tuple(recipient.members) if recipient is not None and recipient.type == "DistributionGroup" else ()
    return RcptDecision(R.RECIPIENT_OK, True, route, "", members)


def submission_after_data(state: TenantScenario, identity: AuthIdentity, mail_from: str,
                          header_from: str | None, recipients: int, recipients_24h: int) -> tuple[R.Reply | None, str]:
    """Decide the reply after the final dot; None means accepted.

    Args:
        state: the tenant.
        identity: who authenticated.
        mail_from: P1 sender.
        header_from: P2 From address.
        recipients: recipients of this message.
        recipients_24h: recipients the mailbox sent to in the last 24 hours, before this message.
    """
    for sender in (mail_from, header_from):
        if sender and not can_send_as(state, identity, sender):
            return R.send_as_denied(identity.mailbox, sender), f"{identity.mailbox} has no Send As right on {sender}"
    mailbox = state.recipient(identity.mailbox)
    if mailbox is not None and mailbox.mailbox_full:
        return R.MAILBOX_FULL, f"{mailbox.address} is over its storage quota (Sent Items copies count)"
    limit = recipient_limit(state, mailbox.recipient_limit if mailbox else None)
    if recipients > limit:
        return R.RECIPIENT_LIMIT, f"{recipients} recipients is over the limit of {limit} per message"
    if recipients_24h + recipients > state.limits.recipients_per_day:
        return R.SUBMISSION_QUOTA, (f"{recipients_24h + recipients} recipients in 24 hours is over the "
                                    f"{state.limits.recipients_per_day} limit")
    return None, ""
