"""Provides an exam lab: the situation and task, the device config to edit, admin commands, and a
Run button. Nothing is graded here; the panel only says what the device did and how many sessions
the tenant captured.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Label, Markdown, Static, TextArea

from engine.services import md_parser

__all__ = ["ExamLabPanel"]


class ExamLabPanel(Vertical):
    """A lab item of an exam.

    Args:
        title: the lab's title.
        brief: situation, task and admin tasks as Markdown.
        config: the device config to start from (YAML).
        tenant_side: whether the fix may need admin commands.
    """

    DEFAULT_CSS = """
    ExamLabPanel { height: auto; }
    ExamLabPanel > .lab-brief { margin-bottom: 1; }
    ExamLabPanel TextArea.lab-config { height: 16; }
    ExamLabPanel TextArea.lab-admin { height: 5; }
    ExamLabPanel > .lab-status { margin-top: 1; color: $text-muted; }
    ExamLabPanel > Horizontal { height: auto; margin-top: 1; }
    """

    status: reactive[str] = reactive("Not run yet.")
    """What the last run did (set by the screen)."""
    running: reactive[bool] = reactive(False)
    """A run is in progress (set by the screen)."""

    @dataclass
    class RunRequested(Message):
        """The candidate asked to run the device."""

        panel: ExamLabPanel
        config: str
        admin: list[str]

        @property
        def control(self) -> ExamLabPanel:
            """The panel."""
            return self.panel

    def __init__(self, title: str, brief: str, config: str, tenant_side: bool) -> None:
        super().__init__(classes="exam-lab")
        self.title_text = title
        self.brief = brief
        self.config = config
        self.tenant_side = tenant_side

    def compose(self) -> ComposeResult:
        yield Markdown(f"## {self.title_text}\n\n{self.brief}", classes="lab-brief", parser_factory=md_parser,
                       open_links=False)
        yield Label("Device config (YAML):")
        yield TextArea(self.config, language="yaml", classes="lab-config", id="lab-config")
        yield Label("Admin commands run on the tenant before the device (one per line):")
        yield TextArea("", classes="lab-admin", id="lab-admin")
        with Horizontal():
            yield Button("Run the device", id="lab-run", variant="primary")
        yield Static(self.status, classes="lab-status", id="lab-status")

    def watch_status(self, value: str) -> None:
        if self.is_mounted:
            self.query_one("#lab-status", Static).update(value)

    def watch_running(self, value: bool) -> None:
        if self.is_mounted:
            self.query_one("#lab-run", Button).disabled = value

    def focus_answer(self) -> None:
        """Focus the config editor."""
        self.query_one("#lab-config", TextArea).focus()

    @on(Button.Pressed, "#lab-run")
    def _run(self, event: Button.Pressed) -> None:
        event.stop()
        admin = [line.strip() for line in self.query_one("#lab-admin", TextArea).text.splitlines() if line.strip()]
        self.post_message(self.RunRequested(self, self.query_one("#lab-config", TextArea).text, admin))
