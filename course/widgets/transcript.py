"""Provides the live SMTP transcript: client and server lines told apart, TLS and AUTH marked,
sessions numbered, lines batched so thousands of them keep the app responsive."""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from engine.services import line_mark

__all__ = ["Transcript"]

BADGES = {
    "client": ("C ", "bold"),
    "server": ("S ", ""),
    "info": ("· ", "dim italic"),
    "tls": ("TLS", "reverse bold magenta"),
    "auth": ("AUTH", "reverse bold yellow"),
    "error": ("ERR", "reverse bold red"),
}
"""Mark → (badge, style)."""


class Transcript(RichLog):
    """The conversations the lab's tenant captured, as they happen.

    Lines arrive one capture event at a time; they are kept in a buffer and written a batch at a time
    (every 50 ms), so a burst of thousands of lines costs a handful of repaints.
    """

    DEFAULT_CSS = """
    Transcript { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=20000, wrap=False, markup=False, highlight=False, min_width=60, **kwargs)
        self._pending: list[Text] = []
        self._sessions: dict[str, int] = {}
        self.line_count = 0
        """Transcript lines received (not counting session headers)."""
        self.plain: deque[str] = deque(maxlen=20000)
        """The transcript as plain text, newest last (also while the tab is hidden)."""

    def on_mount(self) -> None:
        self.set_interval(0.05, self.flush)

    def add_event(self, event: Any) -> None:
        """Take one capture event (open, line or closed)."""
        number = self._sessions.setdefault(event.session_id, len(self._sessions) + 1)
        if event.kind == "open":
            where = f" · {event.endpoint}" if getattr(event, "endpoint", "") else ""
            peer = f" from {event.peer}" if getattr(event, "peer", "") else ""
            self._pending.append(Text(f"── session {number}{where}{peer} ──", style="bold"))
        elif event.kind == "line" and event.line is not None:
            self.line_count += 1
            mark = line_mark(event.line)
            badge, style = BADGES[mark]
            text = Text.assemble((f"{number:>2} ", "dim"), (f"{badge:<4}", style), " ",
                                 (event.line.text, "bold" if mark == "client" else ("dim italic" if mark == "info" else "")))
            self._pending.append(text)
        elif event.kind == "closed":
            record = event.record
            summary = ""
            if record is not None:
                accepted = sum(r.accepted for t in record.transactions for r in t.recipients)
                summary = f" · {len(record.transactions)} message(s), {accepted} recipient(s) accepted · {record.close}"
            self._pending.append(Text(f"── session {number} closed{summary} ──", style="dim"))

    def note(self, text: str, style: str = "bold") -> None:
        """Add a line of our own (run started, graded)."""
        self._pending.append(Text(text, style=style))
        self.flush()

    def flush(self) -> None:
        """Write what arrived since the last flush."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self.plain.extend(text.plain for text in pending)
        for text in pending:
            self.write(text, scroll_end=True)
