"""Provides the grade panel: every check with ✓/✗, its points and message, and the device's log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from engine.services import AttemptView

__all__ = ["GradePanel"]


class GradePanel(Static):
    """The result of the last attempt."""

    DEFAULT_CSS = """
    GradePanel { height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("Run the lab (Ctrl+R) to see the grade here.", **kwargs)

    def show(self, attempt: AttemptView) -> None:
        """Show an attempt."""
        result = attempt.result
        if not result.gradable:
            head = Text.assemble(("Not graded", "bold yellow"), f" — {result.reason}")
        else:
            verdict = ("PASSED", "bold green") if result.passed else ("NOT PASSED", "bold red")
            head = Text.assemble(verdict, f"  {result.score:g}/{result.max_score:g} points ({result.percent:.0f}%)",
                                 (f"  · {attempt.sessions} session(s) graded", "dim"))
        table = Table(show_header=True, header_style="bold", expand=True, box=None, padding=(0, 1, 1, 0))
        table.add_column("", width=1)
        table.add_column("Check · what the grader saw", ratio=1)
        table.add_column("Points", justify="right", width=6)
        for check in result.checks:
            if check.skipped:
                sign = Text("–", style="dim")
            else:
                sign = Text("✓", style="bold green") if check.passed else Text("✗", style="bold red")
            cell = Text(check.title, style="bold")
            if check.skipped:
                cell.append(" (skipped: an earlier check failed)", style="dim")
            if check.message:
                cell.append(f"\n{check.message}")
            if check.observed:
                cell.append(f"\n{check.observed}", style="dim")
            if check.lesson and not check.passed:
                cell.append(f"\nReread: {attempt.lessons.get(check.lesson, check.lesson)}", style="italic")
            table.add_row(sign, cell, f"{check.points:g}/{check.max_points:g}")
        parts: list[Text | Table] = [head, Text("")]
        if result.checks:
            parts.append(table)
        if attempt.device_error:
            parts += [Text(""), Text.assemble(("The device refused the settings: ", "bold"), attempt.device_error)]
        if attempt.device_log and not attempt.device_ok:  # a device that sent is in the transcript
            parts += [Text(""), Text("Device log", style="bold")]
            parts += [Text(line, style="dim") for line in attempt.device_log[-12:]]
        self.update(Group(*parts))
