"""Provides ``exam take --plain``: the whole exam as lines of text on a terminal.

It suits screen readers and scripts: every prompt is one line starting with ``>``, answers are
typed as numbers, letters or text, and nothing moves on the screen. It drives the same
:class:`engine.exam.attempt.Attempt` as the terminal app, so answers are saved as they are given
and the attempt resumes after a crash.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import string
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from engine.errors import ExamError, LabError
from engine.exam.attempt import Attempt
from engine.exam.labitem import build_exam_lab, run_capture, start_runner
from engine.exam.plan import PlannedItem
from engine.exam.result import provisional_right

__all__ = ["PlainExam", "clock_text", "kind_label"]

KIND_LABELS = {"single": "one answer", "multiple": "several answers", "order": "put in order",
               "match": "match the pairs", "short": "short answer", "free": "written answer", "lab": "hands-on lab"}

HELP = ("Commands at any prompt: 'skip' leaves the item for later, 'goto N' jumps to item N, 'time' shows the "
        "time left, 'submit' hands the exam in, 'pause' saves and closes (when pauses are allowed), "
        "'quit' closes without handing in (the clock keeps running unless pauses are allowed).")


def kind_label(kind: str) -> str:
    """How a kind of item is named to a candidate."""
    return KIND_LABELS.get(kind, kind)


def clock_text(seconds: float) -> str:
    """Seconds as ``h:mm:ss`` or ``mm:ss``."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


class _Leave(Exception):
    """The candidate left (end of input, quit or pause)."""


class _Jump(Exception):
    def __init__(self, index: int) -> None:
        self.index = index


class _Submit(Exception):
    pass


class PlainExam:
    """A line-by-line exam session.

    Args:
        attempt: the opened attempt.
        stdin: where answers are read from.
        stdout: where prompts go.
        output: where to copy the result file when the exam is handed in.
        device_timeout: seconds a lab's device waits for the tenant.
    """

    def __init__(self, attempt: Attempt, stdin: IO[str], stdout: IO[str], *, output: Path | None = None,
                 device_timeout: float = 3.0) -> None:
        self.attempt = attempt
        self.bundle = attempt.bundle
        self.inp = stdin
        self.out = stdout
        self.output = output
        self.device_timeout = device_timeout
        self.result: dict[str, Any] | None = None
        self._finish_lock = threading.Lock()

    # -- I/O --------------------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        """Print a line."""
        self.out.write(text + "\n")
        self.out.flush()

    def read(self, prompt: str = "") -> str:
        """Read one line (a prompt line starts with '>'); end of input means the candidate left."""
        self.out.write(f"> {prompt}" if prompt else "> ")
        self.out.flush()
        line = self.inp.readline()
        if not line:
            self.say()
            raise _Leave
        return line.rstrip("\r\n")

    def command(self, line: str) -> bool:
        """Handle a command typed at an answer prompt; True when it was one."""
        word = line.strip().lower()
        if word == "help":
            self.say(HELP)
            return True
        if word == "time":
            self.say(f"{clock_text(self.attempt.remaining())} left.")
            return True
        if word == "submit":
            raise _Submit
        if word == "quit":
            raise _Leave
        if word == "pause":
            try:
                self.attempt.pause()
            except ExamError as exc:
                self.say(exc.message)
                return True
            self.say("Paused. Run the same 'relaylab exam take' command to continue.")
            raise _Leave
        m = re.fullmatch(r"goto\s+(\d+)", word)
        if m:
            n = int(m.group(1))
            if 1 <= n <= len(self.attempt.plan.items):
                raise _Jump(n - 1)
            self.say(f"There is no item {n}; items go from 1 to {len(self.attempt.plan.items)}.")
            return True
        return False

    # -- the session ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any] | None:
        """Run the session until the exam is handed in (the result) or the candidate leaves (None)."""
        a = self.attempt
        title = self.bundle.assessment["title"]
        self.say(f"{title} — exam for {a.candidate} (attempt {a.number} of "
                 f"{self.bundle.assessment.get('attempts_allowed', 1)})")
        self.say(f"Assessor key: {self.bundle.fingerprint}. Attempt code: {a.attempt_code}")
        if a.submitted:
            self.say(f"This attempt was already handed in. The result is {a.result_path}")
            self.result = a.submit()
            self._copy()
            return self.result
        try:
            if not a.started:
                self.say()
                self.say(self.bundle.assessment["instructions"].strip())
                self.say()
                self.say(f"{len(a.plan.items)} items, {self.bundle.assessment['time_limit_minutes']} minutes, pass mark "
                         f"{self.bundle.assessment['pass_percent']} %. No hints; results at the end.")
                self.say(HELP)
                self.read("Press Enter to start the timer. ")
                a.start()
            else:
                done = sum(1 for i in a.plan.items if a.answered(i.id))
                self.say(f"Resuming: {done} of {len(a.plan.items)} items answered; {clock_text(a.remaining())} left.")
                if a.anomalies and a.anomalies[-1].get("kind") == "clock":
                    self.say("Note: the computer's clock changed while the exam was closed; this is recorded.")
            a.heartbeat()
            a.on_time_up(self._time_up)
            if a.time_up:
                return self.finish("time-up")
            self.loop(a.next_open_index())
        except _Leave:
            if not a.submitted:
                self.say("Your answers are saved. Run the same 'relaylab exam take' command to continue"
                         + (" (the clock is paused)." if a.pauses_allowed else "; the clock keeps running."))
            return self.result
        except _Submit:
            pass
        return self.finish("submitted")

    def _time_up(self) -> None:
        self.say("\nTime is up. Your answers are being handed in.")
        self.finish("time-up")
        self.say("Press Enter to finish.")

    def loop(self, index: int) -> None:
        """Ask the items from ``index`` on, then offer to hand in."""
        items = self.attempt.plan.items
        i = index
        while True:
            if self.attempt.submitted:
                raise _Leave
            if i >= len(items):
                i = self.review()
                continue
            try:
                self.ask(i, items[i])
                i += 1
            except _Jump as jump:
                i = jump.index

    def review(self) -> int:
        """The end of the list: say what is unanswered and wait for 'submit' or 'goto N'."""
        open_items = [str(n) for n, item in enumerate(self.attempt.plan.items, start=1)
                      if not self.attempt.answered(item.id)]
        self.say()
        self.say(f"You have answered {len(self.attempt.plan.items) - len(open_items)} of {len(self.attempt.plan.items)} "
                 f"items{'; unanswered: ' + ', '.join(open_items) if open_items else ''}. "
                 f"{clock_text(self.attempt.remaining())} left.")
        self.say("Type 'submit' to hand the exam in, or 'goto N' to go back to item N.")
        while True:
            line = self.read()
            try:
                if not self.command(line):
                    self.say("Type 'submit' or 'goto N'.")
            except _Jump as jump:
                return jump.index

    def header(self, n: int, item: PlannedItem) -> None:
        """The line that introduces an item."""
        section = self.bundle.sections[item.section]["title"]
        self.say()
        self.say(f"[{n + 1}/{len(self.attempt.plan.items)}] {section} · {kind_label(item.kind)} · "
                 f"{item.points:g} point{'s' if item.points != 1 else ''} · {clock_text(self.attempt.remaining())} left")

    def ask(self, n: int, item: PlannedItem) -> None:
        """Ask one item until it is answered or skipped."""
        self.header(n, item)
        if item.is_lab:
            self.lab(item)
            return
        q = self.bundle.questions[item.id]
        self.say(q["prompt"].strip())
        labels: list[str] = []
        if item.kind in ("single", "multiple"):
            labels = [q["options"][i] for i in item.order]
            for k, text in enumerate(labels, start=1):
                self.say(f"  {k}. {text}")
            self.say("Type the number of your answer." if item.kind == "single" else
                     "Type the numbers of every right answer, separated by spaces.")
        elif item.kind == "order":
            labels = [q["items"][i] for i in item.order]
            for k, text in enumerate(labels, start=1):
                self.say(f"  {k}. {text}")
            self.say("Type the numbers in the right order, separated by spaces (e.g. 3 1 2).")
        elif item.kind == "match":
            for k, left in enumerate(q["lefts"], start=1):
                self.say(f"  {k}. {left}")
            self.say("  with:")
            for k, i in enumerate(item.order):
                self.say(f"  {string.ascii_lowercase[k]}) {q['rights'][i]}")
            self.say(f"Type the letter matching each of items 1 to {len(q['lefts'])}, in order (e.g. b a c).")
        elif item.kind == "short":
            self.say("Type your answer on one line.")
        else:
            self.say("Type your answer; end it with a line holding only a full stop (.).")
        previous = self.attempt.answer_of(item.id)
        if previous is not None:
            self.say("(You answered this already; a new answer replaces it, 'skip' keeps it.)")
        while True:
            first = self.read()
            if first.strip().lower() == "skip":
                return
            if self.command(first):
                continue
            try:
                response = self.parse(item, q, first)
            except ValueError as exc:
                self.say(str(exc))
                continue
            try:
                self.attempt.answer(item.id, response)
            except ExamError as exc:
                self.say(exc.message)
                raise _Leave from None
            self.say("Saved.")
            return

    def parse(self, item: PlannedItem, q: dict[str, Any], first: str) -> Any:
        """Turn what was typed into the response the grader reads.

        Raises:
            ValueError: with what to type instead.
        """
        kind = item.kind
        if kind in ("single", "multiple", "order"):
            numbers = [int(t) for t in re.findall(r"-?\d+", first)]
            if not numbers or re.sub(r"[\d\s,;-]", "", first):
                raise ValueError("Type numbers only (or 'skip').")
            if any(not 1 <= x <= len(item.order) for x in numbers):
                raise ValueError(f"The numbers go from 1 to {len(item.order)}.")
            if kind == "single":
                if len(numbers) != 1:
                    raise ValueError("Type one number.")
                return item.order[numbers[0] - 1]
            if kind == "multiple":
                return sorted({item.order[x - 1] for x in numbers})
            if sorted(numbers) != list(range(1, len(item.order) + 1)):
                raise ValueError(f"Type each number from 1 to {len(item.order)} once.")
            return [item.order[x - 1] for x in numbers]
        if kind == "match":
            letters = re.findall(r"[a-z]", first.lower())
            if len(letters) != len(q["lefts"]) or re.sub(r"[a-zA-Z\s,;]", "", first):
                raise ValueError(f"Type {len(q['lefts'])} letters, one for each item.")
            if any(string.ascii_lowercase.index(ch) >= len(item.order) for ch in letters):
                raise ValueError(f"The letters go from a to {string.ascii_lowercase[len(item.order) - 1]}.")
            return [item.order[string.ascii_lowercase.index(ch)] for ch in letters]
        if kind == "short":
            if not first.strip():
                raise ValueError("Type an answer (or 'skip').")
            return first.strip()
        lines = [first]
        while lines[-1].strip() != ".":
            lines.append(self.read())
        text = "\n".join(lines[:-1]).strip()
        if not text:
            raise ValueError("The answer is empty; type it again (or 'skip').")
        return text

    # -- labs ---------------------------------------------------------------------------------------

    def lab(self, item: PlannedItem) -> None:
        """Run a lab item: runs of the candidate's config files against the lab's own tenant."""
        public = self.bundle.labs[item.lab_id]
        exam_lab = build_exam_lab(public, self.attempt.seed)
        self.say(f"Lab: {exam_lab.lab.title}")
        self.say(exam_lab.situation.strip())
        self.say()
        self.say("Your task. " + exam_lab.task.strip())
        for task in exam_lab.admin_tasks:
            self.say(f"- {task.strip()}")
        from engine.labrun import LabRunner

        start_file = self.attempt.folder / f"{item.lab_id}.device.yaml"
        if not start_file.exists():
            start_file.write_text(LabRunner.config_yaml(exam_lab.lab.start_config,
                                                        f"# Device config for lab '{item.lab_id}' (exam)"))
        runs = self.attempt.lab_runs(item.id)
        self.say(f"The device's starting config is in {start_file}")
        if runs:
            self.say(f"(You have run this lab {len(runs)} time{'s' if len(runs) > 1 else ''}; the last run counts.)")
        self.say("Type the path of a config file to run the device with it; 'admin CMDLET ...' to add an admin "
                 "command that runs on the tenant before the next run; 'done' when you are finished; 'skip'.")
        loop = asyncio.new_event_loop()
        state = self.attempt.folder / "labs" / f"{item.lab_id}-{uuid.uuid4().hex[:8]}"
        runner = start_runner(exam_lab, state, device_timeout=self.device_timeout)
        admin: list[str] = []
        try:
            loop.run_until_complete(runner.start())
            while True:
                line = self.read().strip()
                if line.lower() in ("done", "skip"):
                    return
                if self.command(line):
                    continue
                if line.lower().startswith("admin "):
                    admin.append(line[6:].strip())
                    self.say(f"Queued for the next run: {admin[-1]}")
                    continue
                if not line:
                    continue
                path = Path(line).expanduser()
                if not path.is_file():
                    self.say(f"{path}: no such file. Type a config file path, 'admin ...', 'done' or 'skip'.")
                    continue
                try:
                    config = LabRunner.parse_config(path.read_text(), str(path))
                    capture = loop.run_until_complete(run_capture(runner, config, admin))
                except LabError as exc:
                    self.say(f"Not run: {exc.message}")
                    admin = []
                    continue
                admin = []
                try:
                    self.attempt.record_lab(item.id, capture.to_json())
                except ExamError as exc:
                    self.say(exc.message)
                    raise _Leave from None
                for out in capture.admin_output:
                    self.say(out)
                self.say(f"Device: {capture.device_summary}. The tenant captured {len(capture.records)} "
                         f"session{'s' if len(capture.records) != 1 else ''}. Saved; run again or type 'done'.")
        finally:
            loop.run_until_complete(runner.stop())
            loop.close()
            shutil.rmtree(state, ignore_errors=True)

    # -- the end --------------------------------------------------------------------------------------

    def _copy(self) -> None:
        if self.output is not None and self.result is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.attempt.result_path, self.output)

    def finish(self, reason: str) -> dict[str, Any]:
        """Hand the exam in, write the result and show what may be shown."""
        with self._finish_lock:
            if self.result is not None:
                return self.result
            self.result = self.attempt.submit(reason)
            self._copy()
        payload = self.result["result"]
        self.say()
        self.say("Time is up: the exam was handed in." if payload["timed_out"] else "The exam was handed in.")
        self.say(f"Result: {self.output or self.attempt.result_path}")
        self.say("Send this file to your assessor; it is signed, and any change to it will be detected.")
        if self.bundle.assessment.get("feedback_at_end"):
            prov = payload["provisional"]
            sealed = len(payload["items"]) - prov["checked"]
            self.say(f"Checked on this computer: {prov['right']} of {prov['checked']} answers right. "
                     f"Your assessor grades the other {sealed} item{'s' if sealed != 1 else ''}.")
            for n, row in enumerate(payload["items"], start=1):
                if "provisional_right" in row:
                    verdict = {True: "right", False: "wrong", None: "not answered"}[row["provisional_right"]]
                    self.say(f"  {n}. {verdict}")
        return self.result


def recheck(attempt: Attempt, item_id: str) -> bool | None:
    """Whether an item's saved answer matches its hashed key (None when it cannot be checked here)."""
    return provisional_right(attempt.bundle, item_id, attempt.answer_of(item_id))
