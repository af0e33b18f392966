"""Provides the links picker: every lesson and glossary link of a lesson, reachable from the keyboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

if TYPE_CHECKING:
    from engine.services import LinkTarget

__all__ = ["LinksDialog"]


class LinksDialog(ModalScreen["LinkTarget | None"]):
    """Pick a link to follow; returns it, or None.

    Args:
        links: the lesson's links.
    """

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, links: tuple[LinkTarget, ...]) -> None:
        super().__init__(id="links-dialog")
        self.links = links

    def compose(self) -> ComposeResult:
        with Vertical(id="links-box", classes="dialog"):
            yield Label("[b]Links in this lesson[/b]  Enter follows one, Escape closes.", classes="dialog-title")
            yield OptionList(*(f"{'Lesson' if link.kind == 'lesson' else 'Glossary'}: {link.title}"
                               for link in self.links), id="links-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def pick(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.links[event.option_index])

    def action_close(self) -> None:
        """Close without following a link."""
        self.dismiss(None)
