"""The progress store: round trips, migrations, and durability across a kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import StoreError
from engine.store import MIGRATIONS, SCHEMA_VERSION, LabAttempt, Store


def test_learners_lessons_answers_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "p.sqlite3") as store:
        ann = store.create_learner("Ann")
        with pytest.raises(StoreError):
            store.create_learner("Ann")
        store.open_lesson(ann.id, "l1-ports")
        store.complete_lesson(ann.id, "l1-ports", seconds=30)
        store.complete_lesson(ann.id, "l1-ports", seconds=5)
        store.save_answer(ann.id, "q1", "practice", {"chosen": [1]}, 1.0, True)
        store.save_answer(ann.id, "q1", "practice", {"chosen": [0]}, 0.0, False)
        assert store.completed_lessons(ann.id) == {"l1-ports"}
        assert store.lesson_seconds(ann.id) == 35
        assert [a.correct for a in store.answers(ann.id, "q1")] == [True, False]
        assert store.get(ann.id, "last_lesson") == "l1-ports"
        assert store.record_hint(ann.id, "lab-a") == 1
        assert store.record_hint(ann.id, "lab-a") == 2
        attempt = LabAttempt("a1", ann.id, "lab-a", "t0", "t1", 7.0, 10.0, False, True, {"checks": []}, ["s1"], 2, {"host": "x"})
        store.save_lab_attempt(attempt)
        assert store.lab_attempts(ann.id) == [attempt]
        store.save_flashcard(ann.id, "q9", 2, "2026-01-01T00:00:00Z", "good")
        assert store.flashcard(ann.id, "q9") == (2, "2026-01-01T00:00:00Z", 1)


def test_migrates_an_older_store_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO learners VALUES ('id1', 'Old', 't', 't')")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.learner("Old") is not None
        store.save_flashcard("id1", "q", 1, "t", "hard")  # table from a later migration exists


def test_refuses_a_store_from_a_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer relaylab"):
        Store(path)


WRITER = """
import sys
from pathlib import Path
from engine.store import Store
store = Store(Path(sys.argv[1]))
learner = store.get_or_create_learner("Ann")
i = 0
while True:
    store.save_answer(learner.id, f"q{i}", "practice", {"n": i}, 1.0, True)
    print(i, flush=True)   # acknowledged only after the call returned
    i += 1
"""


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "kill.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.stdout is not None
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(path) as store:
        learner = store.learner("Ann")
        assert learner is not None
        stored = {a.question for a in store.answers(learner.id)}
    assert {f"q{i}" for i in range(acked + 1)} <= stored
