"""Provides the assessor's side of grading: every item of a result scored against the sealed keys,
labs graded from their captures, free-text scores overridden with a note, and the signed review.

Grading starts with :func:`engine.exam.result.check_result`; a result with a problem is never
scored. A review file records the assessor's overrides (each with its note, the automatic score
it replaced and when) and the final total, signed with the assessor's Ed25519 key::

    {"review": PAYLOAD, "signature": Ed25519(assessor signing key, canonical(PAYLOAD))}

Reviews are kept next to the result (``<name>.review.json``) and in
``<RELAYLAB_HOME>/assessor/reviews/<result digest>.json``, where reports and certificates find them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ExamError, UsageError
from engine.exam._codec import read_json_document
from engine.exam.bundle import Bundle
from engine.exam.crypto import sign, verify
from engine.exam.keys import AssessorKeys, assessor_home
from engine.exam.labitem import LabCapture, exam_rubric, grade_capture
from engine.exam.result import ResultCheck, SignedResult, check_result
from engine.store import utcnow
from grading import Result
from grading.assessment import (
    ExamScore,
    ItemScore,
    answer_points,
    full_marks,
    key_points_score,
    lab_item_points,
    score_response,
    total,
)
from grading.questions import AnswerScore

__all__ = ["REVIEW_FORMAT", "GradedResult", "Override", "Review", "find_review", "grade_result",
           "load_review", "make_review", "review_from_json", "write_review"]

REVIEW_FORMAT = "relaylab-exam-review"


@dataclass(frozen=True)
class Override:
    """An assessor's score for a free-text answer."""

    item: str
    points: float
    note: str
    auto: float
    """The automatic (key-point) score it replaced."""
    at: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"item": self.item, "points": self.points, "note": self.note, "auto": self.auto, "at": self.at}


@dataclass(frozen=True)
class ItemDetail:
    """What the assessor sees about one item."""

    prompt: str
    response: Any
    shown: str
    """The response in words."""
    detail: str = ""
    model_answer: str = ""
    key_points: tuple[tuple[str, bool], ...] = ()
    lab: Result | None = None


@dataclass
class GradedResult:
    """A result, scored."""

    result: SignedResult
    bundle: Bundle
    check: ResultCheck
    score: ExamScore
    details: dict[str, ItemDetail] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()
    reviewed: bool = False

    @property
    def candidate(self) -> str:
        """The candidate."""
        return self.result.candidate

    @property
    def section_titles(self) -> list[str]:
        """Section titles by index."""
        return [s["title"] for s in self.bundle.sections]


def _shown(question: Mapping[str, Any], response: Any) -> str:
    if response is None:
        return "(no answer)"
    kind = question["kind"]
    try:
        if kind == "single":
            return str(question["options"][response])
        if kind == "multiple":
            return "; ".join(str(question["options"][i]) for i in response)
        if kind == "order":
            return " → ".join(str(question["items"][i]) for i in response)
        if kind == "match":
            return "; ".join(f"{left} → {question['rights'][r] if isinstance(r, int) else '?'}"
                             for left, r in zip(question["lefts"], response, strict=False))
    except (IndexError, KeyError, TypeError):
        return f"(unreadable answer: {json.dumps(response)[:200]})"
    return str(response)


_ITEMS: dict[tuple[str, str, str, Any, Any, str], ItemScore] = {}
"""(bundle, item, kind, section, points, answer) → the item's score, for answers scored like short ones."""


def grade_result(result: SignedResult, bundle: Bundle, sealed: Mapping[str, Any],
                 overrides: Sequence[Override] = (), *, check: ResultCheck | None = None,
                 with_details: bool | Collection[str] = True, reviewed: bool | None = None) -> GradedResult:
    """Score every item of a checked result.

    Args:
        result: a result whose signature was checked.
        bundle: its bundle.
        sealed: the bundle's sealed part, in the clear.
        overrides: the assessor's free-text scores (the last one per item applies).
        check: the result check already made (made here otherwise).
        with_details: keep prompts, answers and key points for display: of every item (True), of
            none (False), or of the items of these kinds (e.g. ``{"free", "lab"}``).
        reviewed: whether an assessor has reviewed it (default: when there are overrides).

    Raises:
        ExamError: when the result has a problem (it is never scored).
    """
    check = check or check_result(result, bundle)
    if not check.ok:
        raise ExamError(f"{result.path or 'result'}: not graded: {check.problems[0]}")
    every = with_details is True
    kinds = frozenset() if isinstance(with_details, bool) else frozenset(with_details)
    keys = sealed["questions"]
    questions = bundle.questions
    bundle_hash = bundle.hash
    latest = {o.item: o for o in overrides}
    items: list[ItemScore] = []
    details: dict[str, ItemDetail] = {}
    for row in result.payload["items"]:
        item_id, kind, points = row["id"], row["kind"], float(row["points"])
        section = int(row["section"])
        if kind == "lab":
            lab_id = item_id.removeprefix("lab:")
            public = bundle.labs[lab_id]
            final = result.payload["labs"].get(item_id, {}).get("final")
            if final is None:
                lab_result = Result.not_gradable("the lab was not attempted")
            else:
                rubric = exam_rubric(public, result.payload["seed"], sealed["labs"][lab_id])
                lab_result = grade_capture(rubric, LabCapture.from_json(final))
            earned, passed = lab_item_points(lab_result, points)
            items.append(ItemScore(item_id, "lab", section, public["level"], tuple(public.get("tags", [])), earned,
                                   points, final is not None, passed and full_marks(earned, points),
                                   lab_result.reason if not lab_result.gradable else
                                   f"{lab_result.score:g}/{lab_result.max_score:g} rubric points"))
            if every or "lab" in kinds:
                details[item_id] = ItemDetail(public["title"], None, "", lab=lab_result)
            continue
        response = row.get("response")
        if kind != "free" and not (isinstance(response, str) and len(response) > 200):
            # An objective answer: its score depends on the item and the answer only, and many
            # candidates give the same answers, so each is scored once.
            memo = (bundle_hash, item_id, kind, section, points, repr(response))
            found = _ITEMS.get(memo)
            if found is None:
                found = _item_score(questions[item_id], item_id, kind, section, points,
                                    score_response(kind, keys[item_id], response), response)
                if len(_ITEMS) >= 200_000:
                    _ITEMS.clear()
                _ITEMS[memo] = found
            items.append(found)
            if every or kind in kinds:
                details[item_id] = _detail(questions[item_id], keys[item_id], response, found.detail)
            continue
        question = questions[item_id]
        key = keys[item_id]
        hits: tuple[tuple[str, bool], ...] = ()
        if kind == "free" and isinstance(response, str):
            points_made = [(k["point"], k["any_of"]) for k in key.get("key_points", [])]
            try:
                verdict, made = key_points_score(response, points_made)
            except re.error:
                verdict, made = AnswerScore(0.0, False, "the key's pattern is invalid"), [False] * len(points_made)
            hits = tuple((point, hit) for (point, _), hit in zip(points_made, made, strict=True))
        else:
            verdict = score_response(kind, key, response)
        score = _item_score(question, item_id, kind, section, points, verdict, response)
        if item_id in latest and kind == "free":
            earned = max(0.0, min(points, float(latest[item_id].points)))
            score = ItemScore(item_id, kind, section, score.level, score.tags, earned, points, score.answered,
                              full_marks(earned, points), score.detail, True)
        items.append(score)
        if every or kind in kinds:
            details[item_id] = _detail(question, key, response, verdict.detail, hits)
    score_total = total(items, float(bundle.assessment["pass_percent"]))
    return GradedResult(result, bundle, check, score_total, details, tuple(overrides),
                        bool(overrides) if reviewed is None else reviewed)


def _item_score(question: Mapping[str, Any], item_id: str, kind: str, section: int, points: float,
                verdict: AnswerScore, response: Any) -> ItemScore:
    earned = answer_points(points, verdict.fraction)
    return ItemScore(item_id, kind, section, question["level"], tuple(question.get("tags", [])), earned, points,
                     response is not None, full_marks(earned, points), verdict.detail)


def _detail(question: Mapping[str, Any], key: Mapping[str, Any], response: Any, detail: str,
            hits: tuple[tuple[str, bool], ...] = ()) -> ItemDetail:
    return ItemDetail(question["prompt"], response, _shown(question, response), detail,
                      str(key.get("model_answer", "")), hits)


def make_override(graded: GradedResult, item: str, points: float, note: str) -> Override:
    """An override of a free-text item of ``graded``.

    Raises:
        UsageError: when the item is not a free-text item of the result, or the points are out of range.
    """
    found = next((i for i in graded.score.items if i.item == item), None)
    if found is None:
        raise UsageError(f"{item!r} is not an item of this result")
    if found.kind != "free":
        raise UsageError(f"{item!r} is a {found.kind} item; only free-text scores can be overridden")
    if not 0 <= points <= found.max_points:
        raise UsageError(f"{item!r} is worth 0 to {found.max_points:g} points, not {points:g}")
    if not note.strip():
        raise UsageError("an override needs a note saying why")
    auto = next((o.auto for o in graded.overrides if o.item == item), found.points)
    return Override(item, float(points), note.strip(), auto, utcnow())


@dataclass(frozen=True)
class Review:
    """A signed review."""

    payload: dict[str, Any]
    signature: str

    @property
    def overrides(self) -> tuple[Override, ...]:
        """The overrides, in the order they were made."""
        return tuple(Override(str(o["item"]), float(o["points"]), str(o["note"]), float(o["auto"]), str(o["at"]))
                     for o in self.payload.get("overrides", []))

    @property
    def result_digest(self) -> str:
        """The digest of the result it reviews."""
        return str(self.payload["result_digest"])


def make_review(graded: GradedResult, keys: AssessorKeys) -> Review:
    """Sign a review of ``graded`` with the assessor's key."""
    payload = {
        "format": REVIEW_FORMAT, "version": 1, "result_digest": graded.result.digest,
        "bundle": graded.bundle.id, "candidate": graded.candidate, "assessment": graded.bundle.assessment["id"],
        "reviewer": keys.fingerprint, "reviewed_at": utcnow(),
        "overrides": [o.to_json() for o in graded.overrides],
        "score": graded.score.score, "max_score": graded.score.max_score,
        "percent": round(graded.score.percent, 2), "passed": graded.score.passed,
    }
    return Review(payload, sign(keys.signing, payload))


def review_from_json(data: Any, keys: AssessorKeys, shown: str = "review") -> Review:
    """Check a review document's signature against the assessor's key.

    Raises:
        ExamError: when it is not a review or its signature does not match.
    """
    if not isinstance(data, dict) or not isinstance(data.get("review"), dict) \
            or data["review"].get("format") != REVIEW_FORMAT:
        raise ExamError(f"{shown}: not a relaylab exam review")
    if not verify(keys.signing_public, data["review"], data.get("signature")):
        raise ExamError(f"{shown}: the review was altered, or signed by another assessor key")
    return Review(data["review"], str(data["signature"]))


def load_review(path: Path, keys: AssessorKeys) -> Review:
    """Read and check a review file."""
    return review_from_json(read_json_document(path, "exam review"), keys, str(path))


def write_review(review: Review, result_path: Path | None) -> list[Path]:
    """Write a review next to its result and into the assessor folder."""
    document = json.dumps({"review": review.payload, "signature": review.signature}, ensure_ascii=False,
                          indent=1, sort_keys=True) + "\n"
    targets = [reviews_folder() / f"{review.result_digest}.json"]
    if result_path is not None:
        targets.insert(0, result_path.with_name(result_path.name.removesuffix(".json") + ".review.json"))
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(document, encoding="utf-8")
        tmp.replace(target)
    return targets


def reviews_folder() -> Path:
    """The assessor's folder of stored reviews (``<RELAYLAB_HOME>/assessor/reviews``)."""
    return assessor_home() / "reviews"


def find_review(result: SignedResult, keys: AssessorKeys, extra: Mapping[str, Review] | None = None, *,
                folder: Path | None = None) -> Review | None:
    """The review of ``result``: among ``extra`` (by result digest), else the assessor folder's.

    Args:
        result: the result.
        keys: the assessor's keys (a stored review is checked with them).
        extra: reviews at hand, by the digest of the result they review.
        folder: the assessor's reviews folder, when the caller has it already (found otherwise).
    """
    if extra and result.digest in extra:
        return extra[result.digest]
    stored = (folder if folder is not None else reviews_folder()) / f"{result.digest}.json"
    if stored.is_file():
        return load_review(stored, keys)
    return None
