"""Provides Exchange Online's reply lines, verbatim, and the suffix modern replies end with.

Texts come from ../shared/reference/exchange-online-smtp.md (§2, §3). A reply that carries the
``[<server> <timestamp> <session-id>]`` suffix is built with :func:`with_suffix`; the same 16-hex
session id ends the banner. Lines marked "Exchange family" are the wording Exchange Server uses
where no Exchange Online capture exists.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "Reply",
    "banner",
    "ehlo_lines",
    "new_session_id",
    "rfc2822",
    "suffix",
    "with_suffix",
]


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply line, and whether it gets the ``[host timestamp id]`` suffix."""

    text: str
    suffixed: bool = False

    def render(self, host: str, now: datetime, session_id: str) -> str:
        """Return the line as sent."""
        return with_suffix(self.text, host, now, session_id) if self.suffixed else self.text

    @property
    def code(self) -> int:
        """The three-digit code."""
        return int(self.text[:3])

    @property
    def positive(self) -> bool:
        """2xx or 3xx."""
        return self.text[:1] in ("2", "3")


def new_session_id() -> str:
    """Return a 16-hex session id like Exchange Online's (``08DE2A6028D26C22``)."""
    return "08DE" + secrets.token_hex(6).upper()


def rfc2822(now: datetime) -> str:
    """Format ``now`` as the banner does: ``Sun, 23 Nov 2025 11:12:20 +0000``."""
    return now.strftime("%a, %d %b %Y %H:%M:%S +0000")


def suffix(host: str, now: datetime, session_id: str) -> str:
    """Return ``[HOST 2024-02-14T14:50:26.590Z 08DC2D372B4C3DED]``."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return f"[{host} {stamp} {session_id}]"


def with_suffix(text: str, host: str, now: datetime, session_id: str) -> str:
    """Append the suffix to a reply text."""
    return f"{text} {suffix(host, now, session_id)}"


def banner(host: str, now: datetime, session_id: str) -> str:
    """Return the text after ``220 ``: ``<host> Microsoft ESMTP MAIL Service ready at <date> [<id>]``."""
    return f"{host} Microsoft ESMTP MAIL Service ready at {rfc2822(now)} [{session_id}]"


_EXTENSIONS_BEFORE = ("PIPELINING", "DSN", "ENHANCEDSTATUSCODES")
_EXTENSIONS_AFTER = ("8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8")


def ehlo_lines(host: str, client_ip: str, size: int, *, starttls: bool, auth: str | None) -> list[str]:
    """Return the EHLO reply lines in Exchange Online's order.

    Args:
        host: the front-end server name.
        client_ip: the public IP shown in ``Hello [ip]``.
        size: the SIZE value.
        starttls: offer STARTTLS (before TLS).
        auth: the AUTH mechanisms to offer (``"LOGIN XOAUTH2"``), or None.
    """
    items = [f"{host} Hello [{client_ip}]", f"SIZE {size}", *_EXTENSIONS_BEFORE]
    if starttls:
        items.append("STARTTLS")
    if auth:
        items.append(f"AUTH {auth}")
    items.extend(_EXTENSIONS_AFTER)
    return [f"250-{item}" for item in items[:-1]] + [f"250 {items[-1]}"]


# --- replies common to both endpoints (§2.3) ------------------------------------------------

STARTTLS_READY = Reply("220 2.0.0 SMTP server ready")
SENDER_OK = Reply("250 2.1.0 Sender OK")
RECIPIENT_OK = Reply("250 2.1.5 Recipient OK")
START_DATA = Reply("354 Start mail input; end with <CRLF>.<CRLF>")
QUIT = Reply("221 2.0.0 Service closing transmission channel")
RESET_OK = Reply("250 2.0.0 Resetting")
NOOP_OK = Reply("250 2.0.0 OK")
AUTH_OK = Reply("235 2.7.0 Authentication successful")
AUTH_LOGIN_USER = Reply("334 VXNlcm5hbWU6")
AUTH_LOGIN_PASSWORD = Reply("334 UGFzc3dvcmQ6")
AUTH_CONTINUE = Reply("334 ")
SEND_HELLO_FIRST = Reply("503 5.5.2 Send hello first", True)
UNRECOGNIZED_AUTH = Reply("504 5.7.4 Unrecognized authentication type", True)
STARTTLS_REQUIRED = Reply("451 5.7.3 STARTTLS is required to send mail", True)
NOT_AUTHENTICATED = Reply("530 5.7.57 Client not authenticated to send mail.", True)
AUTH_FAILED = Reply("535 5.7.3 Authentication unsuccessful", True)
AUTH_DISABLED_TENANT = Reply(
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information.", True)
AUTH_DISABLED_MAILBOX = Reply(
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
    "Visit https://aka.ms/smtp_auth_disabled for more information.", True)
AUTH_SECURITY_DEFAULTS = Reply(
    "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. "
    "Contact your administrator.", True)
AUTH_CONDITIONAL_ACCESS = Reply(
    "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated "
    "successfully. Contact your administrator.", True)
AUTH_BASIC_DISABLED = Reply("535 5.7.139 Authentication unsuccessful, basic authentication is disabled.", True)
AUTH_BASIC_REMOVED = Reply("550 5.7.30 Basic authentication is not supported for Client Submission.")
ALREADY_AUTHENTICATED = Reply("503 5.5.2 Already authenticated", True)  # Exchange family
TLS_LEGACY = Reply(
    "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. "
    "Visit https://aka.ms/smtp_auth_tls")
CONCURRENT_LIMIT = Reply(
    "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.")
SUBMISSION_QUOTA = Reply("554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; "
                         "Failed to process message due to a permanent exception with message "
                         "[BeginDiagnosticData]The message can't be submitted because the sender's submission "
                         "quota was exceeded.", True)
MAILBOX_FULL = Reply("554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException."
                     "MapiExceptionShutoffQuotaExceeded", True)
BAD_OUTBOUND_SENDER = Reply("550 5.1.8 Access denied, bad outbound sender AS(42004)", True)
RECIPIENT_LIMIT = Reply("550 5.5.3 RESOLVER.ADR.RecipLimit; too many recipients", True)  # Exchange family
TOO_MANY_RECIPIENTS = Reply("452 4.5.3 Too many recipients", True)  # Exchange family
SIZE_EXCEEDED = Reply("552 5.3.4 Message size exceeds fixed maximum message size", True)  # Exchange family
NEED_MAIL = Reply("503 5.5.2 Need mail command", True)  # Exchange family
NEED_RCPT = Reply("503 5.5.2 Need rcpt command", True)  # Exchange family
NESTED_MAIL = Reply("503 5.5.2 Sender already specified", True)  # Exchange family
SYNTAX_ERROR = Reply("501 5.5.4 Invalid arguments", True)  # Exchange family
BAD_ADDRESS = Reply("501 5.1.7 Invalid address", True)  # Exchange family
UNRECOGNIZED_COMMAND = Reply("500 5.3.3 Unrecognized command", True)  # Exchange family
LINE_TOO_LONG = Reply("500 5.3.3 Line too long", True)  # Exchange family
BDAT_WITHOUT_DATA = Reply("503 5.5.1 Bad sequence of commands", True)  # Exchange family
TIMEOUT = Reply("421 4.4.1 Connection timed out. Total session duration: 00:10:00")  # Exchange family
TOO_MANY_ERRORS = Reply("421 4.7.0 Too many errors on this connection, closing transmission channel")  # Exchange family
NO_VRFY = Reply("252 2.1.5 Cannot VRFY user, but will take message for this user", True)  # Exchange family
HELP = Reply("214-This server supports the following commands:\r\n214 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT")
TLS_NOT_AVAILABLE = Reply("454 4.7.0 TLS not available due to local problem", True)  # Exchange family


def send_as_denied(identity: str, sender: str) -> Reply:
    """The reply after the final dot when the mailbox may not send as ``sender``."""
    return Reply(
        f"554 5.2.252 SendAsDenied; {identity} not allowed to send as {sender}; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
        "Failed to process message due to a permanent exception with message [BeginDiagnosticData]"
        "Cannot submit message.",
        True,
    )


def submission_ok(message_id: str, mailbox_server: str) -> Reply:
    """The reply after the final dot on client submission."""
    return Reply(f"250 2.0.0 OK {message_id} [Hostname={mailbox_server}]")


def mx_ok(message_id: str, internal_id: int, host: str, size: int, seconds: float) -> Reply:
    """The reply after the final dot on the MX endpoint."""
    rate = size / 1024 / max(seconds, 0.001)
    return Reply(
        f"250 2.6.0 {message_id} [InternalId={internal_id}, Hostname={host}] "
        f"{size} bytes in {seconds:.3f}, {rate:.3f} KB/sec Queued mail for delivery"
    )


# --- MX endpoint (§3.2) ---------------------------------------------------------------------

RELAY_DENIED = Reply("550 5.7.64 TenantAttribution; Relay Access Denied", True)
DIRECT_SEND_REJECTED = Reply(
    "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources",
    True)
PARTNER_RESTRICTED = Reply(
    "550 5.7.51 TenantInboundAttribution; There is a partner connector configured that matched the message's "
    "recipient domain. The connector had either the RestrictDomainsToIPAddresses or RestrictDomainsToCertificate set",
    True)
WRONG_REGION = Reply(
    "451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35. For more information go to "
    "https://go.microsoft.com/fwlink/p/?linkid=865268.")
DBEB_REJECTED = Reply("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", True)
CONNECTOR_REQUIRES_TLS = Reply("451 5.7.3 STARTTLS is required to send mail", True)


def banned_ip(ip: str, host: str) -> Reply:
    """Source IP on Microsoft's block list."""
    return Reply(
        f"550 5.7.606 Access denied, banned sending IP [{ip}]. To request removal from this list please visit "
        "https://sender.office.com/ and follow the directions. For more information please go to "
        f"http://go.microsoft.com/fwlink/?LinkID=526655 (AS16012609) [{host}]"
    )


LOW_REPUTATION = Reply(
    "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information "
    "please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(830)", True)


def dmarc_reject(domain: str) -> Reply:
    """Spoofed mail failing DMARC with p=reject (after the final dot)."""
    return Reply(
        f"550 5.7.509 Access denied, sending domain {domain.upper()} does not pass DMARC verification and has a "
        "DMARC policy of reject.", True)
