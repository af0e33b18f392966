"""Provides exam results: building and signing one at the end of an attempt, and checking one.

A result file is::

    {"result": PAYLOAD, "signature": Ed25519(attempt key, canonical(PAYLOAD))}

The payload names the candidate, the attempt number and its seed, the bundle (id and hash) and
the assessment (id and content hash), the attempt's public key, the relaylab version, start and
end times, the time used, every item in the order it was given with the answer and when it was
given, each lab item's final capture (session records, trace, audit, tenant state) and the
digests of earlier runs, the history of answers, the clock and pause events, and the head of the
attempt journal's hash chain.

:func:`check_result` is what ``exam verify`` and every grader run first: an altered result is
refused before anything is scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature

from engine import __version__
from engine.errors import ExamError
from engine.exam._codec import b64d, b64e, canonical, canonical_plain, digest, load_json_document
from engine.exam.bundle import Bundle
from engine.exam.crypto import (
    choice_hash,
    fingerprint,
    hashes_equal,
    load_signing_public,
    short_hash,
    sign,
)
from engine.exam.plan import derive_seed, plan_rows
from grading.questions import normalise_answer

if TYPE_CHECKING:
    from engine.exam.attempt import Attempt

__all__ = ["RESULT_FORMAT", "ResultCheck", "SignedResult", "build_result", "check_result", "load_result",
           "provisional_right", "write_result"]

RESULT_FORMAT = "relaylab-exam-result"
RESULT_VERSION = 1
GRACE = 5.0


def provisional_right(bundle: Bundle, item_id: str, response: Any) -> bool | None:
    """Check an answer against the bundle's hashed key (None when the key is sealed or unanswered)."""
    question = bundle.questions.get(item_id)
    if question is None or question.get("sealed") or response is None:
        return None
    kind = question["kind"]
    if kind in ("single", "multiple"):
        chosen = [response] if isinstance(response, int) and not isinstance(response, bool) else response
        if not isinstance(chosen, list) or not all(isinstance(c, int) for c in chosen):
            return False
        if kind == "single" and len(chosen) != 1:
            return False
        return hashes_equal(choice_hash(bundle.salt, item_id, ",".join(map(str, sorted(set(chosen))))),
                            str(question.get("hash", "")))
    if kind == "short" and isinstance(response, str):
        given = normalise_answer(response, bool(question.get("case_sensitive")))
        if not given:
            return False
        mine = short_hash(bundle.salt, item_id, given)
        return any(hashes_equal(mine, str(h)) for h in question.get("hashes", []))
    return None


def build_result(attempt: Attempt) -> dict[str, Any]:
    """Build and sign the result of a submitted attempt."""
    from engine.exam.attempt import iso

    entries = attempt.entries()
    start = entries[0]
    submit = next(e for e in reversed(entries) if e["kind"] == "submit")
    bundle = attempt.bundle
    answer_at: dict[str, Mapping[str, Any]] = {}
    history = []
    for e in entries:
        if e["kind"] == "answer":
            answer_at[e["data"]["item"]] = e
            history.append({"item": e["data"]["item"], "elapsed": e["elapsed"], "at": iso(float(e["wall"]))})
    items = []
    labs: dict[str, Any] = {}
    checked = right = 0
    points = max_points = 0.0
    for planned in attempt.plan.items:
        row: dict[str, Any] = planned.to_json()
        if planned.is_lab:
            runs = attempt.lab_runs(planned.id)
            labs[planned.id] = {"runs": [digest(r) for r in runs], "final": runs[-1] if runs else None}
            row["response"] = None
        else:
            entry = answer_at.get(planned.id)
            row["response"] = entry["data"].get("response") if entry else None
            if entry:
                row["answered_elapsed"] = entry["elapsed"]
                row["answered_at"] = iso(float(entry["wall"]))
            verdict = provisional_right(bundle, planned.id, row["response"])
            question = bundle.questions[planned.id]
            if not question.get("sealed"):
                checked += 1
                max_points += planned.points
                row["provisional_right"] = verdict
                if verdict:
                    right += 1
                    points += planned.points
        items.append(row)
    events = [{"kind": e["kind"], "elapsed": e["elapsed"], "at": iso(float(e["wall"])), "data": e.get("data", {})}
              for e in entries if e["kind"] in ("resume", "pause", "clock", "recovered", "submit")]
    payload = {
        "format": RESULT_FORMAT, "version": RESULT_VERSION, "relaylab": __version__,
        "candidate": attempt.candidate, "attempt": attempt.number, "seed": attempt.seed,
        "bundle": {"id": bundle.id, "hash": bundle.hash, "assessor": bundle.fingerprint},
        "assessment": {k: bundle.assessment[k] for k in ("id", "title", "level", "content_hash",
                                                          "time_limit_minutes", "pass_percent")},
        "attempt_key": b64e(attempt.key.public_key().public_bytes_raw()),
        "started": iso(float(start["wall"])), "finished": iso(float(submit["wall"])),
        "elapsed_seconds": submit["elapsed"], "timed_out": bool(submit["data"].get("timed_out")),
        "items": items, "labs": labs, "history": history, "events": events,
        "journal": {"entries": len(entries), "head": attempt.journal.head,
                    "ticks": sum(1 for e in entries if e["kind"] == "tick")},
        "provisional": {"checked": checked, "right": right, "points": points, "max_points": max_points,
                        "note": "checked on the candidate's machine against hashed keys; the assessor's grading "
                                "replaces it"},
    }
    return {"result": payload, "signature": sign(attempt.key, payload)}


def write_result(document: Mapping[str, Any], path: Path) -> Path:
    """Write a result document (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class SignedResult:
    """A result whose signature has been checked."""

    payload: dict[str, Any]
    signature: str
    path: Path | None = None
    known_digest: str | None = None
    """The digest, kept when the payload was trimmed after grading."""

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the whole signed document (what reviews and credentials refer to)."""
        return self.known_digest or digest({"result": self.payload, "signature": self.signature})

    def trimmed(self) -> SignedResult:
        """A copy without answers and lab captures (for holding many graded results in memory)."""
        keep = ("candidate", "attempt", "seed", "bundle", "assessment", "attempt_key", "started", "finished",
                "elapsed_seconds", "timed_out", "relaylab")
        return SignedResult({k: self.payload[k] for k in keep if k in self.payload}, self.signature, self.path,
                            self.digest)

    @property
    def candidate(self) -> str:
        """The candidate's name."""
        return str(self.payload["candidate"])

    @property
    def bundle_id(self) -> str:
        """The bundle it was taken with."""
        return str(self.payload["bundle"]["id"])

    @property
    def bundle_hash(self) -> str:
        """That bundle's hash."""
        return str(self.payload["bundle"]["hash"])

    @property
    def attempt_code(self) -> str:
        """Fingerprint of the attempt key that signed it."""
        return fingerprint(load_signing_public(self.payload["attempt_key"], "attempt key"))

    def to_json(self) -> dict[str, Any]:
        """The file's document."""
        return {"result": self.payload, "signature": self.signature}


_REQUIRED: dict[str, type | tuple[type, ...]] = {"candidate": str, "attempt": int, "seed": str, "bundle": dict, "assessment": dict, "attempt_key": str,
             "started": str, "finished": str, "elapsed_seconds": (int, float), "items": list, "labs": dict}


def result_from_json(data: Any, shown: str = "result", *, plain: bool = False) -> SignedResult:
    """Check a result document's shape and signature.

    Args:
        data: the document.
        shown: how messages name it.
        plain: the document is plain data from :func:`engine.exam._codec.load_json_document`
            (its canonical bytes are then encoded by the faster :func:`~engine.exam._codec.canonical_plain`).

    Raises:
        ExamError: when it is not a result, or was altered after it was signed.
    """
    if not isinstance(data, dict) or not isinstance(data.get("result"), dict):
        raise ExamError(f"{shown}: not a relaylab exam result")
    payload = data["result"]
    if payload.get("format") != RESULT_FORMAT:
        raise ExamError(f"{shown}: not a relaylab exam result")
    if payload.get("version") != RESULT_VERSION:
        raise ExamError(f"{shown}: result format version {payload.get('version')!r} is not supported by this relaylab")
    for key, kind in _REQUIRED.items():
        if not isinstance(payload.get(key), kind) or isinstance(payload.get(key), bool):
            raise ExamError(f"{shown}: the result is damaged ({key!r} is missing or has the wrong type)")
    public = load_signing_public(payload["attempt_key"], f"{shown}: the attempt key")
    signed = canonical_plain(payload) if plain else canonical(payload)
    try:
        public.verify(b64d(data.get("signature"), f"{shown}: the signature"), signed)
    except (InvalidSignature, ExamError):
        raise ExamError(f"{shown}: the result was altered after it was signed (the signature does not match); "
                        "it will not be graded") from None
    signature = str(data["signature"])
    # canonical({"result": p, "signature": s}) without encoding the payload a second time
    whole = b'{"result":' + signed + b',"signature":' + canonical(signature) + b"}"
    return SignedResult(payload, signature, known_digest=hashlib.sha256(whole).hexdigest())


def load_result(path: Path) -> SignedResult:
    """Read a result file and check its signature (see :func:`result_from_json`)."""
    data, plain = load_json_document(path, "exam result")
    result = result_from_json(data, str(path), plain=plain)
    return SignedResult(result.payload, result.signature, path, result.digest)


@dataclass
class ResultCheck:
    """What checking a result against its bundle found."""

    problems: list[str] = field(default_factory=list)
    """Reasons to refuse the result."""
    warnings: list[str] = field(default_factory=list)
    """Things the assessor should look at (clock anomalies, pauses, another relaylab version)."""

    @property
    def ok(self) -> bool:
        """No problem."""
        return not self.problems


def check_result(result: SignedResult, bundle: Bundle | None, *, attempt_code: str | None = None) -> ResultCheck:
    """Check a signed result's binding to its bundle, its plan, its timing and its lab captures.

    Args:
        result: a result whose signature was already checked.
        bundle: the bundle it names (None: only the checks that need no bundle).
        attempt_code: the code the candidate reported when the attempt started, if any.
    """
    out = ResultCheck()
    p = result.payload
    if attempt_code is not None and attempt_code.strip().lower() != result.attempt_code:
        out.problems.append(f"the result was signed by attempt key {result.attempt_code}, not by the key "
                            f"{attempt_code.strip()} the candidate reported when the attempt started")
    limit = float(p["assessment"].get("time_limit_minutes", 0)) * 60
    if bundle is not None:
        if bundle.id != result.bundle_id or bundle.hash != result.bundle_hash:
            out.problems.append(f"the result was taken with bundle {result.bundle_id[:12]}…, not with this bundle "
                                f"({bundle.id[:12]}…)")
            return out
        if p["assessment"].get("content_hash") != bundle.assessment["content_hash"]:
            out.problems.append("the result names other assessment content than its bundle")
        limit = bundle.time_limit_seconds
        if p["seed"] != derive_seed(bundle.id, result.candidate, int(p["attempt"])):
            out.problems.append("the seed is not the one this bundle gives this candidate and attempt: the items "
                                "were not drawn by relaylab")
        else:
            plan = [(i, kind, s, points, list(order)) for i, kind, s, points, order in plan_rows(bundle.payload, p["seed"])]
            given = [(row.get("id"), row.get("kind"), row.get("section"), row.get("points"), row.get("order"))
                     for row in p["items"]]
            if given != plan:
                out.problems.append("the items are not the ones (or not in the order) this candidate was given")
        allowed = int(bundle.assessment.get("attempts_allowed", 1))
        if int(p["attempt"]) > allowed:
            out.problems.append(f"attempt {p['attempt']} of an exam that allows {allowed}")
        if p.get("relaylab") != __version__:
            out.warnings.append(f"taken with relaylab {p.get('relaylab')}; this is {__version__}")
    elapsed = float(p["elapsed_seconds"])
    if elapsed > limit + GRACE:
        out.problems.append(f"the time used ({elapsed / 60:.1f} min) is over the limit ({limit / 60:.0f} min)")
    last = -1.0
    for h in p.get("history", []):
        t = float(h.get("elapsed", 0))
        if t + 1e-6 < last:
            out.problems.append("the answer history goes back in time")
            break
        last = t
        if t > limit + GRACE:
            out.problems.append(f"an answer to {h.get('item')} was given after the time limit")
            break
    if p["started"] > p["finished"]:
        out.warnings.append("the attempt finished before it started by the candidate's wall clock")
    for event in p.get("events", []):
        data = event.get("data", {})
        if event.get("kind") == "clock":
            out.warnings.append(f"clock anomaly at {float(event.get('elapsed', 0)) / 60:.1f} min: {data.get('note')}")
        elif event.get("kind") == "recovered":
            out.warnings.append("the attempt journal was recovered after a crash (a half-written line was dropped)")
        elif event.get("kind") == "resume" and float(data.get("away", 0)) > 0:
            what = "counted" if data.get("counted") else "paused, not counted"
            out.warnings.append(f"closed and reopened at {float(event.get('elapsed', 0)) / 60:.1f} min, "
                                f"{float(data.get('away', 0)) / 60:.1f} min away ({what})")
    for item_id, lab in p["labs"].items():
        runs, final = lab.get("runs", []), lab.get("final")
        if final is not None and not runs:
            out.problems.append(f"{item_id}: a final capture without any recorded run")
        if isinstance(final, dict):
            run_id = final.get("run_id")
            if any(isinstance(r, dict) and r.get("run_id") != run_id for r in final.get("records", [])):
                out.problems.append(f"{item_id}: session records from another tenant run were mixed in")
    return out
