"""Provides the progress store: learners, lesson completion, answers, lab attempts, flashcards.

SQLite in WAL mode with ``synchronous=FULL``: every write is one transaction, committed before
the call returns, so a kill at any moment loses nothing a call has already acknowledged. The
schema carries a version (``PRAGMA user_version``) and migrates forward step by step.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import StoreError

__all__ = [
    "SCHEMA_VERSION",
    "Answer",
    "LabAttempt",
    "Learner",
    "Store",
    "utcnow",
]


def utcnow() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


MIGRATIONS: list[str] = [
    # 1: learners, lessons, answers, lab attempts, hints
    """
    CREATE TABLE learners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE TABLE lesson_progress (
        learner TEXT NOT NULL REFERENCES learners(id),
        lesson TEXT NOT NULL,
        opened TEXT NOT NULL,
        completed TEXT,
        seconds INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (learner, lesson)
    );
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        learner TEXT NOT NULL REFERENCES learners(id),
        question TEXT NOT NULL,
        mode TEXT NOT NULL,
        response TEXT NOT NULL,
        fraction REAL NOT NULL,
        correct INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX answers_by_learner ON answers(learner, question);
    CREATE TABLE lab_attempts (
        id TEXT PRIMARY KEY,
        learner TEXT NOT NULL REFERENCES learners(id),
        lab TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT NOT NULL,
        score REAL NOT NULL,
        max_score REAL NOT NULL,
        passed INTEGER NOT NULL,
        gradable INTEGER NOT NULL,
        result TEXT NOT NULL,
        record_ids TEXT NOT NULL,
        hints_used INTEGER NOT NULL,
        config TEXT NOT NULL
    );
    CREATE INDEX lab_attempts_by_learner ON lab_attempts(learner, lab);
    CREATE TABLE hints (
        learner TEXT NOT NULL REFERENCES learners(id),
        lab TEXT NOT NULL,
        shown INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (learner, lab, shown)
    );
    """,
    # 2: flashcards (Leitner boxes) and a key/value table for UI state
    """
    CREATE TABLE flashcards (
        learner TEXT NOT NULL REFERENCES learners(id),
        question TEXT NOT NULL,
        box INTEGER NOT NULL,
        due TEXT NOT NULL,
        reviews INTEGER NOT NULL DEFAULT 0,
        last_rating TEXT,
        PRIMARY KEY (learner, question)
    );
    CREATE TABLE kv (
        learner TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (learner, key)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Learner:
    """A learner profile."""

    id: str
    name: str
    created: str
    last_seen: str


@dataclass(frozen=True)
class Answer:
    """A stored answer to a question."""

    question: str
    mode: str
    response: Any
    fraction: float
    correct: bool
    at: str


@dataclass(frozen=True)
class LabAttempt:
    """A stored lab attempt."""

    id: str
    learner: str
    lab: str
    started: str
    finished: str
    score: float
    max_score: float
    passed: bool
    gradable: bool
    result: dict[str, Any]
    record_ids: list[str]
    hints_used: int
    config: dict[str, Any]


class Store:
    """The progress store. Thread-safe; one connection guarded by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the progress store {path}: {exc}") from exc

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the progress store {self.path} was written by a newer relaylab (schema {version}, "
                f"this one knows {SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            with self._tx() as db:
                for statement in _statements(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number + 1}")

    @property
    def schema_version(self) -> int:
        """The schema version on disk."""
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- learners ------------------------------------------------------------------------------

    def learners(self) -> list[Learner]:
        """Return every learner, most recently seen first."""
        with self._lock:
            rows = self._db.execute("SELECT id, name, created, last_seen FROM learners ORDER BY last_seen DESC").fetchall()
        return [Learner(*row) for row in rows]

    def learner(self, name: str) -> Learner | None:
        """Return the learner called ``name``."""
        with self._lock:
            row = self._db.execute("SELECT id, name, created, last_seen FROM learners WHERE name = ?", (name,)).fetchone()
        return Learner(*row) if row else None

    def create_learner(self, name: str) -> Learner:
        """Create a learner profile.

        Raises:
            StoreError: when the name is empty or taken.
        """
        name = name.strip()
        if not name or len(name) > 80:
            raise StoreError("a learner name is 1 to 80 characters")
        now = utcnow()
        learner = Learner(uuid.uuid4().hex, name, now, now)
        try:
            with self._tx() as db:
                db.execute("INSERT INTO learners VALUES (?, ?, ?, ?)", (learner.id, name, now, now))
        except sqlite3.IntegrityError:
            raise StoreError(f"a learner called {name!r} already exists") from None
        return learner

    def get_or_create_learner(self, name: str) -> Learner:
        """Return the learner called ``name``, creating it when missing."""
        return self.learner(name) or self.create_learner(name)

    def touch_learner(self, learner_id: str) -> None:
        """Record that the learner was active now."""
        with self._tx() as db:
            db.execute("UPDATE learners SET last_seen = ? WHERE id = ?", (utcnow(), learner_id))

    # -- lessons -------------------------------------------------------------------------------

    def open_lesson(self, learner_id: str, lesson: str) -> None:
        """Record that a lesson was opened (keeps the first opening time)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO lesson_progress (learner, lesson, opened) VALUES (?, ?, ?) "
                "ON CONFLICT (learner, lesson) DO NOTHING",
                (learner_id, lesson, utcnow()),
            )
            db.execute("INSERT INTO kv VALUES (?, 'last_lesson', ?) ON CONFLICT (learner, key) DO UPDATE SET value = excluded.value",
                       (learner_id, lesson))

    def complete_lesson(self, learner_id: str, lesson: str, seconds: int = 0) -> None:
        """Mark a lesson complete."""
        now = utcnow()
        with self._tx() as db:
            db.execute(
                "INSERT INTO lesson_progress (learner, lesson, opened, completed, seconds) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (learner, lesson) DO UPDATE SET completed = COALESCE(completed, excluded.completed), "
                "seconds = seconds + excluded.seconds",
                (learner_id, lesson, now, now, max(0, seconds)),
            )

    def completed_lessons(self, learner_id: str) -> set[str]:
        """Return the ids of completed lessons."""
        with self._lock:
            rows = self._db.execute("SELECT lesson FROM lesson_progress WHERE learner = ? AND completed IS NOT NULL",
                                    (learner_id,)).fetchall()
        return {r[0] for r in rows}

    def lesson_seconds(self, learner_id: str) -> int:
        """Return the time spent in lessons, in seconds."""
        with self._lock:
            row = self._db.execute("SELECT COALESCE(SUM(seconds), 0) FROM lesson_progress WHERE learner = ?",
                                   (learner_id,)).fetchone()
        return int(row[0])

    # -- answers -------------------------------------------------------------------------------

    def save_answer(self, learner_id: str, question: str, mode: str, response: Any,
                    fraction: float, correct: bool) -> None:
        """Store an answer."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO answers (learner, question, mode, response, fraction, correct, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (learner_id, question, mode, json.dumps(response), float(fraction), int(correct), utcnow()),
            )

    def answers(self, learner_id: str, question: str | None = None) -> list[Answer]:
        """Return stored answers, oldest first."""
        sql = "SELECT question, mode, response, fraction, correct, at FROM answers WHERE learner = ?"
        args: tuple[Any, ...] = (learner_id,)
        if question is not None:
            sql += " AND question = ?"
            args += (question,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [Answer(q, m, json.loads(r), f, bool(c), at) for q, m, r, f, c, at in rows]

    # -- labs ----------------------------------------------------------------------------------

    def save_lab_attempt(self, attempt: LabAttempt) -> None:
        """Store a graded lab attempt (its config must already be free of secrets)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO lab_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (attempt.id, attempt.learner, attempt.lab, attempt.started, attempt.finished, attempt.score,
                 attempt.max_score, int(attempt.passed), int(attempt.gradable), json.dumps(attempt.result),
                 json.dumps(attempt.record_ids), attempt.hints_used, json.dumps(attempt.config)),
            )

    def lab_attempts(self, learner_id: str, lab: str | None = None) -> list[LabAttempt]:
        """Return lab attempts, oldest first."""
        sql = "SELECT * FROM lab_attempts WHERE learner = ?"
        args: tuple[Any, ...] = (learner_id,)
        if lab is not None:
            sql += " AND lab = ?"
            args += (lab,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY finished", args).fetchall()
        return [
            LabAttempt(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8]), json.loads(r[9]),
                       json.loads(r[10]), r[11], json.loads(r[12]))
            for r in rows
        ]

    def record_hint(self, learner_id: str, lab: str) -> int:
        """Record that the next hint of a lab was shown; return how many have been shown."""
        with self._tx() as db:
            shown = db.execute("SELECT COUNT(*) FROM hints WHERE learner = ? AND lab = ?", (learner_id, lab)).fetchone()[0]
            db.execute("INSERT INTO hints VALUES (?, ?, ?, ?)", (learner_id, lab, shown + 1, utcnow()))
        return int(shown) + 1

    def hints_shown(self, learner_id: str, lab: str) -> int:
        """Return how many hints of a lab have been shown."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM hints WHERE learner = ? AND lab = ?", (learner_id, lab)).fetchone()
        return int(row[0])

    # -- flashcards ----------------------------------------------------------------------------

    def flashcard(self, learner_id: str, question: str) -> tuple[int, str, int] | None:
        """Return (box, due, reviews) of a card, or None when never reviewed."""
        with self._lock:
            row = self._db.execute("SELECT box, due, reviews FROM flashcards WHERE learner = ? AND question = ?",
                                   (learner_id, question)).fetchone()
        return (int(row[0]), str(row[1]), int(row[2])) if row else None

    def flashcards(self, learner_id: str) -> dict[str, tuple[int, str, int]]:
        """Return every reviewed card: question → (box, due, reviews)."""
        with self._lock:
            rows = self._db.execute("SELECT question, box, due, reviews FROM flashcards WHERE learner = ?",
                                    (learner_id,)).fetchall()
        return {q: (int(b), str(d), int(n)) for q, b, d, n in rows}

    def save_flashcard(self, learner_id: str, question: str, box: int, due: str, rating: str) -> None:
        """Store a card's new box and due time after a review."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO flashcards VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (learner, question) DO UPDATE SET "
                "box = excluded.box, due = excluded.due, reviews = reviews + 1, last_rating = excluded.last_rating",
                (learner_id, question, box, due, rating),
            )

    # -- key/value -----------------------------------------------------------------------------

    def get(self, learner_id: str, key: str) -> str | None:
        """Return a stored UI value."""
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE learner = ? AND key = ?", (learner_id, key)).fetchone()
        return str(row[0]) if row else None

    def put(self, learner_id: str, key: str, value: str) -> None:
        """Store a UI value."""
        with self._tx() as db:
            db.execute("INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (learner, key) DO UPDATE SET value = excluded.value",
                       (learner_id, key, value))


def _statements(script: str) -> Sequence[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
