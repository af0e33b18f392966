"""Provides a candidate's attempt: the append-only journal, the lock, the clock and the answers.

Every answer, lab run, pause and clock anomaly is one line of ``journal.jsonl`` in
``<RELAYLAB_HOME>/exams/<bundle+candidate>/attempt-<n>/``, written with ``fsync`` before the call
returns; each line carries the SHA-256 of the line before it (a hash chain) and is signed with the
attempt's key, so an edited line is noticed (by anyone who does not also re-sign it). A
crash, a kill or a closed terminal loses nothing already answered: a torn last line is dropped
when the attempt is opened again, and the attempt resumes.

Time. The time used is counted from the ``start`` line. While relaylab runs it follows a
monotonic clock (a change of the wall clock is logged and changes nothing); between runs it
follows the boot-time clock when the machine has not restarted
(Linux ``CLOCK_BOOTTIME`` and boot id), so setting the wall clock back gains nothing. Across a
restart only the wall clock is left: a wall clock that went backwards is logged as an anomaly
(the time away is then unknown and counted as zero), and the assessor sees it in the result. When
the assessment allows pauses, time away from an open attempt is logged as a pause and does not
count; otherwise it counts.

Only one ``exam take`` may hold an attempt at a time (an exclusive ``flock`` on its folder).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine import __version__
from engine.errors import ExamError
from engine.exam._codec import b64e, canonical, digest, write_private
from engine.exam.bundle import Bundle
from engine.exam.crypto import fingerprint, sign, verify
from engine.exam.plan import Plan, derive_seed, normalise_candidate, plan_attempt
from engine.paths import data_home

__all__ = ["Attempt", "ExamClock", "Journal", "exams_home"]

GRACE_SECONDS = 5.0
"""Answers logged this long after the limit still count (the time it takes to save them)."""
CLOCK_SLACK = 60.0
"""A wall-clock change larger than this between two lines is logged as a clock anomaly."""


def exams_home() -> Path:
    """The folder of this machine's attempts."""
    path = data_home() / "exams"
    path.mkdir(parents=True, exist_ok=True)
    return path


def iso(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExamClock:
    """The three clocks an attempt reads (a test passes a fake one)."""

    def wall(self) -> float:
        """Wall-clock time (epoch seconds)."""
        return time.time()

    def mono(self) -> float:
        """A clock that never goes back: boot time on Linux (counts suspend), else monotonic."""
        boottime = getattr(time, "CLOCK_BOOTTIME", None)
        if boottime is not None:
            try:
                return time.clock_gettime(boottime)
            except OSError:
                pass
        return time.monotonic()

    def boot_id(self) -> str | None:
        """An id of the current boot (None where the platform has none): ``mono`` is comparable within it."""
        try:
            return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
        except OSError:
            return None


# -- journal -----------------------------------------------------------------------------------------


class Journal:
    """An append-only, fsynced, hash-chained JSON-lines file; each line is signed with the attempt key.

    Args:
        path: the file.
        genesis: what the first line's ``prev`` is.
        key: the attempt's key (lines are signed with it and checked against it).
    """

    def __init__(self, path: Path, genesis: str, key: Ed25519PrivateKey) -> None:
        self.path = path
        self.genesis = genesis
        self.key = key
        self.entries: list[dict[str, Any]] = []
        self.head = genesis
        self.recovered = False
        """A torn last line was dropped when the journal was opened."""
        self._lock = threading.Lock()
        self._read()
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - held for the attempt's lifetime

    def _read(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete, _, torn = data.rpartition(b"\n")
        if torn:
            self.recovered = True
            with open(self.path, "r+b") as f:
                f.truncate(len(complete) + (1 if complete else 0))
                f.flush()
                os.fsync(f.fileno())
        for number, line in enumerate(complete.split(b"\n") if complete else [], start=1):
            try:
                entry = _json_line(line)
            except ValueError:
                raise ExamError(f"{self.path}: line {number} of the attempt journal is damaged") from None
            body = {k: v for k, v in entry.items() if k != "sig"}
            if entry.get("prev") != self.head or entry.get("n") != number \
                    or not verify(self.key.public_key(), body, entry.get("sig")):
                raise ExamError(f"{self.path}: the attempt journal was edited (line {number} does not match its "
                                "signature or does not follow the line before it)")
            self.head = hashlib.sha256(line).hexdigest()
            self.entries.append(entry)

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry (``n`` and ``prev`` are added); it is on disk when this returns."""
        with self._lock:
            full = {**entry, "n": len(self.entries) + 1, "prev": self.head}
            full["sig"] = sign(self.key, full)
            line = canonical(full)
            self._file.write(line + b"\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self.head = hashlib.sha256(line).hexdigest()
            self.entries.append(full)
            return full

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


def _json_line(line: bytes) -> dict[str, Any]:
    import json

    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


# -- lock --------------------------------------------------------------------------------------------


class _Lock:
    """An exclusive lock on an attempt folder, held while the process runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl

            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "another process"
                os.close(self._fd)
                raise ExamError(f"this exam attempt is already open in another relaylab ({holder}); "
                                "finish or close that one first") from None
        except ImportError:  # pragma: no cover - Windows
            import msvcrt

            try:
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            except OSError:
                os.close(self._fd)
                raise ExamError("this exam attempt is already open in another relaylab; "
                                "finish or close that one first") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()}".encode(), 0)

    def release(self) -> None:
        """Release the lock."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# -- attempt -----------------------------------------------------------------------------------------


@dataclass
class Answer:
    """The latest answer to an item."""

    response: Any
    elapsed: float
    wall: float


@dataclass
class _Replay:
    answers: dict[str, Answer] = field(default_factory=dict)
    lab_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    submitted: dict[str, Any] | None = None
    anomalies: list[dict[str, Any]] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise_candidate(text)).strip("-")[:40] or "candidate"


class Attempt:
    """One candidate's attempt at one bundle, on this machine.

    Use :meth:`open`; then :meth:`start` (when :attr:`started` is False), answer, run labs, and
    :meth:`submit`. Always :meth:`close` (or use ``with``) to release the lock.
    """

    def __init__(self, bundle: Bundle, candidate: str, number: int, folder: Path, lock: _Lock,
                 clock: ExamClock) -> None:
        self.bundle = bundle
        self.candidate = re.sub(r"\s+", " ", candidate).strip()
        self.number = number
        self.folder = folder
        self.clock = clock
        self._lock = lock
        self.seed = derive_seed(bundle.id, self.candidate, number)
        self.plan: Plan = plan_attempt(bundle.payload, self.seed)
        self.limit = bundle.time_limit_seconds
        self.pauses_allowed = bool(bundle.assessment.get("pauses_allowed"))
        folder.mkdir(parents=True, exist_ok=True)
        genesis = hashlib.sha256(f"relaylab-journal-v1:{bundle.hash}:{self.seed}".encode()).hexdigest()
        self.key = self._key()
        self.journal = Journal(folder / "journal.jsonl", genesis, self.key)
        self._base_elapsed = 0.0
        self._base_mono = clock.mono()
        self._replay = _Replay()
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()
        self.resumed = bool(self.journal.entries)
        """The attempt was open before this run."""
        self.away_seconds = 0.0
        """Time since the last journal line when this run opened it."""
        for entry in self.journal.entries:
            self._apply(entry)
        if self.journal.entries and self._replay.submitted is None:
            self._reopen()
        if self.journal.recovered and self.journal.entries:
            self._log("recovered", note="a half-written journal line was dropped")

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, bundle: Bundle, candidate: str, *, new_attempt: bool = False, clock: ExamClock | None = None,
             home: Path | None = None) -> Attempt:
        """Open a candidate's current attempt (resuming it), or prepare the next one.

        Raises:
            ExamError: when the name is empty, another process holds the attempt, or no attempt is left.
        """
        if not normalise_candidate(candidate):
            raise ExamError("the candidate's name is empty")
        key = hashlib.sha256(f"{bundle.id}\x00{normalise_candidate(candidate)}".encode()).hexdigest()[:16]
        base = (home or exams_home()) / f"{bundle.assessment['id']}-{_slug(candidate)}-{key}"
        base.mkdir(parents=True, exist_ok=True)
        lock = _Lock(base / "lock")
        try:
            numbers = sorted(int(p.name.split("-")[1]) for p in base.glob("attempt-*") if p.name.split("-")[1].isdigit()
                             and (p / "journal.jsonl").exists())
            number = numbers[-1] if numbers else 1
            folder = base / f"attempt-{number}"
            attempt = cls(bundle, candidate, number, folder, lock, clock or ExamClock())
            if attempt.submitted and new_attempt:
                allowed = int(bundle.assessment.get("attempts_allowed", 1))
                if number >= allowed:
                    raise ExamError(f"{attempt.candidate} has used all {allowed} attempt{'s' if allowed > 1 else ''} "
                                    "of this exam")
                attempt.journal.close()
                attempt = cls(bundle, candidate, number + 1, base / f"attempt-{number + 1}", lock,
                              clock or ExamClock())
            return attempt
        except BaseException:
            lock.release()
            raise

    def _key(self) -> Ed25519PrivateKey:
        path = self.folder / "attempt.key"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ExamError(f"{path}: not an Ed25519 key")
            return key
        key = Ed25519PrivateKey.generate()
        write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        return key

    @property
    def attempt_code(self) -> str:
        """Fingerprint of this attempt's signing key (the candidate may send it to the assessor at once)."""
        return fingerprint(self.key.public_key())

    @property
    def started(self) -> bool:
        """The timer has started."""
        return bool(self.journal.entries)

    @property
    def submitted(self) -> bool:
        """The attempt was handed in (or timed out)."""
        return self._replay.submitted is not None

    @property
    def result_path(self) -> Path:
        """Where the signed result is kept."""
        return self.folder / "result.json"

    def start(self) -> None:
        """Start the timer (after the candidate has read the instructions)."""
        if self.started:
            return
        now, mono = self.clock.wall(), self.clock.mono()
        self._base_elapsed, self._base_mono = 0.0, mono
        self.journal.append({
            "kind": "start", "wall": now, "mono": mono, "boot": self.clock.boot_id(), "elapsed": 0.0,
            "data": {"bundle": self.bundle.id, "bundle_hash": self.bundle.hash, "candidate": self.candidate,
                     "attempt": self.number, "seed": self.seed, "relaylab": __version__,
                     "attempt_key": b64e(self.key.public_key().public_bytes_raw()),
                     "plan": digest([i.to_json() for i in self.plan.items])},
        })

    def _reopen(self) -> None:
        last = self.journal.entries[-1]
        now, mono, boot = self.clock.wall(), self.clock.mono(), self.clock.boot_id()
        wall_delta = now - float(last["wall"])
        if boot is not None and boot == last.get("boot"):
            away = max(0.0, mono - float(last["mono"]))
            if abs(wall_delta - away) > CLOCK_SLACK:
                self._log_raw("clock", float(last["elapsed"]), now, mono, boot,
                              {"note": "the wall clock changed while the attempt was closed; the boot clock was used",
                               "wall_delta": round(wall_delta, 3), "boot_delta": round(away, 3)})
        elif wall_delta < 0:
            away = 0.0
            self._log_raw("clock", float(last["elapsed"]), now, mono, boot,
                          {"note": "the wall clock is earlier than the last journal line after a restart; "
                                   "the time away is unknown and was not counted",
                           "wall_delta": round(wall_delta, 3), "backwards": True})
        else:
            away = wall_delta
        self.away_seconds = away
        base = float(last["elapsed"]) + (0.0 if self.pauses_allowed else away)
        self._base_elapsed, self._base_mono = base, mono
        self._log("resume", away=round(away, 3), counted=not self.pauses_allowed)

    # -- time ------------------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Exam time used so far, in seconds."""
        if not self.started:
            return 0.0
        if self._replay.submitted is not None:
            return float(self._replay.submitted["elapsed"])
        return self._base_elapsed + max(0.0, self.clock.mono() - self._base_mono)

    def remaining(self) -> float:
        """Exam time left, in seconds (never negative)."""
        return max(0.0, self.limit - self.elapsed())

    @property
    def time_up(self) -> bool:
        """No time is left."""
        return self.started and self.elapsed() >= self.limit

    # -- journal entries -------------------------------------------------------------------------

    def _log_raw(self, kind: str, elapsed: float, wall: float, mono: float, boot: str | None,
                 data: dict[str, Any]) -> dict[str, Any]:
        last = self.journal.entries[-1] if self.journal.entries else None
        if last is not None and kind not in ("clock", "resume") and boot is not None and boot == last.get("boot"):
            drift = (wall - float(last["wall"])) - (mono - float(last["mono"]))
            if abs(drift) > CLOCK_SLACK:  # the wall clock was changed while the exam was open
                self._apply(self.journal.append({
                    "kind": "clock", "wall": wall, "mono": mono, "boot": boot, "elapsed": round(elapsed, 3),
                    "data": {"note": "the wall clock was changed during the exam; the time used follows the "
                                     "monotonic clock", "wall_delta": round(wall - float(last["wall"]), 3),
                             "boot_delta": round(mono - float(last["mono"]), 3)}}))
        entry = self.journal.append({"kind": kind, "wall": wall, "mono": mono, "boot": boot,
                                     "elapsed": round(elapsed, 3), "data": data})
        self._apply(entry)
        return entry

    def _log(self, kind: str, **data: Any) -> dict[str, Any]:
        return self._log_raw(kind, self.elapsed(), self.clock.wall(), self.clock.mono(), self.clock.boot_id(), data)

    def _apply(self, entry: dict[str, Any]) -> None:
        kind, data = entry.get("kind"), entry.get("data") or {}
        if kind == "answer":
            self._replay.answers[data["item"]] = Answer(data.get("response"), float(entry["elapsed"]),
                                                        float(entry["wall"]))
        elif kind == "lab":
            self._replay.lab_runs.setdefault(data["item"], []).append(data["capture"])
        elif kind == "submit":
            self._replay.submitted = entry
        elif kind in ("clock", "recovered"):
            self._replay.anomalies.append(entry)

    def _writable(self) -> None:
        if self.submitted:
            raise ExamError("this attempt has been handed in; nothing can be changed")
        if not self.started:
            raise ExamError("the attempt has not started")
        if self.elapsed() > self.limit + GRACE_SECONDS:
            raise ExamError("time is up: this answer was not saved")

    def answer(self, item_id: str, response: Any) -> None:
        """Save an answer (None clears it).

        Raises:
            ExamError: when the item is not in this attempt, the attempt is closed, or time is up.
        """
        self._writable()
        try:
            self.plan.item(item_id)
        except KeyError:
            raise ExamError(f"{item_id!r} is not an item of this attempt") from None
        self._log("answer", item=item_id, response=response)

    def record_lab(self, item_id: str, capture: dict[str, Any]) -> None:
        """Save what one run of a lab item captured."""
        self._writable()
        self._log("lab", item=item_id, capture=capture)

    def pause(self) -> None:
        """Log a pause before the candidate closes the attempt (only when the assessment allows pauses).

        Raises:
            ExamError: when pauses are not allowed.
        """
        if not self.pauses_allowed:
            raise ExamError("this exam does not allow pauses: the clock keeps running while you are away")
        self._writable()
        self._log("pause")

    def heartbeat(self, interval: float = 30.0) -> None:
        """Log a line every ``interval`` seconds while the attempt is open (bounds unlogged time)."""
        if self._heartbeat is not None:
            return

        def beat() -> None:
            while not self._stop.wait(interval):
                if self.submitted or self.time_up:
                    return
                try:
                    self._log("tick")
                except (OSError, ValueError, ExamError):
                    return

        self._heartbeat = threading.Thread(target=beat, name="exam-heartbeat", daemon=True)
        self._heartbeat.start()

    # -- reading -----------------------------------------------------------------------------------

    def answers(self) -> dict[str, Any]:
        """Item id → latest response."""
        return {k: v.response for k, v in self._replay.answers.items()}

    def answer_of(self, item_id: str) -> Any:
        """The latest response to an item (None when unanswered)."""
        found = self._replay.answers.get(item_id)
        return found.response if found else None

    def lab_runs(self, item_id: str) -> list[dict[str, Any]]:
        """Every run of a lab item, oldest first."""
        return list(self._replay.lab_runs.get(item_id, []))

    def answered(self, item_id: str) -> bool:
        """The item has an answer (a lab: at least one run)."""
        item = self.plan.item(item_id)
        if item.is_lab:
            return bool(self._replay.lab_runs.get(item_id))
        return self.answer_of(item_id) is not None

    def next_open_index(self) -> int:
        """Index of the first item without an answer (0 when all have one)."""
        for i, item in enumerate(self.plan.items):
            if not self.answered(item.id):
                return i
        return 0

    @property
    def anomalies(self) -> list[dict[str, Any]]:
        """Clock anomalies and journal recoveries."""
        return list(self._replay.anomalies)

    # -- submitting --------------------------------------------------------------------------------

    def submit(self, reason: str = "submitted") -> dict[str, Any]:
        """Hand the attempt in and write the signed result (idempotent).

        Returns:
            The signed result document.
        """
        from engine.exam.result import build_result, write_result

        if not self.started:
            raise ExamError("the attempt has not started")
        self._stop.set()
        if self._replay.submitted is None:
            elapsed = self.elapsed()
            if elapsed >= self.limit:
                reason, elapsed = "time-up", self.limit
            self._log_raw("submit", elapsed, self.clock.wall(), self.clock.mono(), self.clock.boot_id(),
                          {"reason": reason, "timed_out": reason == "time-up"})
        document = build_result(self)
        write_result(document, self.result_path)
        return document

    def entries(self) -> list[dict[str, Any]]:
        """The journal lines."""
        return list(self.journal.entries)

    def close(self) -> None:
        """Stop the heartbeat, close the journal and release the lock."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=2)
        self.journal.close()
        self._lock.release()

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on_time_up(self, callback: Callable[[], None]) -> None:  # pragma: no cover - convenience for UIs
        """Call ``callback`` once the time is up (checked every second in a thread)."""

        def watch() -> None:
            while not self._stop.wait(1.0):
                if self.time_up:
                    callback()
                    return

        threading.Thread(target=watch, name="exam-timer", daemon=True).start()
