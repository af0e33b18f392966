"""Provides message trace: the entries Exchange Online keeps for accepted messages, and the query
rules of Get-MessageTraceV2 (reference §8).

Protocol-level rejections never reach message trace, as in the real service.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from labs.records import TraceEntry, TraceEvent

__all__ = [
    "STATUSES",
    "TraceQuery",
    "TraceQueryError",
    "new_trace_id",
    "query_trace",
]

STATUSES = ("Delivered", "Expanded", "Failed", "FilteredAsSpam", "GettingStatus", "None", "Pending", "Quarantined")
"""Status values of Get-MessageTraceV2."""

RETENTION = timedelta(days=90)
MAX_SPAN = timedelta(days=10)
DEFAULT_SPAN = timedelta(hours=48)


class TraceQueryError(ValueError):
    """A query Exchange Online would refuse (window too wide or too old, bad status)."""


def new_trace_id() -> str:
    """Return a MessageTraceId (a GUID)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class TraceQuery:
    """The filters of Get-MessageTraceV2. Patterns accept ``*`` wildcards, case-insensitively."""

    sender_address: Sequence[str] = ()
    recipient_address: Sequence[str] = ()
    status: Sequence[str] = ()
    message_id: str | None = None
    message_trace_id: str | None = None
    from_ip: str | None = None
    to_ip: str | None = None
    subject: str | None = None
    subject_filter_type: str = "Contains"
    start_date: datetime | None = None
    end_date: datetime | None = None
    result_size: int = 1000
    starting_recipient_address: str | None = None


def _match_any(value: str, patterns: Sequence[str]) -> bool:
    value = value.lower()
    return any(fnmatch.fnmatchcase(value, p.lower()) for p in patterns)


def query_trace(entries: Iterable[TraceEntry], q: TraceQuery, now: datetime) -> list[TraceEntry]:
    """Filter trace entries as Get-MessageTraceV2 does.

    Raises:
        TraceQueryError: for a window over 10 days, a start older than 90 days, an end before the
            start, an unknown status, or a ResultSize outside 1–5000.
    """
    end = q.end_date or now
    start = q.start_date or (end - DEFAULT_SPAN)
    if end < start:
        raise TraceQueryError("The EndDate value must be later than the StartDate value.")
    if end - start > MAX_SPAN:
        raise TraceQueryError("The time range between StartDate and EndDate can't be more than 10 days.")
    if start < now - RETENTION:
        raise TraceQueryError("The StartDate value can't be more than 90 days in the past.")
    if not 1 <= q.result_size <= 5000:
        raise TraceQueryError("The ResultSize value must be between 1 and 5000.")
    for status in q.status:
        if status not in STATUSES:
            raise TraceQueryError(f"Cannot validate argument on parameter 'Status'. The argument \"{status}\" does "
                                  f"not belong to the set \"{','.join(STATUSES)}\".")
    wanted_status = {s.lower() for s in q.status}
    out = []
    for e in entries:
        received = datetime.fromisoformat(e.received.replace("Z", "+00:00"))
        if not (start <= received <= end):
            continue
        if q.sender_address and not _match_any(e.sender_address, q.sender_address):
            continue
        if q.recipient_address and not _match_any(e.recipient_address, q.recipient_address):
            continue
        if wanted_status and e.status.lower() not in wanted_status:
            continue
        if q.message_id and e.message_id.strip("<>").lower() != q.message_id.strip("<>").lower():
            continue
        if q.message_trace_id and e.message_trace_id.lower() != q.message_trace_id.lower():
            continue
        if q.from_ip and e.from_ip != q.from_ip:
            continue
        if q.to_ip and e.to_ip != q.to_ip:
            continue
        if q.subject is not None:
            subject, wanted = e.subject.lower(), q.subject.lower()
            kind = q.subject_filter_type.lower()
            if kind == "startswith" and not subject.startswith(wanted):
                continue
            if kind == "endswith" and not subject.endswith(wanted):
                continue
            if kind == "contains" and wanted not in subject:
                continue
        if q.starting_recipient_address and e.recipient_address.lower() < q.starting_recipient_address.lower():
            continue
        out.append(e)
    out.sort(key=lambda e: (e.received, e.recipient_address), reverse=True)
    return out[: q.result_size]


def event(at: datetime, name: str, action: str, detail: str, data: str = "") -> TraceEvent:
    """Build a detail event."""
    return TraceEvent(at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), name, action, detail, data)
