"""Provides synthetic exam results: many signed results for one bundle, answered by simulated
candidates of varying ability. The benchmark and the tests use them, and an assessor can use them
to see what a report looks like before real candidates take an exam.

Each result is built exactly as a real one is (the seed the bundle gives the candidate, the plan,
an attempt key), so it passes every check; answers come from the sealed keys, right with a
probability that grows with the candidate's ability and falls with the item's difficulty.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine import __version__
from engine.exam._codec import b64e, digest
from engine.exam.attempt import iso
from engine.exam.bundle import Bundle
from engine.exam.crypto import sign
from engine.exam.plan import derive_seed, plan_attempt
from engine.exam.result import RESULT_FORMAT, RESULT_VERSION
from engine.loader import CourseTree
from engine.models.assessment import Assessment

__all__ = ["synthetic_assessment", "synthetic_results"]


def synthetic_assessment(tree: CourseTree, items: int = 60, *, lab: str | None = None, written: int = 2,
                         assessment_id: str = "synthetic-exam") -> Assessment:
    """Add (and return) an assessment of ``items`` items from the whole bank: half fixed, half drawn,
    ``written`` of them free-text answers, and a lab when one is named (a lab counts as one item)."""
    objective = items - written - (1 if lab else 0)
    fixed = sorted(q.id for q in tree.questions.values() if q.kind != "free")[: objective // 2]
    sections: list[dict[str, Any]] = [
        {"title": "Fixed items", "fixed": fixed},
        {"title": "Drawn items", "pools": [{"draw": objective - len(fixed),
                                            "kinds": ["single", "multiple", "order", "match", "short"]}]},
    ]
    if written:
        sections.append({"title": "Written answers", "pools": [{"draw": written, "kinds": ["free"], "points": 3}]})
    if lab:
        sections.append({"title": "Lab", "labs": [lab], "lab_points": 10})
    assessment = Assessment.model_validate({
        "id": assessment_id, "title": "Synthetic exam", "level": "L2", "instructions": "Synthetic.",
        "time_limit_minutes": 60, "pass_percent": 60, "sections": sections})
    tree.assessments[assessment.id] = assessment
    return assessment


def _answer(rng: random.Random, kind: str, key: Mapping[str, Any], right: bool, size: int) -> Any:
    if kind in ("single", "multiple"):
        correct = list(key["correct"])
        if right:
            return correct[0] if kind == "single" else correct
        wrong = [i for i in range(size) if i not in correct]
        return (wrong[0] if wrong else 0) if kind == "single" else sorted(set(correct[:-1] + wrong[:1]))
    if kind == "order":
        order = list(key["order"])
        return order if right else order[1:] + order[:1]
    if kind == "match":
        pairs = list(key["pairs"])
        return pairs if right else pairs[1:] + pairs[:1]
    if kind == "short":
        accepted = list(key.get("accepted") or [])
        return (accepted[0] if accepted else key.get("model_answer", "")) if right else "not sure"
    return str(key.get("model_answer", "")) if right else "I would check the logs <b>first</b> & ask."


def synthetic_results(bundle: Bundle, sealed: Mapping[str, Any], count: int, *, seed: int = 7,
                      lab_capture: Mapping[str, Any] | None = None,
                      miskeyed: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``count`` signed result documents for ``bundle``.

    Args:
        bundle: the bundle.
        sealed: its sealed part in the clear (answers come from the keys).
        count: how many candidates.
        seed: makes the candidates and their answers reproducible.
        lab_capture: a lab capture every candidate's lab items get (none when None).
        miskeyed: an item the weaker candidates get right and the stronger ones wrong.
    """
    rng = random.Random(seed)
    difficulty = {qid: rng.gauss(0, 1) for qid in bundle.questions}
    limit = bundle.time_limit_seconds
    start = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    key = Ed25519PrivateKey.generate()
    for n in range(count):
        candidate = f"Candidate {n + 1:04d}"
        ability = rng.gauss(0.3, 1.1)
        seed_hex = derive_seed(bundle.id, candidate, 1)
        plan = plan_attempt(bundle.payload, seed_hex)
        began = start + n * 3600
        elapsed = rng.uniform(0.3, 0.98) * limit
        items, history, labs = [], [], {}
        for k, item in enumerate(plan.items):
            row: dict[str, Any] = item.to_json()
            when = elapsed * (k + 1) / (len(plan.items) + 1)
            if item.is_lab:
                runs = [dict(lab_capture)] if lab_capture is not None else []
                labs[item.id] = {"runs": [digest(r) for r in runs], "final": runs[-1] if runs else None}
                row["response"] = None
            else:
                question = bundle.questions[item.id]
                right = rng.random() < 1 / (1 + math.exp(-(ability - difficulty[item.id]) * 1.7))
                if item.id == miskeyed:
                    right = ability < 0.3
                size = len(question.get("options") or [])
                row["response"] = _answer(rng, item.kind, sealed["questions"][item.id], right, size)
                row["answered_elapsed"] = round(when, 3)
                row["answered_at"] = iso(began + when)
                history.append({"item": item.id, "elapsed": round(when, 3), "at": iso(began + when)})
            items.append(row)
        payload = {
            "format": RESULT_FORMAT, "version": RESULT_VERSION, "relaylab": __version__, "candidate": candidate,
            "attempt": 1, "seed": seed_hex,
            "bundle": {"id": bundle.id, "hash": bundle.hash, "assessor": bundle.fingerprint},
            "assessment": {k: bundle.assessment[k] for k in ("id", "title", "level", "content_hash",
                                                              "time_limit_minutes", "pass_percent")},
            "attempt_key": b64e(key.public_key().public_bytes_raw()),
            "started": iso(began), "finished": iso(began + elapsed), "elapsed_seconds": round(elapsed, 3),
            "timed_out": False, "items": items, "labs": labs, "history": history, "events": [],
            "journal": {"entries": len(history) + 2, "head": secrets.token_hex(32), "ticks": 0},
            "provisional": {"checked": 0, "right": 0, "points": 0.0, "max_points": 0.0, "note": "synthetic"},
        }
        yield {"result": payload, "signature": sign(key, payload)}
