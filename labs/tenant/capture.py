"""Provides capture: one session record per connection, message trace and audit rows, in SQLite.

:class:`SessionCapture` builds a record while the connection runs (the transcript with secrets
already redacted) and streams each line to in-process subscribers. :class:`CaptureStore` writes
finished records, trace entries and audit entries to ``capture.sqlite3`` in the tenant's state
folder (WAL) from a writer thread, in batches, so the event loop never waits on the disk.
:class:`CaptureReader` reads the same file from any process, while the tenant runs or after.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from labs.records import (
    AuditEntry,
    AuthAttempt,
    Line,
    Recipient,
    SessionRecord,
    TlsInfo,
    TraceEntry,
    Transaction,
    record_from_json,
)
from labs.tenant.mailstore import SCHEMA as MESSAGES_SCHEMA

__all__ = [
    "CaptureEvent",
    "CaptureReader",
    "CaptureStore",
    "SessionCapture",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, started TEXT NOT NULL, endpoint TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_run ON sessions(run_id, started);
CREATE TABLE IF NOT EXISTS trace (
    message_trace_id TEXT NOT NULL, recipient TEXT NOT NULL, run_id TEXT NOT NULL, received TEXT NOT NULL,
    sender TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (message_trace_id, recipient));
CREATE INDEX IF NOT EXISTS trace_by_received ON trace(received);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, at TEXT NOT NULL, cmdlet TEXT NOT NULL, body TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class CaptureEvent:
    """What subscribers receive: a session opened, a line, or a finished record."""

    kind: Literal["open", "line", "closed"]
    session_id: str
    run_id: str
    line: Line | None = None
    record: SessionRecord | None = None
    endpoint: str = ""
    peer: str = ""


Subscriber = Callable[[CaptureEvent], None]


class SessionCapture:
    """Builds the record of one connection. Lives on the protocol instance (STARTTLS keeps it)."""

    __slots__ = (
        "_auth", "_emit", "_lines", "_mono", "_txn", "_txns", "close_reason", "ehlo", "endpoint",
        "firewall_blocked", "id", "listen", "port", "peer", "public_ip", "run_id", "site", "source_ip", "started",
        "tenant", "tls",
    )

    def __init__(self, *, session_id: str, run_id: str, tenant: str, endpoint: str, listen: str, peer: str,
                 source_ip: str, public_ip: str, site: str | None, started: datetime,
                 emit: Callable[[CaptureEvent], None] | None, port: int = 0) -> None:
        self.id = session_id
        self.run_id = run_id
        self.tenant = tenant
        self.endpoint = endpoint
        self.listen = listen
        self.port = port
        self.peer = peer
        self.source_ip = source_ip
        self.public_ip = public_ip
        self.site = site
        self.started = started
        self._mono = time.monotonic()
        self._lines: list[Line] = []
        self._auth: list[AuthAttempt] = []
        self._txns: list[Transaction] = []
        self._txn: dict[str, Any] | None = None
        self.tls: TlsInfo | None = None
        self.ehlo: str | None = None
        self.close_reason = "client-closed"
        self.firewall_blocked = False
        self._emit = emit
        if emit is not None:
            emit(CaptureEvent("open", session_id, run_id, endpoint=endpoint, peer=peer))

    # -- transcript ---------------------------------------------------------------------------

    def line(self, direction: Literal["C", "S", "I"], text: str) -> None:
        """Append a line (already redacted) and stream it."""
        entry = Line(round(time.monotonic() - self._mono, 4), direction, text)
        self._lines.append(entry)
        if self._emit is not None:
            self._emit(CaptureEvent("line", self.id, self.run_id, line=entry))

    @property
    def line_count(self) -> int:
        """Lines so far."""
        return len(self._lines)

    # -- facts --------------------------------------------------------------------------------

    def add_auth(self, attempt: AuthAttempt) -> None:
        """Record an AUTH attempt."""
        self._auth.append(attempt)

    def begin(self, mail_from: str, reply: str, attribution: str, directionality: str | None,
              connector: str | None) -> None:
        """Start a transaction at MAIL FROM (accepted or not)."""
        self.end_transaction()
        self._txn = {"mail_from": mail_from, "mail_reply": reply, "recipients": [], "data_reply": None,
                     "attribution": attribution, "directionality": directionality, "connector": connector}

    def rcpt(self, recipient: Recipient) -> None:
        """Record a RCPT TO and its reply."""
        if self._txn is not None:
            self._txn["recipients"].append(recipient)

    def set_recipients(self, recipients: Sequence[Recipient]) -> None:
        """Replace the transaction's recipients (their dispositions after DATA)."""
        if self._txn is not None:
            self._txn["recipients"] = list(recipients)

    def data(self, reply: str, **facts: Any) -> None:
        """Record the reply after the final dot and what became of the message."""
        if self._txn is not None:
            self._txn["data_reply"] = reply
            self._txn.update(facts)
            self.end_transaction()

    def end_transaction(self) -> None:
        """Close the open transaction (RSET, a new MAIL, or the end of the connection)."""
        if self._txn is not None:
            txn = self._txn
            self._txn = None
            self._txns.append(Transaction(
                mail_from=txn.pop("mail_from"), mail_reply=txn.pop("mail_reply"),
                recipients=tuple(txn.pop("recipients")), data_reply=txn.pop("data_reply"),
                attribution=txn.pop("attribution"), directionality=txn.pop("directionality"),
                connector=txn.pop("connector"), **txn))

    @property
    def transactions(self) -> list[Transaction]:
        """Finished transactions so far."""
        return self._txns

    def finish(self, ended: datetime) -> SessionRecord:
        """Freeze the record."""
        self.end_transaction()
        record = SessionRecord(
            id=self.id, run_id=self.run_id, tenant=self.tenant, endpoint=self.endpoint,  # type: ignore[arg-type]
            listen=self.listen, peer=self.peer, source_ip=self.source_ip, public_ip=self.public_ip,
            site=self.site, started=_iso(self.started), ended=_iso(ended), ehlo=self.ehlo, tls=self.tls,
            auth=tuple(self._auth), transactions=tuple(self._txns), transcript=tuple(self._lines),
            close=self.close_reason, firewall_blocked=self.firewall_blocked, port=self.port,
        )
        if self._emit is not None:
            self._emit(CaptureEvent("closed", self.id, self.run_id, record=record))
        return record


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CaptureStore:
    """Writes records, trace and audit rows to SQLite from a background thread, in batches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        db.executescript(MESSAGES_SCHEMA)
        db.close()
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._subscribers: list[Subscriber] = []
        self._pending = 0
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="relaylab-capture", daemon=True)
        self._thread.start()

    # -- subscribers (called on the event loop) ------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Receive every capture event; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, event: CaptureEvent) -> None:
        """Deliver an event to every subscriber (a failing subscriber is dropped, not fatal)."""
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                self._subscribers.remove(callback)

    @property
    def has_subscribers(self) -> bool:
        """Whether anyone listens (lines are not streamed otherwise)."""
        return bool(self._subscribers)

    # -- writes ---------------------------------------------------------------------------------

    def _put(self, kind: str, item: Any) -> None:
        with self._cond:
            self._pending += 1
        self._queue.put((kind, item))

    def add_session(self, record: SessionRecord) -> None:
        """Queue a finished session record."""
        self._put("session", record)

    def add_trace(self, entries: Iterable[TraceEntry]) -> None:
        """Queue message-trace entries (one per recipient)."""
        for entry in entries:
            self._put("trace", entry)

    def add_message(self, row: tuple[Any, ...]) -> None:
        """Queue one delivered copy of a message (a row of the messages table)."""
        self._put("message", row)

    def add_audit(self, entry: AuditEntry) -> None:
        """Queue an audit entry."""
        self._put("audit", entry)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is committed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and self._error is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("capture writer did not catch up")
                self._cond.wait(remaining)
        if self._error is not None:
            raise RuntimeError(f"capture writer failed: {self._error}")

    def close(self) -> None:
        """Write what is queued and stop the writer thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                batch = [first]
                deadline = time.monotonic() + 0.02
                while len(batch) < 500:
                    try:
                        batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                    except queue.Empty:
                        break
                stop = any(item is None for item in batch)
                items = [item for item in batch if item is not None]
                if items:
                    self._write(db, items)
                with self._cond:
                    self._pending -= len(items)
                    self._cond.notify_all()
        except BaseException as exc:  # surfaced by flush()
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            db.close()

    @staticmethod
    def _write(db: sqlite3.Connection, items: list[tuple[str, Any]]) -> None:
        sessions, traces, audits, messages = [], [], [], []
        for kind, item in items:
            if kind == "message":
                messages.append(item)
                continue
            body = orjson.dumps(item, default=str).decode()
            if kind == "session":
                sessions.append((item.id, item.run_id, item.started, item.endpoint, body))
            elif kind == "trace":
                traces.append((item.message_trace_id, item.recipient_address, item.run_id, item.received,
                               item.sender_address, item.status, body))
            else:
                audits.append((item.run_id, item.at, item.cmdlet, body))
        db.execute("BEGIN")
        if sessions:
            db.executemany("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)", sessions)
        if traces:
            db.executemany("INSERT OR REPLACE INTO trace VALUES (?, ?, ?, ?, ?, ?, ?)", traces)
        if audits:
            db.executemany("INSERT INTO audit (run_id, at, cmdlet, body) VALUES (?, ?, ?, ?)", audits)
        if messages:
            db.executemany("INSERT INTO messages (run_id, mailbox, folder, external, received, sender, subject, "
                           "message_id, auth, headers, body, body_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           messages)
        db.execute("COMMIT")


class CaptureReader:
    """Reads a capture file (read-only; safe while the tenant writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _db(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise FileNotFoundError(f"no capture at {self.path}")
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        return db

    def _bodies(self, table: str, run_id: str | None, order: str, limit: int | None = None) -> list[Any]:
        sql = f"SELECT body FROM {table}"
        args: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            args = (run_id,)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        db = self._db()
        try:
            rows = db.execute(sql, args).fetchall()
        finally:
            db.close()
        return [orjson.loads(r[0]) for r in rows]

    def sessions(self, run_id: str | None = None, *, limit: int | None = None) -> list[SessionRecord]:
        """Return session records, oldest first (of one run, or all)."""
        return [record_from_json(SessionRecord, b) for b in self._bodies("sessions", run_id, "started", limit)]

    def trace(self, run_id: str | None = None) -> list[TraceEntry]:
        """Return message-trace entries, newest first."""
        return [record_from_json(TraceEntry, b) for b in self._bodies("trace", run_id, "received DESC")]

    def audit(self, run_id: str | None = None) -> list[AuditEntry]:
        """Return audit entries, oldest first."""
        return [record_from_json(AuditEntry, b) for b in self._bodies("audit", run_id, "seq")]
