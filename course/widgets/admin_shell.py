"""Provides the admin shell pane: type Exchange Online cmdlets against the lab's tenant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, RichLog, Static

__all__ = ["AdminShell"]


class _CmdletSuggester(Suggester):
    """Suggests the rest of a cmdlet or -Parameter name as you type (→ accepts it)."""

    def __init__(self, complete: Callable[[str], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.complete = complete

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.endswith(" "):
            return None
        options = self.complete(value)
        if not options:
            return None
        head, _, last = value.rpartition(" ")
        choice = options[0]
        if not choice.lower().startswith(last.lower()):
            return None
        return (head + " " if head else "") + choice


class AdminShell(Vertical):
    """A cmdlet prompt and its output. Posts :class:`AdminShell.Command` for the screen to run.

    Args:
        available: whether this build has the admin cmdlets.
    """

    DEFAULT_CSS = """
    AdminShell { height: 1fr; }
    AdminShell > RichLog { height: 1fr; }
    AdminShell > Input { dock: bottom; }
    """

    @dataclass
    class Command(Message):
        """The trainee entered a cmdlet."""

        shell: AdminShell
        line: str

        @property
        def control(self) -> AdminShell:
            """The shell."""
            return self.shell

    def __init__(self, available: bool, complete: Callable[[str], list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.available = available
        self.complete = complete

    def compose(self) -> ComposeResult:
        if not self.available:
            yield Static("The admin cmdlet shell (Get-TransportConfig, Set-CASMailbox, New-InboundConnector, …) "
                         "is not available in this build yet.", classes="muted")
            return
        yield RichLog(wrap=True, markup=False, highlight=False)
        yield Input(placeholder="PS> Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled",
                    suggester=_CmdletSuggester(self.complete) if self.complete else None)

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value.strip()
        if line:
            event.input.value = ""
            self.query_one(RichLog).write(Text(f"PS> {line}", style="bold"))
            self.post_message(self.Command(self, line))

    def show_reply(self, ok: bool, output: str, error: str) -> None:
        """Show what a cmdlet printed."""
        log = self.query_one(RichLog)
        if output:
            log.write(Text(output.rstrip()))
        if not ok:
            log.write(Text(error or "the command failed", style="bold red"))
