"""Provides the progress screen: scores per level and per lab, attempts history, time spent, weakest
topics, and a chart of scores over time."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from course.context import Context
from course.widgets.score_chart import ScoreChart
from engine.services import Progress

__all__ = ["ProgressScreen", "duration"]


def duration(seconds: int) -> str:
    """'1 h 05 min', '12 min', 'under a minute'."""
    if seconds < 60:
        return "under a minute" if seconds else "none yet"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


class ProgressScreen(Screen[None]):
    """The learner's progress."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("r", "reload", "Refresh")]

    def __init__(self, ctx: Context) -> None:
        super().__init__(id="progress-screen")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="progress-body"):
            yield DataTable(id="progress-levels", cursor_type="none")
            yield ScoreChart(id="progress-chart")
            with Horizontal(id="progress-bottom"):
                yield Static("", id="progress-time")
                yield Static("", id="progress-weak")
            yield Static("Labs", classes="section-title")
            yield DataTable(id="progress-labs", cursor_type="row")
            yield Static("Attempts", classes="section-title")
            yield DataTable(id="progress-history", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Progress · {self.ctx.learner.name}"
        self.query_one("#progress-levels", DataTable).add_columns("Level", "Lessons", "Checks", "Labs", "Answers right")
        self.query_one("#progress-labs", DataTable).add_columns("Lab", "Level", "Attempts", "Best", "Last", "Passed", "Hints")
        self.query_one("#progress-history", DataTable).add_columns("Finished (UTC)", "Lab", "Score", "Result", "Hints")
        self.action_reload()

    @work(exclusive=True, group="progress")
    async def action_reload(self) -> None:
        """Load the summary."""
        progress = await asyncio.to_thread(self.ctx.service.progress, self.ctx.learner_id)
        self.show(progress)

    def show(self, progress: Progress) -> None:
        levels = self.query_one("#progress-levels", DataTable)
        levels.clear()
        for lv in progress.levels:
            labs = f"{lv.labs_passed}/{lv.labs_total}" + (f" (avg {lv.lab_average:.0f}%)" if lv.lab_average is not None else "")
            levels.add_row(Text(f"{lv.id} {lv.title}", style="bold"), f"{lv.lessons_done}/{lv.lessons_total}",
                           f"{lv.checks_done}/{lv.checks_total}", labs, f"{lv.right}/{lv.answered}")
        seconds = progress.seconds
        spent = Text()
        spent.append("Time spent\n", style="bold")
        spent.append(f"  total     {duration(seconds.get('total', 0))}\n")
        spent.append(f"  reading   {duration(seconds.get('reading', 0))}\n")
        spent.append(f"  practice  {duration(seconds.get('practice', 0))}\n")
        spent.append(f"  labs      {duration(seconds.get('labs', 0))}")
        self.query_one("#progress-time", Static).update(spent)
        summary = Text()
        summary.append("Weakest topics\n", style="bold")
        if progress.weakest:
            for topic in progress.weakest:
                summary.append(f"  {topic.tag:<16} {topic.percent:>3.0f}%", style="red" if topic.percent < 50 else "yellow")
                summary.append(f"  ({topic.items} item{'s' if topic.items != 1 else ''})\n", style="dim")
        else:
            summary.append("  none yet — answer some questions\n", style="dim")
        self.query_one("#progress-weak", Static).update(summary)
        self.query_one(ScoreChart).show_points(progress.points)
        lab_table = self.query_one("#progress-labs", DataTable)
        lab_table.clear()
        for lab in progress.labs:
            lab_table.add_row(lab.title, lab.level, str(lab.attempts), f"{lab.best:.0f}%", f"{lab.last:.0f}%",
                         Text("✓ yes", style="green") if lab.passed else Text("✗ not yet", style="red"), str(lab.hints))
        if not progress.labs:
            lab_table.add_row(Text("No lab attempts yet", style="dim"), "", "", "", "", "", "")
        history = self.query_one("#progress-history", DataTable)
        history.clear()
        for row in progress.history[:50]:
            result = ("passed", "green") if row.passed else (("failed", "red") if row.gradable else ("not gradable", "yellow"))
            history.add_row(row.finished[:16].replace("T", " "), row.title, f"{row.percent:.0f}%", Text(*result),
                            str(row.hints))
        if not progress.history:
            history.add_row(Text("No attempts yet", style="dim"), "", "", "", "")
