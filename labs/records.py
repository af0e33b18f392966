"""Provides the session record: what one SMTP connection to the mock tenant did, as plain data.

Records are frozen and have a stable JSON form (``to_json`` / ``from_json``); the grader reads
nothing else. Secrets never reach a record: AUTH payloads are redacted when captured, and only
the claims of a token (never the token) are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

__all__ = [
    "RECORD_VERSION",
    "AuditEntry",
    "AuthAttempt",
    "CertInfo",
    "Line",
    "Recipient",
    "SessionRecord",
    "TlsInfo",
    "TraceEntry",
    "TraceEvent",
    "Transaction",
    "record_from_json",
    "record_to_json",
]

RECORD_VERSION = 1
"""Version of the JSON form; bumped on any incompatible change."""

Endpoint = Literal["mx", "mx-legacy", "submission", "smtps"]
Direction = Literal["C", "S", "I"]
"""C: client line, S: server reply, I: an event (TLS started, connection closed)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the conversation."""

    t: float
    """Seconds since the connection opened."""
    dir: Direction
    """C (client), S (server) or I (event)."""
    text: str
    """The line without CRLF; secrets replaced by ``<redacted>``."""


@dataclass(frozen=True, slots=True)
class CertInfo:
    """A TLS client certificate as presented."""

    subject_cn: str
    san: tuple[str, ...]
    issuer_cn: str
    not_before: str
    not_after: str
    trusted: bool
    """Chains to the local CA that stands in for a public CA."""


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """TLS as negotiated on the connection."""

    version: str
    """e.g. TLSv1.2."""
    cipher: str
    implicit: bool
    """True for implicit TLS (port 465), False after STARTTLS."""
    sni: str | None
    client_cert: CertInfo | None
    at_line: int
    """Index in the transcript at which TLS started."""


@dataclass(frozen=True, slots=True)
class AuthAttempt:
    """One AUTH command and its outcome."""

    mechanism: str
    """LOGIN, PLAIN, XOAUTH2 or whatever the client asked for."""
    kind: Literal["basic", "oauth", "other"]
    identity: str | None
    """The user or mailbox the client authenticated as (never the password)."""
    success: bool
    reply: str
    tls: bool
    """TLS was active when AUTH was sent."""
    at_line: int
    claims: Mapping[str, Any] = field(default_factory=dict)
    """Selected claims of the access token (aud, tid, appid, roles, scp, upn, oid, exp)."""
    app_id: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One RCPT TO and what became of it."""

    address: str
    reply: str
    accepted: bool
    route: Literal["internal", "external", "unknown"] = "unknown"
    disposition: Literal["delivered", "junk", "rejected", "failed", "pending"] = "pending"
    """After DATA: delivered (Inbox / internet), junk, rejected (at RCPT or after DATA) or failed."""
    folder: str | None = None
    """Inbox, Junk Email, Sent Items; or the external domain's sink."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One MAIL FROM … DATA transaction."""

    mail_from: str
    mail_reply: str
    recipients: tuple[Recipient, ...]
    data_reply: str | None
    """Reply after the final dot (None when DATA never completed)."""
    attribution: str
    """connector, anonymous, authenticated, or rejected."""
    directionality: str | None
    """Incoming or Originating."""
    connector: str | None
    size: int = 0
    header_from: str | None = None
    subject: str | None = None
    message_id: str | None = None
    network_message_id: str | None = None
    auth_results: Mapping[str, str] = field(default_factory=dict)
    """spf, dkim, dmarc, compauth results for anonymous mail."""
    dkim_signed: str | None = None
    """Domain that DKIM-signed the outbound copy, if any."""
    delayed_seconds: float = 0.0
    """Throttling delay applied (30 messages/minute)."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """Everything one SMTP connection did."""

    id: str
    """16-hex session id, the same that ends the banner."""
    run_id: str
    """The tenant run (a lab attempt or `tenant up`) the session belongs to."""
    tenant: str
    endpoint: Endpoint
    listen: str
    peer: str
    source_ip: str
    public_ip: str
    site: str | None
    started: str
    """ISO 8601 UTC."""
    ended: str | None
    ehlo: str | None
    tls: TlsInfo | None
    auth: tuple[AuthAttempt, ...]
    transactions: tuple[Transaction, ...]
    transcript: tuple[Line, ...]
    close: str
    """quit, client-closed, timeout, server (421), blocked (firewall), tls-failed, error."""
    firewall_blocked: bool = False
    port: int = 0
    """The real port the client dialled (25, 587, 465), as the endpoint table maps it."""
    version: int = RECORD_VERSION


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """A Get-MessageTraceDetailV2 row."""

    date: str
    event: str
    action: str
    detail: str
    data: str = ""


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """A Get-MessageTraceV2 row, with its detail events."""

    message_trace_id: str
    received: str
    sender_address: str
    recipient_address: str
    subject: str
    status: str
    """Delivered, Failed, FilteredAsSpam, Quarantined, Pending, Expanded, GettingStatus, None."""
    from_ip: str
    to_ip: str
    size: int
    message_id: str
    session_id: str
    run_id: str
    connector: str | None
    direction: str
    """Inbound, Outbound or Intra-org."""
    events: tuple[TraceEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state-changing admin command, with the settings before and after."""

    at: str
    run_id: str
    who: str
    cmdlet: str
    parameters: Mapping[str, Any]
    target: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    command: str
    """The command line as typed (secrets redacted)."""


T = TypeVar("T")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def record_to_json(obj: Any) -> Any:
    """Return the JSON-ready form of a record (dataclasses become mappings, tuples lists)."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None and is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(obj))
    if names is not None:
        return {k: record_to_json(getattr(obj, k)) for k in names}
    if isinstance(obj, list | tuple):
        return [record_to_json(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): record_to_json(v) for k, v in obj.items()}
    return str(obj)


_HINTS: dict[type, dict[str, Any]] = {}


def _build(tp: Any, value: Any) -> Any:
    origin = get_origin(tp)
    if value is None:
        return None
    if isinstance(tp, type) and is_dataclass(tp):
        return record_from_json(tp, value)
    if origin is tuple:
        (inner, *_rest) = get_args(tp)
        return tuple(_build(inner, v) for v in value)
    if origin is not None and type(None) in get_args(tp):
        inner = [a for a in get_args(tp) if a is not type(None)][0]
        return _build(inner, value)
    if origin is Mapping or origin is dict:
        return dict(value)
    return value


def record_from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a record of type ``cls`` from its JSON form.

    Raises:
        ValueError: when the data does not have the record's shape.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected a mapping")
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            try:
                kwargs[f.name] = _build(hints[f.name], data[f.name])
            except (TypeError, KeyError, AttributeError) as exc:
                raise ValueError(f"{cls.__name__}.{f.name}: {exc}") from None
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from None
