"""Provides where accepted mail lands: the folders of the tenant's mailboxes, and a local "internet"
sink per external address. Nothing ever leaves the machine.

Messages live in the tenant's capture file (table ``messages``): each row is one copy in one
folder — the headers Exchange Online stamped for that copy, and the message itself, inline for
ordinary messages or as a file under ``blobs/`` (shared by every copy) for large ones. Rows are
written by the capture writer thread in batches, so delivering never waits on the disk.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["FOLDERS", "INLINE_MAX", "Body", "MailStore", "StoredMessage"]

FOLDERS = ("Inbox", "Junk Email", "Sent Items")
INLINE_MAX = 256 * 1024
"""Messages up to this size are stored inline; larger ones once, as a file."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, mailbox TEXT NOT NULL, folder TEXT NOT NULL,
    external INTEGER NOT NULL, received TEXT NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,
    message_id TEXT NOT NULL, auth TEXT NOT NULL, headers BLOB NOT NULL, body BLOB, body_path TEXT);
CREATE INDEX IF NOT EXISTS messages_by_box ON messages(mailbox, folder);
"""


@dataclass(frozen=True)
class Body:
    """The bytes of a message: inline, or a file under the state folder."""

    data: bytes | None = None
    path: str | None = None


@dataclass(frozen=True)
class StoredMessage:
    """One delivered copy, as listed by ``relaylab tenant mailbox``."""

    seq: int
    mailbox: str
    folder: str
    received: str
    sender: str
    subject: str
    message_id: str
    authentication_results: str
    headers: bytes
    body: Body
    root: Path

    def raw(self) -> bytes:
        """The whole message as the recipient got it (stamped headers, then the message)."""
        if self.body.data is not None:
            return self.headers + self.body.data
        assert self.body.path is not None
        return self.headers + (self.root / self.body.path).read_bytes()


class MailStore:
    """The mailboxes and internet sink of one tenant."""

    def __init__(self, root: Path, db_path: Path) -> None:
        self.root = root
        self.db_path = db_path
        self.write: Callable[[tuple[Any, ...]], None] | None = None
        """Queues a row for the capture writer thread (set when the tenant starts)."""

    def body(self, spool: BinaryIO, size: int, name: str) -> Body:
        """Read a spooled message once: inline when small, else copied once under ``blobs/``."""
        spool.seek(0)
        if size <= INLINE_MAX:
            return Body(data=spool.read())
        folder = self.root / "blobs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.eml"
        with open(path, "wb") as out:
            shutil.copyfileobj(spool, out, 1 << 16)
        return Body(path=str(path.relative_to(self.root)))

    def deliver(self, *, run_id: str, mailbox: str, folder: str, external: bool, received: str, sender: str,
                subject: str, message_id: str, auth: str, headers: bytes, body: Body) -> None:
        """File one copy of a message."""
        assert self.write is not None, "the tenant is not started"
        self.write((run_id, mailbox.lower(), folder, int(external), received, sender, subject, message_id, auth,
                    headers, body.data, body.path))

    def list(self, address: str, folder: str | None = None, *, external: bool | None = None) -> list[StoredMessage]:
        """List a mailbox (one folder, or all), or what an external address received; newest first."""
        if not self.db_path.exists():
            return []
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            sql = ("SELECT seq, mailbox, folder, received, sender, subject, message_id, auth, headers, body, body_path "
                   "FROM messages WHERE mailbox = ?")
            args: list[Any] = [address.lower()]
            if folder is not None:
                sql += " AND folder = ?"
                args.append(folder)
            if external is not None:
                sql += " AND external = ?"
                args.append(int(external))
            try:
                rows = db.execute(sql + " ORDER BY seq DESC", args).fetchall()
            except sqlite3.OperationalError:
                return []
        finally:
            db.close()
        return [StoredMessage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bytes(r[8]),
                              Body(bytes(r[9]) if r[9] is not None else None, r[10]), self.root) for r in rows]
