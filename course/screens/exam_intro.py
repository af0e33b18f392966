"""Provides the exam's first screen: who, what, how long, the instructions, and the Start button.

The timer starts only when the candidate presses Start.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Markdown, Static

from engine.services import md_parser

__all__ = ["ExamIntroScreen"]


class ExamIntroScreen(Screen[bool]):
    """Instructions before the timer starts; dismisses True to start, False to leave.

    Args:
        heading: title, candidate and attempt.
        facts: items, time limit, pass mark, assessor key and attempt code.
        instructions: the assessment's instructions (Markdown).
    """

    BINDINGS = [Binding("ctrl+q", "leave", "Leave", priority=True)]

    def __init__(self, heading: str, facts: str, instructions: str) -> None:
        super().__init__(id="exam-intro")
        self.heading = heading
        self.facts = facts
        self.instructions = instructions

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="exam-intro-body"):
            yield Static(self.heading, classes="exam-heading")
            yield Static(self.facts, classes="exam-facts")
            yield Markdown(self.instructions, parser_factory=md_parser, open_links=False)
            with Horizontal(classes="exam-buttons"):
                yield Button("Start the timer", id="start", variant="primary")
                yield Button("Leave", id="leave")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#start", Button).focus()

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#leave")
    def action_leave(self) -> None:
        """Leave without starting."""
        self.dismiss(False)
