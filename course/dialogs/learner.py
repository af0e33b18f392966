"""Provides the learner picker: choose a profile or create one."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Length
from textual.widgets import Input, Label, OptionList

__all__ = ["LearnerDialog"]


class LearnerDialog(ModalScreen[str | None]):
    """Ask who is learning; returns the chosen or new name (None: keep the current one).

    Args:
        names: existing learners, most recently active first.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, names: list[str]) -> None:
        super().__init__(id="learner-dialog")
        self.names = names

    def compose(self) -> ComposeResult:
        with Vertical(id="learner-box", classes="dialog"):
            if self.names:
                yield Label("[b]Who is learning?[/b]  Pick a profile, or type a new name.", classes="dialog-title")
                yield OptionList(*self.names, id="learner-list")
            else:
                yield Label("[b]Welcome to relaylab[/b]", classes="dialog-title")
                yield Label("Your progress, answers and lab attempts are kept under a learner profile on this "
                            "machine. What should we call you?", classes="dialog-text")
            yield Input(placeholder="New learner name", id="learner-name", max_length=80,
                        validators=[Length(minimum=1, failure_description="type a name")])
            yield Label("Enter to start · Ctrl+P finds anything later · F1 help", classes="dialog-hint")

    def on_mount(self) -> None:
        (self.query_one("#learner-list") if self.names else self.query_one("#learner-name")).focus()

    @on(OptionList.OptionSelected, "#learner-list")
    def pick(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.names[event.option_index])

    @on(Input.Submitted, "#learner-name")
    def create(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.notify("Type a name (1 to 80 characters).", severity="warning")
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Keep the current learner (only when there is one to keep)."""
        if self.names:
            self.dismiss(None)
