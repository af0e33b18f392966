"""Provides the exam screen: one item at a time, a visible countdown, answers saved as they are
given, labs run against their own local tenant, no hints and no feedback.

Answers are saved when the candidate presses Ctrl+S, moves to another item or hands in. When the
time is up, the exam is handed in with what was saved.
"""

from __future__ import annotations

import shutil
import uuid
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from course.screens.exam_confirm import HandInScreen
from course.widgets.exam_item import ExamQuestion
from course.widgets.exam_lab import ExamLabPanel
from course.widgets.exam_timer import ExamTimer
from course.widgets.question_card import QuestionCard
from engine.errors import ExamError, LabError
from engine.exam.attempt import Attempt
from engine.exam.labitem import build_exam_lab, run_capture, start_runner
from engine.exam.plain import kind_label

__all__ = ["ExamScreen"]


class ExamScreen(Screen[str]):
    """The items of an attempt; dismisses with the reason the exam ended (submitted, time-up, left, paused).

    Args:
        attempt: the started attempt.
        device_timeout: seconds a lab's device waits for the tenant.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+n", "move(1)", "Next", priority=True),
        Binding("ctrl+p", "move(-1)", "Previous", priority=True),
        Binding("f9", "hand_in", "Hand in", priority=True),
        Binding("f2", "pause", "Pause", priority=True),
        Binding("ctrl+q", "leave", "Close (clock runs)", priority=True),
    ]

    def __init__(self, attempt: Attempt, *, device_timeout: float = 3.0) -> None:
        super().__init__(id="exam-screen")
        self.attempt = attempt
        self.device_timeout = device_timeout
        self.index = attempt.next_open_index()
        self.configs: dict[str, str] = {}
        self.runner: Any = None
        self.runner_item: str | None = None
        self.ended = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="exam-top"):
            yield Static("", id="exam-status")
            yield ExamTimer(id="exam-timer")
        yield VerticalScroll(id="exam-body")
        yield Footer()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)
        self.call_after_refresh(self.show, self.index)

    # -- time --------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Update the countdown; hand in when the time is up."""
        self.query_one(ExamTimer).remaining = self.attempt.remaining()
        if self.attempt.time_up and not self.ended:
            self.notify("Time is up: your saved answers are being handed in.", severity="warning")
            self.end("time-up")

    # -- items -------------------------------------------------------------------------------------

    def _status(self) -> str:
        item = self.attempt.plan.items[self.index]
        section = self.attempt.bundle.sections[item.section]["title"]
        answered = sum(1 for i in self.attempt.plan.items if self.attempt.answered(i.id))
        return (f"Item {self.index + 1} of {len(self.attempt.plan.items)} · {section} · {kind_label(item.kind)} · "
                f"{item.points:g} pt · {answered} answered")

    async def show(self, index: int) -> None:
        """Show item ``index`` (the current one is saved first)."""
        self.save()
        await self._stop_runner()
        self.index = max(0, min(index, len(self.attempt.plan.items) - 1))
        item = self.attempt.plan.items[self.index]
        body = self.query_one("#exam-body", VerticalScroll)
        await body.remove_children()
        bundle = self.attempt.bundle
        widget: ExamQuestion | ExamLabPanel
        if item.is_lab:
            exam_lab = build_exam_lab(bundle.labs[item.lab_id], self.attempt.seed)
            from engine.labrun import LabRunner

            brief = exam_lab.situation + "\n\n**Your task.** " + exam_lab.task
            brief += "".join(f"\n- {t}" for t in exam_lab.admin_tasks)
            runs = self.attempt.lab_runs(item.id)
            config = self.configs.get(item.id) or LabRunner.config_yaml(exam_lab.lab.start_config)
            widget = ExamLabPanel(exam_lab.lab.title, brief, config, exam_lab.lab.fix_on != "device")
            if runs:
                widget.status = f"Run {len(runs)} time(s); the last run counts."
        else:
            widget = ExamQuestion(item.id, bundle.questions[item.id], item.order, self.attempt.answer_of(item.id))
        await body.mount(widget)
        body.scroll_home(animate=False)
        self.query_one("#exam-status", Static).update(self._status())
        widget.focus_answer()

    def _current(self) -> ExamQuestion | ExamLabPanel | None:
        found = self.query("#exam-body > .exam-question, #exam-body > .exam-lab")
        return found.first() if found else None  # type: ignore[return-value]

    def save(self) -> bool:
        """Save the current answer when it changed; False when it could not be saved."""
        widget = self._current()
        if self.ended or widget is None:
            return True
        if isinstance(widget, ExamLabPanel):
            self.configs[self.attempt.plan.items[self.index].id] = widget.query_one("#lab-config").text  # type: ignore[attr-defined]
            return True
        response = widget.response()
        if response is None or response == self.attempt.answer_of(widget.item_id):
            return True
        try:
            self.attempt.answer(widget.item_id, response)
        except ExamError as exc:
            self.notify(exc.message, severity="error")
            return False
        self.query_one("#exam-status", Static).update(self._status())
        return True

    def action_save(self) -> None:
        """Save the answer."""
        if self.save():
            self.notify("Saved.", timeout=1.5)

    @on(QuestionCard.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    async def action_move(self, step: int) -> None:
        """Go to the next or previous item."""
        target = self.index + step
        if 0 <= target < len(self.attempt.plan.items):
            await self.show(target)
        elif target >= len(self.attempt.plan.items):
            self.save()
            self.action_hand_in()

    # -- labs --------------------------------------------------------------------------------------

    async def _stop_runner(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.stop()
            shutil.rmtree(runner.state_dir, ignore_errors=True)

    @on(ExamLabPanel.RunRequested)
    def _run(self, message: ExamLabPanel.RunRequested) -> None:
        self.run_lab(message.panel, message.config, message.admin)

    @work(exclusive=True, group="lab")
    async def run_lab(self, panel: ExamLabPanel, config_text: str, admin: list[str]) -> None:
        """Run the device with the candidate's config on the lab's own tenant and save the capture."""
        from engine.labrun import LabRunner

        item = self.attempt.plan.items[self.index]
        panel.running = True
        try:
            config = LabRunner.parse_config(config_text, "device config")
            if self.runner is None:
                exam_lab = build_exam_lab(self.attempt.bundle.labs[item.lab_id], self.attempt.seed)
                state = self.attempt.folder / "labs" / f"{item.lab_id}-{uuid.uuid4().hex[:8]}"
                self.runner = start_runner(exam_lab, state, device_timeout=self.device_timeout)
                await self.runner.start()
            capture = await run_capture(self.runner, config, admin)
            self.attempt.record_lab(item.id, capture.to_json())
            self.configs[item.id] = config_text
            panel.status = (f"Device: {capture.device_summary}. The tenant captured {len(capture.records)} "
                            f"session(s). Saved; the last run counts.")
            self.query_one("#exam-status", Static).update(self._status())
        except (LabError, ExamError) as exc:
            panel.status = f"Not run: {exc.message}"
        finally:
            panel.running = False

    # -- the end -----------------------------------------------------------------------------------

    def action_hand_in(self) -> None:
        """Ask, then hand the exam in."""
        self.save()
        open_items = [str(n) for n, i in enumerate(self.attempt.plan.items, start=1) if not self.attempt.answered(i.id)]
        message = ("Hand the exam in now? You cannot change anything afterwards."
                   + (f"\n\nUnanswered: {', '.join(open_items)}." if open_items else "\n\nEvery item has an answer."))

        def done(yes: bool | None) -> None:
            if yes:
                self.end("submitted")

        self.app.push_screen(HandInScreen(message), done)

    def action_pause(self) -> None:
        """Pause (when allowed): save, log the pause and close."""
        self.save()
        try:
            self.attempt.pause()
        except ExamError as exc:
            self.notify(exc.message, severity="warning")
            return
        self.end("paused")

    def action_leave(self) -> None:
        """Close without handing in (answers are saved; the clock runs unless pauses are allowed)."""
        self.save()
        self.end("left")

    @work(exclusive=True, group="end")
    async def end(self, reason: str) -> None:
        """Stop any lab and end the screen."""
        if self.ended:
            return
        if reason not in ("time-up",):
            self.save()
        self.ended = True
        await self._stop_runner()
        self.dismiss(reason)
