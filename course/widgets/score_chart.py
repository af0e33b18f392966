"""Provides the chart of scores over time (lab attempts and daily answer accuracy), with plotext."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from textual_plotext import PlotextPlot

if TYPE_CHECKING:
    from engine.services import ScorePoint

__all__ = ["ScoreChart"]


class ScoreChart(PlotextPlot):
    """Scores in percent against the date: one series for lab attempts, one for answers per day."""

    DEFAULT_CSS = """
    ScoreChart { height: 14; min-height: 10; }
    """

    def show_points(self, points: Sequence[ScorePoint]) -> None:
        """Draw the points (replacing what was drawn)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.date_form("Y-m-d")
        plt.title("Scores over time (%)")
        plt.ylim(0, 100)
        for series, label, marker in (("lab", "Lab attempts", "dot"), ("answers", "Answers per day", "braille")):
            chosen = [p for p in points if p.series == series]
            if not chosen:
                continue
            dates = [p.at[:10] for p in chosen]
            values = [round(p.percent, 1) for p in chosen]
            if len(chosen) == 1:
                plt.scatter(dates, values, label=label, marker=marker)
            else:
                plt.plot(dates, values, label=label, marker=marker)
        if points:
            # a day either side, so a single day is not stretched over decades
            first = date.fromisoformat(min(p.at[:10] for p in points)) - timedelta(days=1)
            last = date.fromisoformat(max(p.at[:10] for p in points)) + timedelta(days=1)
            plt.xlim(first.isoformat(), last.isoformat())  # type: ignore[arg-type]  # plotext takes dates as text
        else:
            plt.title("Scores over time: nothing yet — answer a check or run a lab")
        self.refresh()
