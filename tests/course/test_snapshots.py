"""Snapshots of every screen at 100×32 (and the course map at 80×24), on the test course with a seeded
store. Textual is pinned exactly in pyproject because the SVGs depend on its rendering; review a
diff in snapshot_report.html before running with --snapshot-update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from course.messages import Navigate, OpenSection
from engine.services import Target
from tests.course.helpers import SIZE, freeze_cursors, settle
from tests.course.snapshot_apps import seeded

APPS = Path(__file__).parent / "snapshot_apps"


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    seeded.restore()


def steps(*actions: Any) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before that waits for the app, then posts messages or presses keys, settling after each."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for action in actions:
            if isinstance(action, str):
                await pilot.press(action)
            else:
                pilot.app.post_message(action)
            await settle(pilot)
        freeze_cursors(pilot.app)  # type: ignore[arg-type]
        pilot.app.clear_notifications()
        await pilot.pause()

    return run_before


def test_first_start_asks_for_a_name(snap_compare: Any) -> None:
    assert snap_compare(APPS / "first_start.py", run_before=steps(), terminal_size=SIZE)


def test_course_map(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps(), terminal_size=SIZE)


def test_course_map_at_80x24_high_contrast(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps("ctrl+t", "ctrl+t"), terminal_size=(80, 24))


def test_lesson_reader(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps(Navigate(Target("lesson", "what-is-relay", ""))),
                        terminal_size=(120, 32))


def test_lesson_reader_light_theme(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps("ctrl+t", Navigate(Target("lesson", "ports", ""))),
                        terminal_size=SIZE)


def test_check_single_choice_feedback(snap_compare: Any) -> None:
    check = Navigate(Target("check", "what-is-relay", "Knowledge check: What relay is"))
    assert snap_compare(seeded.build(), run_before=steps(check, "down", "enter", "ctrl+s"), terminal_size=SIZE)


def test_check_ordering(snap_compare: Any) -> None:
    check = Navigate(Target("check", "what-is-relay", "Knowledge check: What relay is"))
    assert snap_compare(seeded.build(), run_before=steps(check, "enter", "ctrl+s", "n", "space", "ctrl+s", "n",
                                                         "shift+down"), terminal_size=SIZE)


def test_check_matching(snap_compare: Any) -> None:
    check = Navigate(Target("check", "ports", "Knowledge check: Ports and TLS"))
    assert snap_compare(seeded.build(), run_before=steps(check), terminal_size=SIZE)


def test_check_free_text_feedback(snap_compare: Any) -> None:
    from course.messages import PracticeQuestions

    practice = PracticeQuestions(("ports-free",), "Interview practice")
    assert snap_compare(seeded.build(), run_before=steps(practice, *"587 is submission", "ctrl+s"), terminal_size=SIZE)


def test_question_bank(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps(OpenSection("bank")), terminal_size=SIZE)


def test_flashcard_revealed(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps(OpenSection("cards"), "space"), terminal_size=SIZE)


def test_progress(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps(OpenSection("progress")), terminal_size=SIZE)


def test_lab_settings(snap_compare: Any) -> None:
    lab = Navigate(Target("lab", "scan-to-inbox", "Lab"))
    assert snap_compare(seeded.build(), run_before=steps(lab), terminal_size=(120, 36))


def test_lab_graded(snap_compare: Any) -> None:
    lab = Navigate(Target("lab", "scan-to-inbox", "Lab"))
    assert snap_compare(seeded.build(), run_before=steps(lab, "ctrl+r"), terminal_size=(120, 36))


def test_help(snap_compare: Any) -> None:
    assert snap_compare(seeded.build(), run_before=steps("f1"), terminal_size=SIZE)


def test_glossary(snap_compare: Any) -> None:
    from engine.services import GlossaryEntry, LessonRef

    async def run_before(pilot: Pilot[Any]) -> None:
        from course.dialogs.glossary import GlossaryDialog

        await settle(pilot)
        entry = GlossaryEntry("mx", "MX host", "The host named by the domain's MX record.", (),
                              (LessonRef("ports", "Ports and TLS"),))
        pilot.app.push_screen(GlossaryDialog(entry))
        await settle(pilot)

    assert snap_compare(seeded.build(), run_before=run_before, terminal_size=SIZE)
