"""Helpers for driving the app in tests: build it on the test course, wait for its work, read the screen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from course.app import RelaylabApp
from tests.course.fixture import fixture_course

SIZE = (100, 32)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_app(learner: str | None = "Ada", **kwargs: Any) -> RelaylabApp:
    """The app on the test course, with a fixed flashcard clock."""
    return RelaylabApp(fixture_course(), learner=learner, now=lambda: NOW, **kwargs)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every worker finished and every message was handled (twice: work starts work)."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def screen_text(app: RelaylabApp) -> str:
    """The visible screen as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for_text(pilot: Pilot[Any], *needles: str, rounds: int = 50) -> str:
    """Settle, then let the screen repaint until every needle shows (or give up and return the screen).

    A busy machine can leave the first paint after a screen change half done when the workers are;
    the caller still asserts on what is returned, so a missing text fails the test as before.
    """
    text = ""
    for _ in range(rounds):
        await settle(pilot)
        text = screen_text(pilot.app)  # type: ignore[arg-type]
        if all(needle in text for needle in needles):
            break
        await pilot.pause(0.05)
    return text


def freeze_cursors(app: RelaylabApp) -> None:
    """Stop the text cursors blinking (snapshots must not depend on the moment)."""
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
