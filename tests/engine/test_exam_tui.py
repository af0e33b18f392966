"""The exam mode of the terminal app, driven with Textual's pilot: instructions, a visible countdown,
answers saved as they are given (and put back on resume), a lab run in a worker, hand-in, time-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, RadioButton, RadioSet

from course.exam_app import ExamApp
from course.screens.exam_done import ExamDoneScreen
from course.screens.exam_intro import ExamIntroScreen
from course.screens.exam_items import ExamScreen
from course.widgets.exam_item import ExamQuestion
from course.widgets.exam_timer import ExamTimer
from engine.exam.attempt import Attempt
from engine.exam.bundle import Bundle
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_attempt import FakeClock
from tests.engine.test_exam_helpers import plan_of

keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree

SIZE = (110, 40)


async def until(pilot: Any, check: Callable[[], object], rounds: int = 100) -> None:
    """Let the app work (workers, messages, repaints) until ``check()`` holds; give up after ~5 s.

    The assertion that follows still decides: this only waits as long as a busy machine needs.
    """
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        try:
            if check():
                return
        except Exception:  # the widget looked for may not be mounted yet
            pass


def _index(attempt: Attempt, kind: str) -> int:
    return next(n for n, item in enumerate(attempt.plan.items) if item.kind == kind)


def _name(bundle: Bundle, stem: str) -> str:
    """A candidate whose draw holds a short answer (pools draw one for most, not for all)."""
    return next(f"{stem} {n}" for n in range(100)
                if any(i.kind == "short" for i in plan_of(bundle, f"{stem} {n}").items))


async def test_take_an_exam_in_the_app(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path: Path) -> None:
    clock = FakeClock()
    attempt = Attempt.open(l2_bundle, _name(l2_bundle, "Tui Tess"), clock=clock)
    try:
        app = ExamApp(attempt, output=tmp_path / "tess.json", device_timeout=1.0)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, ExamIntroScreen) and not attempt.started
            await pilot.click("#start")
            await until(pilot, lambda: isinstance(app.screen, ExamScreen))
            screen = app.screen
            assert isinstance(screen, ExamScreen) and attempt.started
            clock.advance(65)
            screen.tick()
            assert str(screen.query_one(ExamTimer).render()) == "⏱ 43:55 left"

            short = _index(attempt, "short")
            await screen.show(short)
            await pilot.pause(0.2)
            await pilot.press(*"smtp.office365.com")
            await pilot.press("enter")  # Enter in a short answer saves it
            await until(pilot, lambda: attempt.answer_of(attempt.plan.items[short].id))
            assert attempt.answer_of(attempt.plan.items[short].id) == "smtp.office365.com"

            single = _index(attempt, "single")
            await screen.show(single)
            await pilot.pause(0.2)
            screen.query_one(ExamQuestion).card.query(RadioButton).first().value = True
            await pilot.press("ctrl+n")  # moving on saves the answer
            item = attempt.plan.items[single]
            await until(pilot, lambda: attempt.answer_of(item.id))
            assert attempt.answer_of(item.id) == item.order[0]

            lab = len(attempt.plan.items) - 1
            await screen.show(lab)
            await pilot.pause(0.2)
            screen.query_one("#lab-run").press()  # type: ignore[attr-defined]
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert "The tenant captured" in str(screen.query_one("#lab-status").render())
            assert len(attempt.lab_runs(attempt.plan.items[lab].id)) == 1

            await pilot.press("f9")
            await pilot.pause(0.2)
            await pilot.click("#yes")
            await until(pilot, lambda: isinstance(app.screen, ExamDoneScreen) and attempt.submitted)
            assert isinstance(app.screen, ExamDoneScreen) and attempt.submitted
            await pilot.press("q")
        assert app.result is not None and (tmp_path / "tess.json").is_file()
    finally:
        attempt.close()


async def test_resume_puts_saved_answers_back(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    name = _name(l2_bundle, "Tui Ravi")
    with Attempt.open(l2_bundle, name, clock=clock) as attempt:
        attempt.start()
        short = _index(attempt, "short")
        attempt.answer(attempt.plan.items[short].id, "Get-TransportConfig")
        single = _index(attempt, "single")
        choice = attempt.plan.items[single].order[1]
        attempt.answer(attempt.plan.items[single].id, choice)
    with Attempt.open(l2_bundle, name, clock=clock) as again:
        app = ExamApp(again)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ExamScreen))
            screen = app.screen
            assert isinstance(screen, ExamScreen)  # no instructions again: the timer is running
            await screen.show(short)
            await until(pilot, lambda: screen.query_one(Input).value == "Get-TransportConfig")
            assert screen.query_one(Input).value == "Get-TransportConfig"
            await screen.show(single)
            await until(pilot, lambda: screen.query_one(RadioSet).pressed_index == 1)
            assert screen.query_one(RadioSet).pressed_index == 1
            await pilot.press("ctrl+q")
            await pilot.pause(0.3)
        assert app.ending == "left" and not again.submitted


async def test_time_up_hands_in_what_was_saved(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Tui Tim", clock=clock) as attempt:
        attempt.start()
        app = ExamApp(attempt)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            clock.advance(attempt.limit + 1)
            screen = app.screen
            assert isinstance(screen, ExamScreen)
            screen.tick()
            await until(pilot, lambda: isinstance(app.screen, ExamDoneScreen))
            assert isinstance(app.screen, ExamDoneScreen)
            assert app.result is not None and app.result["result"]["timed_out"]
            await pilot.press("q")


async def test_leaving_before_the_start_starts_nothing(l2_bundle: Bundle) -> None:
    with Attempt.open(l2_bundle, "Tui Una", clock=FakeClock()) as attempt:
        app = ExamApp(attempt)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.click("#leave")
            await pilot.pause(0.2)
        assert app.ending == "not-started" and not attempt.started
