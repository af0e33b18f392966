"""Provides the tenant's clock: real time, or a scenario's 'now' that then runs on (or is driven by tests).

Dated behaviour (the Basic-auth timeline, token expiry, throttling windows, trace windows) reads
this clock, never ``datetime.now`` directly, so labs and tests never sleep.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "FrozenClock", "iso"]


def iso(moment: datetime) -> str:
    """Return ``moment`` as ISO 8601 UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock:
    """Tenant time. Starts at ``start`` (or real now) and runs with the real monotonic clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self._origin = (start or datetime.now(UTC)).astimezone(UTC)
        self._mono = time.monotonic()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """Return the current tenant time (UTC, aware)."""
        return self._origin + timedelta(seconds=time.monotonic() - self._mono) + self._offset

    def timestamp(self) -> float:
        """Return the current tenant time as a POSIX timestamp."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        """Move tenant time forward (labs and tests use this instead of sleeping)."""
        self._offset += timedelta(seconds=seconds)


class FrozenClock(Clock):
    """A clock that only moves when advanced."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._frozen = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._frozen + self._offset
