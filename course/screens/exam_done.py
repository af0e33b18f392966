"""Provides the last screen of an exam: handed in, where the result is, and the feedback the
assessment allows (answers checked on this computer; the rest is graded by the assessor)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown

from engine.services import md_parser

__all__ = ["ExamDoneScreen"]


class ExamDoneScreen(Screen[None]):
    """The end of the exam.

    Args:
        summary: what to say (Markdown).
    """

    BINDINGS = [Binding("q,escape,enter", "app.quit", "Close")]

    def __init__(self, summary: str) -> None:
        super().__init__(id="exam-done")
        self.summary = summary

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.summary, parser_factory=md_parser, open_links=False)
        yield Footer()
