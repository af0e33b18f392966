"""Provides the hand-in confirmation: how many items are still open, and Yes / No."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

__all__ = ["HandInScreen"]


class HandInScreen(ModalScreen[bool]):
    """Ask before handing the exam in.

    Args:
        message: what is still open.
    """

    BINDINGS = [Binding("escape", "no", "Back to the exam")]
    DEFAULT_CSS = """
    HandInScreen { align: center middle; }
    HandInScreen > Vertical { width: 64; height: auto; border: thick $primary; padding: 1 2; background: $surface; }
    HandInScreen Horizontal { height: auto; margin-top: 1; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.message)
            with Horizontal():
                yield Button("Hand in", id="yes", variant="error")
                yield Button("Back to the exam", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_no(self) -> None:
        """Go back to the exam."""
        self.dismiss(False)
