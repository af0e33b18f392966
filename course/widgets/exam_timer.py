"""Provides the exam's visible countdown: the time left, turning to a warning colour near the end."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["ExamTimer", "clock_text"]


def clock_text(seconds: float) -> str:
    """Seconds as ``h:mm:ss`` or ``mm:ss``."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


class ExamTimer(Static):
    """Time left; the screen sets :attr:`remaining` every second."""

    DEFAULT_CSS = """
    ExamTimer { width: auto; padding: 0 1; text-style: bold; background: $primary 20%; }
    ExamTimer.-low { background: $warning 40%; }
    ExamTimer.-over { background: $error 50%; }
    """

    remaining: reactive[float] = reactive(0.0)
    """Seconds left."""

    def render(self) -> str:
        return f"⏱ {clock_text(self.remaining)} left"

    def watch_remaining(self, value: float) -> None:
        self.set_class(0 < value <= 300, "-low")
        self.set_class(value <= 0, "-over")
