"""Attempts: the fsynced hash-chained journal, the lock, time (away, pauses, clocks set back), resume
after a crash, attempts allowed."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ExamError
from engine.exam.attempt import Attempt, ExamClock
from engine.exam.bundle import Bundle, pack
from engine.exam.keys import AssessorKeys
from engine.loader import CourseTree
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import L3, response_for

keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


class FakeClock(ExamClock):
    """Wall clock, boot clock and boot id under the test's control."""

    def __init__(self) -> None:
        self.w = 1_800_000_000.0
        self.m = 5_000.0
        self.boot = "boot-1"

    def wall(self) -> float:
        return self.w

    def mono(self) -> float:
        return self.m

    def boot_id(self) -> str | None:
        return self.boot

    def advance(self, seconds: float) -> None:
        self.w += seconds
        self.m += seconds


@pytest.fixture(scope="module")
def l3_bundle(tree: CourseTree, keys: AssessorKeys) -> Bundle:
    return pack(tree, L3, keys)


def _first_question(attempt: Attempt) -> Any:
    return next(i for i in attempt.plan.items if not i.is_lab)


def test_answers_are_journaled_and_survive_reopening(l2_bundle: Bundle, l2_sealed: dict[str, Any]) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Ada Lovelace", clock=clock) as attempt:
        assert not attempt.started and attempt.remaining() == attempt.limit
        attempt.start()
        item = _first_question(attempt)
        response = response_for(item, l2_sealed["questions"][item.id], True)
        attempt.answer(item.id, response)
        folder = attempt.folder
    lines = (folder / "journal.jsonl").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["start", "answer"]
    assert stat.S_IMODE((folder / "attempt.key").stat().st_mode) == 0o600
    with Attempt.open(l2_bundle, "  ada   LOVELACE ", clock=clock) as again:  # the same candidate
        assert again.resumed and again.answer_of(item.id) == response
        assert again.next_open_index() == 1  # labs come last, so the first item was the one answered


def test_an_edited_journal_is_refused(l2_bundle: Bundle) -> None:
    with Attempt.open(l2_bundle, "Grace Hopper", clock=FakeClock()) as attempt:
        attempt.start()
        attempt.answer(_first_question(attempt).id, "x")
        journal = attempt.folder / "journal.jsonl"
    journal.write_text(journal.read_text().replace('"x"', '"y"'))
    with pytest.raises(ExamError, match="edited"):
        Attempt.open(l2_bundle, "Grace Hopper", clock=FakeClock())


def test_a_torn_last_line_is_dropped_and_logged(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Alan Turing", clock=clock) as attempt:
        attempt.start()
        first = _first_question(attempt)
        attempt.answer(first.id, "kept")
        journal = attempt.folder / "journal.jsonl"
    with journal.open("ab") as f:
        f.write(b'{"kind":"answer","data":{"item":"half-writ')
    with Attempt.open(l2_bundle, "Alan Turing", clock=clock) as again:
        assert again.answer_of(first.id) == "kept"
        assert [e["kind"] for e in again.anomalies] == ["recovered"]
        again.answer(first.id, "changed")  # the chain continues after the dropped line
    with Attempt.open(l2_bundle, "Alan Turing", clock=clock) as third:
        assert third.answer_of(first.id) == "changed"


def test_a_second_take_on_the_same_attempt_is_refused(l2_bundle: Bundle) -> None:
    first = Attempt.open(l2_bundle, "Katherine Johnson", clock=FakeClock())
    try:
        with pytest.raises(ExamError, match="already open in another relaylab"):
            Attempt.open(l2_bundle, "Katherine Johnson", clock=FakeClock())
    finally:
        first.close()
    Attempt.open(l2_bundle, "Katherine Johnson", clock=FakeClock()).close()


def test_time_away_counts_when_pauses_are_not_allowed(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Edsger Dijkstra", clock=clock) as attempt:
        attempt.start()
        clock.advance(120)
        assert attempt.elapsed() == pytest.approx(120)
    clock.advance(600)  # closed for ten minutes (a crash, a closed terminal)
    with Attempt.open(l2_bundle, "Edsger Dijkstra", clock=clock) as again:
        assert again.elapsed() == pytest.approx(720)
        assert again.away_seconds == pytest.approx(720)  # since the last journal line (the start)
        with pytest.raises(ExamError, match="does not allow pauses"):
            again.pause()


def test_time_away_is_a_logged_pause_when_pauses_are_allowed(l3_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l3_bundle, "Barbara Liskov", clock=clock) as attempt:
        attempt.start()
        clock.advance(300)
        attempt.pause()
    clock.advance(3600)
    with Attempt.open(l3_bundle, "Barbara Liskov", clock=clock) as again:
        assert again.elapsed() == pytest.approx(300)
        result = again.submit()
    kinds = [e["kind"] for e in result["result"]["events"]]
    assert kinds == ["pause", "resume", "submit"]
    resume = result["result"]["events"][1]["data"]
    assert resume == {"away": 3600.0, "counted": False}


def test_setting_the_clock_back_while_closed_gains_nothing(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Margaret Hamilton", clock=clock) as attempt:
        attempt.start()
        clock.advance(60)
        attempt.answer(_first_question(attempt).id, "x")
    clock.m += 900  # fifteen minutes pass on the boot clock...
    clock.w -= 3600  # ...while the wall clock is set an hour back
    with Attempt.open(l2_bundle, "Margaret Hamilton", clock=clock) as again:
        assert again.elapsed() == pytest.approx(960)
        assert [e["kind"] for e in again.anomalies] == ["clock"]
        assert "boot clock was used" in again.anomalies[0]["data"]["note"]


def test_a_clock_changed_during_the_exam_is_logged_and_changes_nothing(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Mary Keller", clock=clock) as attempt:
        attempt.start()
        clock.advance(100)
        clock.w -= 7200  # set two hours back while the exam is open
        attempt.answer(_first_question(attempt).id, "x")
        assert attempt.elapsed() == pytest.approx(100)
        assert [e["kind"] for e in attempt.anomalies] == ["clock"]
        assert attempt.anomalies[0]["data"]["wall_delta"] == pytest.approx(-7100)


def test_a_clock_set_back_across_a_restart_is_flagged_and_never_adds_time(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Frances Allen", clock=clock) as attempt:
        attempt.start()
        clock.advance(1200)
        attempt.answer(_first_question(attempt).id, "x")
    clock.boot, clock.m, clock.w = "boot-2", 30.0, clock.w - 7200  # rebooted, wall clock two hours back
    with Attempt.open(l2_bundle, "Frances Allen", clock=clock) as again:
        assert again.elapsed() == pytest.approx(1200)  # never less than already used
        anomaly = again.anomalies[-1]
        assert anomaly["data"]["backwards"] is True and "unknown" in anomaly["data"]["note"]
        clock.advance(10)
        result = again.submit()
    assert any(e["kind"] == "clock" for e in result["result"]["events"])


def test_nothing_is_saved_after_the_time_is_up(l2_bundle: Bundle) -> None:
    clock = FakeClock()
    with Attempt.open(l2_bundle, "Hedy Lamarr", clock=clock) as attempt:
        attempt.start()
        item = _first_question(attempt)
        clock.advance(attempt.limit + 60)
        assert attempt.time_up and attempt.remaining() == 0
        with pytest.raises(ExamError, match="time is up"):
            attempt.answer(item.id, "late")
        result = attempt.submit()
    assert result["result"]["timed_out"] and result["result"]["elapsed_seconds"] == attempt.limit
    assert result["result"]["items"][0]["response"] is None or item.id != result["result"]["items"][0]["id"]


def test_only_items_of_the_attempt_and_only_after_the_start(l2_bundle: Bundle) -> None:
    with Attempt.open(l2_bundle, "Radia Perlman", clock=FakeClock()) as attempt:
        with pytest.raises(ExamError, match="not started"):
            attempt.answer(_first_question(attempt).id, "x")
        attempt.start()
        with pytest.raises(ExamError, match="not an item"):
            attempt.answer("bank-something-else", "x")
        with pytest.raises(ExamError, match="empty"):
            Attempt.open(l2_bundle, "   ")


def test_attempts_allowed(l2_bundle: Bundle, l3_bundle: Bundle) -> None:
    with Attempt.open(l2_bundle, "Sophie Wilson", clock=FakeClock()) as attempt:
        attempt.start()
        first = attempt.submit()
        assert attempt.submit() == first  # handing in twice changes nothing
        with pytest.raises(ExamError, match="handed in"):
            attempt.answer(_first_question(attempt).id, "x")
    with Attempt.open(l2_bundle, "Sophie Wilson", clock=FakeClock()) as again:
        assert again.submitted and again.number == 1
    with pytest.raises(ExamError, match="used all 1 attempt"):
        Attempt.open(l2_bundle, "Sophie Wilson", new_attempt=True, clock=FakeClock())
    with Attempt.open(l3_bundle, "Sophie Wilson", clock=FakeClock()) as one:
        one.start()
        one.submit()
        seed_one = one.seed
    with Attempt.open(l3_bundle, "Sophie Wilson", new_attempt=True, clock=FakeClock()) as two:
        assert two.number == 2 and not two.started and two.seed != seed_one
        two.start()
    with pytest.raises(ExamError, match="used all 2 attempts"):
        with Attempt.open(l3_bundle, "Sophie Wilson", new_attempt=True, clock=FakeClock()) as still:
            still.submit()
            Attempt.open(l3_bundle, "x", clock=FakeClock()).close()
            raise ExamError("used all 2 attempts")


def test_the_real_clock(l2_bundle: Bundle, tmp_path: Path) -> None:
    clock = ExamClock()
    assert clock.mono() > 0 and clock.wall() > 1_700_000_000
    with Attempt.open(l2_bundle, "Real Time", home=tmp_path) as attempt:
        attempt.start()
        assert 0 <= attempt.elapsed() < 5
