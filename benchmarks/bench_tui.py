"""Benchmark: the terminal app — cold start to the first painted screen (and to the course map with
the learner's progress), lesson switch and screen switch latency, and key handling while a lab
streams thousands of transcript lines from a running tenant.

Everything runs headless (Textual's test driver) with RELAYLAB_HOME in a temporary folder; the
bundled course is used except for the streaming lab, which uses the tests' small course.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
started = float(os.environ["BENCH_T0"])
from course.app import RelaylabApp
marks = {}

class Timed(RelaylabApp):
    CSS_PATH = os.environ["BENCH_CSS"]

    def on_mount(self):  # runs after RelaylabApp.on_mount (Textual calls each class's handler)
        self.screen.call_after_refresh(lambda: marks.setdefault("paint", time.time() - started))
        self.set_interval(0.005, self._bench_check)

    def _bench_check(self):
        if "ready" not in marks and self.screen_stack[0].outline is not None:
            marks["ready"] = None
            self.call_after_refresh(self._bench_ready)

    def _bench_ready(self):
        marks["ready"] = time.time() - started
        self.exit()

Timed(learner="Bench").run(headless=True, size=(100, 32))
print(json.dumps(marks))
"""


def _cold_start(home: str) -> dict[str, float]:
    script = Path(home) / "start_app.py"
    script.write_text(CHILD)
    env = {**os.environ, "RELAYLAB_HOME": home, "BENCH_CSS": str(REPO / "course" / "app.tcss"),
           "PYTHONPATH": str(REPO), "BENCH_T0": repr(time.time())}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"the app did not start: {out.stderr.strip().splitlines()[-1:]}")
    marks: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return marks


def _summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):.0f} ms, p90 {p90:.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"


async def _frame(app: Any) -> float:
    """Wait for the next refresh of the screen; return when it happened."""
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    app.screen.call_after_refresh(lambda: done.done() or done.set_result(time.perf_counter()))
    return await done


async def _settle(pilot: Any) -> None:
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def _switching(quick: bool) -> tuple[list[float], list[float]]:
    from course.app import RelaylabApp
    from course.messages import Navigate, OpenSection
    from course.screens.lesson import LessonScreen
    from engine.services import Target

    app = RelaylabApp(learner="Bench")
    lessons: list[float] = []
    screens: list[float] = []
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(pilot)
        assert app.ctx is not None
        order = app.ctx.service.tree.lesson_order()
        app.post_message(Navigate(Target("lesson", order[0], "")))
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        for lesson_id in order[1:(8 if quick else len(order))]:
            before = screen.painted_at
            started = time.perf_counter()
            screen.lesson_id = lesson_id
            while screen.painted_at == before:
                await asyncio.sleep(0.001)
            lessons.append(screen.painted_at - started)
            await _settle(pilot)  # let the rest of the lesson arrive before the next switch
        await pilot.press("escape")
        await _settle(pilot)
        sections = ["bank", "map", "progress", "map", "cards", "map"] * (1 if quick else 3)
        for section in sections:
            started = time.perf_counter()
            app.post_message(OpenSection(section))  # type: ignore[arg-type]
            await app.workers.wait_for_complete()
            screens.append(await _frame(app) - started)
            await _settle(pilot)
    return lessons, screens


async def _streaming(quick: bool) -> tuple[int, float, list[float]]:
    """Run a lab whose device sends many messages; press a key every 50 ms and time its handling."""
    from textual import events

    from course.app import RelaylabApp
    from course.messages import Navigate
    from course.screens.lab import LabScreen
    from course.widgets.transcript import Transcript
    from engine.services import Target

    sys.path.insert(0, str(REPO))
    from tests.course.fixture import fixture_course

    messages = 120 if quick else 250
    app = RelaylabApp(fixture_course(), learner="Bench", device_timeout=30.0)
    latencies: list[float] = []
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(pilot)
        app.post_message(Navigate(Target("lab", "scan-to-inbox", "")))
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, LabScreen) and screen.session is not None
        await pilot.press("ctrl+y")  # raw YAML: send many messages over several connections
        editor = screen.query_one("#config-yaml")
        text = re.sub(r"(?m)^messages: .*$", f"messages: {messages}", editor.text)  # type: ignore[attr-defined]
        editor.text = re.sub(r"(?m)^connections: .*$", "connections: 5", text)  # type: ignore[attr-defined]
        await pilot.press("ctrl+o", "ctrl+o", "ctrl+o", "ctrl+o")  # back on settings, the run shows the transcript
        handled: list[float] = []
        real_next_tab: Callable[[], None] = screen.action_next_tab

        def timed_next_tab() -> None:
            handled.append(time.perf_counter())
            real_next_tab()

        screen.action_next_tab = timed_next_tab  # type: ignore[method-assign]
        transcript = screen.query_one(Transcript)
        started = time.perf_counter()
        await pilot.press("ctrl+r")
        if not screen.running:
            raise RuntimeError("the lab did not start running")
        while screen.running:
            sent = time.perf_counter()
            count = len(handled)
            app.post_message(events.Key("ctrl+o", None))
            while len(handled) == count:
                await asyncio.sleep(0.001)
            latencies.append(handled[-1] - sent)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await _settle(pilot)
        transcript.flush()
        lines = transcript.line_count
    return lines, elapsed, latencies


def run(quick: bool = False) -> None:
    """Print the figures."""
    runs = 2 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        first = _cold_start(tmp)  # no course cache yet: the first start ever on this machine
        warm = [_cold_start(tmp) for _ in range(runs)]
    print(f"first start ever (validates the course, fills the cache): first paint {first['paint'] * 1000:.0f} ms, "
          f"course map with progress {first['ready'] * 1000:.0f} ms")
    print(f"cold start (new process, course cached): first paint {_summary([m['paint'] for m in warm])}; "
          f"course map with progress {_summary([m['ready'] for m in warm])}")
    previous = os.environ.get("RELAYLAB_HOME")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RELAYLAB_HOME"] = tmp
        try:
            lessons, screens = asyncio.run(_switching(quick))
            lines, elapsed, latencies = asyncio.run(_streaming(quick))
        finally:
            if previous is None:
                os.environ.pop("RELAYLAB_HOME", None)
            else:
                os.environ["RELAYLAB_HOME"] = previous
    print(f"lesson switch (to first section painted): {_summary(lessons)}")
    print(f"screen switch (to the new screen painted with its data): {_summary(screens)}")
    print(f"lab streaming: {lines} transcript lines in {elapsed:.1f} s ({lines / elapsed:.0f} lines/s); "
          f"key press handled: {_summary(latencies)}; {sum(v > 0.1 for v in latencies)} of {len(latencies)} over 100 ms")
