"""Provides a level's progress bar with its title and counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar

if TYPE_CHECKING:
    from engine.services import OutlineLevel

__all__ = ["LevelProgress"]


class LevelProgress(Vertical):
    """A level's title, items done out of all, and a bar."""

    DEFAULT_CSS = """
    LevelProgress { height: auto; margin-bottom: 1; }
    LevelProgress > Label { width: 1fr; }
    LevelProgress > ProgressBar { width: 1fr; }
    LevelProgress > ProgressBar > Bar { width: 1fr; }
    """

    def __init__(self, level: OutlineLevel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.level = level

    def compose(self) -> ComposeResult:
        yield Label(self._label(), classes="level-title")
        yield ProgressBar(total=max(1, self.level.total), show_eta=False)

    def on_mount(self) -> None:
        self.query_one(ProgressBar).update(progress=self.level.done)

    def _label(self) -> str:
        return f"[b]{self.level.id}[/b] {self.level.title}  [dim]{self.level.done}/{self.level.total}[/dim]"
