"""Provides the exam mode of the terminal app: instructions, then one item at a time under a visible
countdown, then the result file. It decides nothing: the attempt (``engine.exam.attempt``) keeps
the time, saves every answer and writes the signed result.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from course.screens.exam_done import ExamDoneScreen
from course.screens.exam_intro import ExamIntroScreen
from course.screens.exam_items import ExamScreen
from course.themes import HIGH_CONTRAST
from engine.exam.attempt import Attempt

__all__ = ["ExamApp", "run_exam"]


class ExamApp(App[dict[str, Any] | None]):
    """An exam attempt in the terminal.

    Args:
        attempt: the opened attempt (started or not).
        output: where to copy the result file when the exam is handed in.
        device_timeout: seconds a lab's device waits for the tenant.
    """

    CSS_PATH = "app.tcss"
    CSS = """
    #exam-top { height: 1; dock: top; background: $panel; }
    #exam-status { width: 1fr; padding: 0 1; }
    #exam-body { padding: 1 2; }
    #exam-intro-body { padding: 1 2; }
    .exam-heading { text-style: bold; margin-bottom: 1; }
    .exam-facts { color: $text-muted; margin-bottom: 1; }
    .exam-buttons { height: auto; margin-top: 1; }
    """
    TITLE = "relaylab exam"
    BINDINGS = [Binding("ctrl+t", "cycle_theme", "Theme", show=False)]

    def __init__(self, attempt: Attempt, *, output: Path | None = None, device_timeout: float = 3.0) -> None:
        super().__init__()
        self.attempt = attempt
        self.output = output
        self.device_timeout = device_timeout
        self.ending = ""
        """Why the app closed: submitted, time-up, left, paused or not-started."""
        self.result: dict[str, Any] | None = None
        """The signed result, once the exam was handed in."""
        self.register_theme(HIGH_CONTRAST)

    def on_mount(self) -> None:
        a = self.attempt
        assessment = a.bundle.assessment
        if a.started:
            self._begin()
            return
        heading = f"{assessment['title']} — exam for {a.candidate} (attempt {a.number} of {assessment['attempts_allowed']})"
        facts = (f"{len(a.plan.items)} items · {assessment['time_limit_minutes']} minutes · pass mark "
                 f"{assessment['pass_percent']} %\nAssessor key {a.bundle.fingerprint} · attempt code {a.attempt_code}")
        self.push_screen(ExamIntroScreen(heading, facts, assessment["instructions"]), self._intro_done)

    def _intro_done(self, start: bool | None) -> None:
        if not start:
            self.ending = "not-started"
            self.exit(None)
            return
        self.attempt.start()
        self._begin()

    def _begin(self) -> None:
        self.attempt.heartbeat()
        self.push_screen(ExamScreen(self.attempt, device_timeout=self.device_timeout), self._ended)

    def _ended(self, reason: str | None) -> None:
        self.ending = reason or "left"
        if self.ending not in ("submitted", "time-up"):
            self.exit(None)
            return
        result = self.attempt.submit(self.ending)
        if self.output is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.attempt.result_path, self.output)
        self.result = result
        self.push_screen(ExamDoneScreen(done_summary(self.attempt, result, self.output)))

    async def action_quit(self) -> None:
        """Ctrl+Q: save the current answer and close without handing in."""
        if isinstance(self.screen, ExamScreen):
            self.screen.action_leave()
            return
        if not self.ending:
            self.ending = "not-started" if not self.attempt.started else "left"
        self.exit(self.result)

    def action_cycle_theme(self) -> None:
        """Switch between the default and high-contrast themes."""
        self.theme = HIGH_CONTRAST.name if self.theme != HIGH_CONTRAST.name else "textual-dark"


def done_summary(attempt: Attempt, result: dict[str, Any], output: Path | None) -> str:
    """The end screen's text."""
    payload = result["result"]
    lines = ["# Handed in" if not payload["timed_out"] else "# Time is up: the exam was handed in", "",
             f"Your signed result is in `{output or attempt.result_path}`. Send this file to your assessor "
             "unchanged; any change to it is detected.", ""]
    if attempt.bundle.assessment.get("feedback_at_end"):
        prov = payload["provisional"]
        others = len(payload["items"]) - prov["checked"]
        lines += [f"Checked on this computer: **{prov['right']} of {prov['checked']}** answers right. "
                  f"Your assessor grades the other {others} item(s), labs included.", ""]
        lines += [f"- Item {n}: {'right' if row['provisional_right'] else ('not answered' if row['response'] is None else 'wrong')}"
                  for n, row in enumerate(payload["items"], start=1) if "provisional_right" in row]
    else:
        lines.append("Your assessor grades the exam and tells you the result.")
    lines += ["", "Press Q to close."]
    return "\n".join(lines)


def run_exam(attempt: Attempt, *, output: Path | None = None, device_timeout: float = 3.0) -> dict[str, Any] | None:
    """Run the exam app; return the signed result when the exam was handed in."""
    app = ExamApp(attempt, output=output, device_timeout=device_timeout)
    app.run()
    result = app.result
    if app.ending == "paused":
        print("Paused. Run the same 'relaylab exam take' command to continue; the pause is recorded.")
    elif app.ending == "left" and not attempt.submitted:
        print("Your answers are saved. Run the same 'relaylab exam take' command to continue"
              + (" (the clock is paused)." if attempt.pauses_allowed else "; the clock keeps running."))
    elif attempt.submitted:
        print(f"Result: {output or attempt.result_path}")
    return result
