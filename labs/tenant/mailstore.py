"""Provides where accepted mail lands: mailbox folders for the tenant's recipients, and a local
"internet" sink per external domain. Nothing ever leaves the machine.

Layout under the tenant's state folder::

    mailboxes/<address>/<Folder>/<stamp>-<id>.eml     Inbox, Junk Email, Sent Items
    internet/<domain>/<address>/<stamp>-<id>.eml       what an external server received
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["FOLDERS", "MailStore", "StoredMessage"]

FOLDERS = ("Inbox", "Junk Email", "Sent Items")

_SAFE = re.compile(r"[^A-Za-z0-9@._+-]")


def _safe(part: str) -> str:
    cleaned = _SAFE.sub("_", part.lower())[:200]
    return cleaned if cleaned.strip("._") else "_"


@dataclass(frozen=True)
class StoredMessage:
    """A delivered message, as listed by ``relaylab tenant mailbox``."""

    path: Path
    folder: str
    received: str
    sender: str
    subject: str
    message_id: str
    authentication_results: str


class MailStore:
    """Mailbox folders and the internet sink of one tenant."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mailbox_dir(self, address: str, folder: str) -> Path:
        """Folder of a mailbox."""
        return self.root / "mailboxes" / _safe(address) / folder

    def internet_dir(self, address: str) -> Path:
        """Sink of an external recipient."""
        domain = address.rpartition("@")[2]
        return self.root / "internet" / _safe(domain) / _safe(address)

    def write(self, folder: Path, name: str, headers: bytes, body: BinaryIO | bytes, body_offset: int = 0) -> Path:
        """Write ``headers`` then the message (from a spool file or bytes) as one .eml file."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_safe(name)}.eml"
        with open(path, "wb") as out:
            out.write(headers)
            if isinstance(body, bytes):
                out.write(body)
            else:
                body.seek(body_offset)
                while chunk := body.read(1 << 16):
                    out.write(chunk)
        return path

    def list(self, address: str, folder: str | None = None, *, external: bool = False) -> list[StoredMessage]:
        """List a mailbox folder (or every folder), newest first."""
        if external:
            folders = [(self.internet_dir(address), "Inbox")]
        else:
            names: Sequence[str] = [folder] if folder else FOLDERS
            folders = [(self.mailbox_dir(address, f), f) for f in names]
        out = []
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        for directory, name in folders:
            if not directory.is_dir():
                continue
            for path in directory.glob("*.eml"):
                with open(path, "rb") as fh:
                    head = parser.parse(fh)
                out.append(StoredMessage(
                    path=path, folder=name,
                    received=path.name.split("-")[0],
                    sender=str(head.get("From", "")), subject=str(head.get("Subject", "")),
                    message_id=str(head.get("Message-ID", "")),
                    authentication_results=" ".join(str(head.get("Authentication-Results", "")).split()),
                ))
        out.sort(key=lambda m: m.path.name, reverse=True)
        return out
