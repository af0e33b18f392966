"""Provides the glossary popup: a term's definition, with a way to the lessons that explain it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown

if TYPE_CHECKING:
    from engine.services import GlossaryEntry

__all__ = ["GlossaryDialog"]


class GlossaryDialog(ModalScreen[str | None]):
    """Show a term; returns the id of a lesson to open, or None.

    Args:
        entry: the glossary term.
    """

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, entry: GlossaryEntry) -> None:
        super().__init__(id="glossary-dialog")
        self.entry = entry

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="glossary-box", classes="dialog"):
            yield Markdown(f"## {self.entry.term}\n\n{self.entry.definition}", open_links=False)
            with Horizontal(classes="dialog-buttons"):
                for n, lesson in enumerate(self.entry.lessons[:3]):
                    yield Button(f"Read: {lesson.title}", id=f"lesson-{n}")
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("lesson-"):
            self.dismiss(self.entry.lessons[int(event.button.id.split("-")[1])].id)
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        """Close without opening anything."""
        self.dismiss(None)
