"""``exam take --plain``: the line-by-line exam (screen readers, scripts). Answers are saved as they are
given; closing, a kill or end of input loses nothing; a second take of the same attempt is refused."""

from __future__ import annotations

import io
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from engine.exam.attempt import Attempt
from engine.exam.bundle import Bundle, pack
from engine.exam.keys import AssessorKeys
from engine.exam.plain import PlainExam, clock_text
from engine.loader import CourseTree
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_attempt import FakeClock
from tests.engine.test_exam_helpers import L3, plain_line, response_for

keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree

REPO = Path(__file__).resolve().parents[2]


def _lines(attempt: Attempt, sealed: dict[str, Any], good: bool = True, stop: int | None = None) -> list[str]:
    out = []
    for n, item in enumerate(attempt.plan.items):
        if stop is not None and n >= stop:
            break
        out += ["skip"] if item.is_lab else plain_line(item, response_for(item, sealed["questions"][item.id], good))
    return out


def _run(attempt: Attempt, lines: list[str]) -> tuple[dict[str, Any] | None, str]:
    out = io.StringIO()
    result = PlainExam(attempt, io.StringIO("\n".join(lines) + "\n"), out).run()
    return result, out.getvalue()


def test_a_whole_exam_on_plain_lines(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path: Path) -> None:
    with Attempt.open(l2_bundle, "Plain Polly", clock=FakeClock()) as attempt:
        first = attempt.plan.items[0]
        bad_input = ["what?", "99", "help", "time"] if first.kind == "single" else []
        lines = ["", *bad_input, *_lines(attempt, l2_sealed), "submit"]
        out = io.StringIO()
        result = PlainExam(attempt, io.StringIO("\n".join(lines) + "\n"), out, output=tmp_path / "r.json").run()
    text = out.getvalue()
    assert result is not None and (tmp_path / "r.json").read_bytes() == attempt.result_path.read_bytes()
    before, after = text.split("The exam was handed in.")
    assert "Press Enter to start the timer" in before and "No hints" in before
    verdict = re.compile(r"^\s+\d+\. (right|wrong)$", re.M)
    assert not verdict.search(before) and "Checked on this computer" not in before  # no feedback until the end
    assert "Checked on this computer" in after and verdict.search(after)
    if bad_input:
        assert "Type numbers only" in before and "The numbers go from 1 to" in before
        assert "Commands at any prompt" in before.split("[1/13]")[1] and "left." in before
    answered = sum(1 for row in result["result"]["items"] if row["response"] is not None)
    assert answered == 12  # every question; the lab was skipped


def test_end_of_input_saves_and_the_next_take_resumes(l2_bundle: Bundle, l2_sealed: dict[str, Any]) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Resuming Rita", clock=clock) as attempt:
        result, text = _run(attempt, ["", *_lines(attempt, l2_sealed, stop=3)])
        assert result is None and "Your answers are saved" in text and "clock keeps running" in text
        assert not attempt.submitted
    clock.advance(300)
    with Attempt.open(l2_bundle, "Resuming Rita", clock=clock) as again:
        result, text = _run(again, [])
        assert "Resuming: 3 of 13 items answered" in text and "[4/13]" in text


def test_goto_and_the_list_of_unanswered_items(l2_bundle: Bundle, l2_sealed: dict[str, Any]) -> None:
    with Attempt.open(l2_bundle, "Skipping Sam", clock=FakeClock()) as attempt:
        skips = ["skip"] * len(attempt.plan.items)
        item = attempt.plan.items[1]
        answer = plain_line(item, response_for(item, l2_sealed["questions"][item.id], True))
        result, text = _run(attempt, ["", *skips, "goto 99", "goto 2", *answer, *skips[2:], "submit"])
    assert "There is no item 99" in text and "unanswered: 1, 3," in text
    assert result is not None and result["result"]["items"][1]["response"] is not None


def test_pauses_only_when_the_exam_allows_them(l2_bundle: Bundle, tree: CourseTree, keys: AssessorKeys) -> None:
    with Attempt.open(l2_bundle, "Pausing Pat", clock=FakeClock()) as attempt:
        _result, text = _run(attempt, ["", "pause"])
        assert "does not allow pauses" in text
    l3: Bundle = pack(tree, L3, keys)
    with Attempt.open(l3, "Pausing Pat", clock=FakeClock()) as attempt:
        _result, text = _run(attempt, ["", "pause"])
        assert "Paused." in text and "clock is paused" in text
        assert attempt.entries()[-1]["kind"] == "pause"


def test_time_up_hands_the_exam_in(l2_bundle: Bundle, l2_sealed: dict[str, Any]) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Late Larry", clock=clock) as attempt:
        attempt.start()
        clock.advance(attempt.limit + 1)
        result, text = _run(attempt, _lines(attempt, l2_sealed))
    assert result is not None and result["result"]["timed_out"]
    assert "Time is up: the exam was handed in." in text


def test_clock_text() -> None:
    assert clock_text(59) == "00:59" and clock_text(3600 + 61) == "1:01:01" and clock_text(-5) == "00:00"


class _Reader:
    """Collects a child's output lines in a thread."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.text = ""
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            self.lines.put(line)

    def wait_for(self, needle: str, count: int = 1, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while self.text.count(needle) < count:
            try:
                self.text += self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{needle!r} not seen; output so far:\n{self.text}") from None
        return self.text


def test_a_killed_take_loses_nothing_and_a_second_take_is_refused(l2_bundle: Bundle, l2_sealed: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    bundle_file = l2_bundle.write(tmp_path / "exam.rlx")
    env = {**os.environ, "RELAYLAB_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "engine.cli", "exam", "take", str(bundle_file), "--candidate", "Kim Killed",
               "--plain", "-o", str(tmp_path / "kim.json")]
    first = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        reader = _Reader(first.stdout)
        with Attempt.open(l2_bundle, "Kim Killed", home=tmp_path / "scratch") as plan_only:
            lines = _lines(plan_only, l2_sealed, stop=2)
        assert first.stdin is not None
        first.stdin.write("\n" + "\n".join(lines) + "\n")
        first.stdin.flush()
        reader.wait_for("Saved.", count=2)
        second = subprocess.run(command, input="", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert second.returncode == 1 and "already open in another relaylab" in second.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    third = subprocess.run(command, input="", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert third.returncode == 0, third.stderr
    assert "Resuming: 2 of 13 items answered" in third.stdout and "[3/13]" in third.stdout
