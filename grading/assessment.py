"""Provides exam scoring and item analysis: pure functions over answers, keys and score matrices.

Scoring: :func:`score_response` scores one answer against its key (in the clear, on the assessor's
side); :func:`lab_item_points` scales a lab's rubric result to the item's points; :func:`total`
adds items up by section, level and topic and decides pass or fail.

Item analysis (classical test theory), over the candidates who took each item:

* **difficulty** ``p``: the mean fraction of the item's points earned (1.0: everyone right);
* **corrected point-biserial** discrimination: Pearson's r between the item's score and the
  candidate's *rest score* (total minus that item), so the item is not correlated with itself.
  For right/wrong items this is the point-biserial correlation; for partial-credit items (free
  text, labs) the corrected item-total correlation. Negative values suggest a miskeyed item;
* **KR-20** over the right/wrong outcome (full marks or not) of the items every candidate took,
  ``k/(k-1) * (1 - sum(p*q) / var(X))``;
* **Cronbach's alpha** over the points of the same items, ``k/(k-1) * (1 - sum(var_i) / var(X))``
  (equal to KR-20 when every item is right/wrong);
* **standard error of measurement** ``SD(X) * sqrt(1 - alpha)``, in points of those items.

Variances are population variances (divided by n) throughout, as in the KR-20 formula. Anything
that cannot be computed (one candidate, no variance, fewer than two common items) is None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from grading.questions import AnswerScore, normalise_answer, score_choice, score_match, score_order
from grading.result import Result

__all__ = [
    "SMALL_SAMPLE",
    "answer_points",
    "full_marks",
    "ExamScore",
    "ItemScore",
    "ItemStats",
    "Reliability",
    "histogram",
    "item_statistics",
    "key_points_score",
    "lab_item_points",
    "pearson",
    "reliability",
    "score_response",
    "short_score",
    "total",
]

SMALL_SAMPLE = 30
"""Below this many candidates, item statistics and reliability are too unstable to act on."""

_BAD_SHAPE = AnswerScore(0.0, False, "the answer is not in the form this question takes")


@lru_cache(maxsize=8192)
def _pattern(pattern: str, flags: int) -> re.Pattern[str]:
    # An exam's keys hold more patterns than the re module's own cache (512): grading 1,000
    # results would recompile them over and over.
    return re.compile(pattern, flags)


def short_score(answer: str, accepted: Sequence[str], patterns: Sequence[str], case_sensitive: bool) -> AnswerScore:
    """:func:`grading.questions.score_short`, with compiled patterns kept between calls."""
    given = normalise_answer(answer, case_sensitive)
    ok = bool(given) and (any(given == normalise_answer(a, case_sensitive) for a in accepted) or any(
        _pattern(p, 0 if case_sensitive else re.IGNORECASE).fullmatch(given) for p in patterns))
    return AnswerScore(1.0 if ok else 0.0, ok)


def key_points_score(answer: str, key_points: Sequence[tuple[str, Sequence[str]]]) -> tuple[AnswerScore, list[bool]]:
    """:func:`grading.questions.score_free_text`, with compiled patterns kept between calls.

    Returns:
        The score and, per key point, whether it was made.
    """
    text = normalise_answer(answer)
    made = [any(_pattern(p, re.IGNORECASE).search(text) for p in phrases) for _, phrases in key_points]
    count = sum(made)
    fraction = count / len(made) if made else 0.0
    return AnswerScore(fraction, count == len(made), f"{count} of {len(made)} key points"), made


def _ints(value: Any) -> list[int] | None:
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return list(value)


def score_response(kind: str, key: Mapping[str, Any], response: Any) -> AnswerScore:
    """Score one exam answer against its key.

    Keys and responses use the indexes of the bundle's (public) option, item and right-hand lists:

    * single: key ``{"correct": [i]}``, response ``i``;
    * multiple: key ``{"correct": [i, ...]}``, response ``[i, ...]``;
    * order: key ``{"order": [i, ...]}`` (indexes in the right order), response the same shape;
    * match: key ``{"pairs": [r, ...]}`` (right index of each left item), response the same shape;
    * short: key ``{"accepted", "patterns", "case_sensitive"}``, response the text;
    * free: key ``{"key_points": [{"point", "any_of"}]}``, response the text.

    An unanswered item (``None``) scores 0; an answer of the wrong shape scores 0, never raises.
    """
    if response is None:
        return AnswerScore(0.0, False, "not answered")
    if kind in ("single", "multiple"):
        right = _ints(key.get("correct"))
        chosen = _ints([response] if kind == "single" and isinstance(response, int) else response)
        if right is None or chosen is None:
            return _BAD_SHAPE
        return score_choice(chosen, right, multiple=kind == "multiple")
    if kind == "order":
        right, given = _ints(key.get("order")), _ints(response)
        if right is None or given is None or sorted(given) != sorted(right):
            return _BAD_SHAPE
        return score_order([str(i) for i in given], [str(i) for i in right])
    if kind == "match":
        pairs = _ints(key.get("pairs"))
        if pairs is None or not isinstance(response, list | tuple) or len(response) != len(pairs):
            return _BAD_SHAPE
        picked = {str(i): str(r) for i, r in enumerate(response) if isinstance(r, int) and not isinstance(r, bool)}
        return score_match(picked, {str(i): str(r) for i, r in enumerate(pairs)})
    if kind == "short":
        if not isinstance(response, str):
            return _BAD_SHAPE
        try:
            return short_score(response, list(key.get("accepted", [])), list(key.get("patterns", [])),
                               bool(key.get("case_sensitive", False)))
        except re.error:
            return AnswerScore(0.0, False, "the key's pattern is invalid")
    if kind == "free":
        if not isinstance(response, str):
            return _BAD_SHAPE
        points = [(str(k.get("point", "")), list(k.get("any_of", []))) for k in key.get("key_points", [])
                  if isinstance(k, Mapping)]
        try:
            result, _made = key_points_score(response, points)
        except re.error:
            return AnswerScore(0.0, False, "the key's pattern is invalid")
        return result
    return AnswerScore(0.0, False, f"unknown question kind {kind!r}")


def lab_item_points(result: Result, points: float) -> tuple[float, bool]:
    """A lab item's points: the rubric's fraction of ``points``; 0 when the run was not gradable.

    Returns:
        (points earned, whether the lab counts as passed).
    """
    if not result.gradable or result.max_score <= 0:
        return 0.0, False
    return round(points * result.score / result.max_score, 4), result.passed


def answer_points(points: float, fraction: float) -> float:
    """A question item's points: the answer's fraction of ``points``."""
    return round(points * fraction, 4)


def full_marks(earned: float, points: float) -> bool:
    """Whether ``earned`` is all of ``points`` (item scores are rounded to four places)."""
    return earned >= points - 1e-9


@dataclass(frozen=True)
class ItemScore:
    """One item of one candidate's exam, scored."""

    item: str
    """Question id, or ``lab:<id>``."""
    kind: str
    section: int
    level: str
    tags: tuple[str, ...]
    points: float
    max_points: float
    answered: bool
    correct: bool
    """Full marks."""
    detail: str = ""
    overridden: bool = False
    """The assessor set the points by hand."""

    @property
    def fraction(self) -> float:
        """Points earned as a fraction of the item's points."""
        return self.points / self.max_points if self.max_points else 0.0


@dataclass(frozen=True)
class ExamScore:
    """A candidate's exam total, by section, level and topic."""

    items: tuple[ItemScore, ...]
    score: float
    max_score: float
    pass_percent: float
    by_section: dict[int, tuple[float, float]] = field(default_factory=dict)
    by_level: dict[str, tuple[float, float]] = field(default_factory=dict)
    by_topic: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        """Score in percent of the maximum."""
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    @property
    def passed(self) -> bool:
        """Whether the pass mark was reached (rounded to 0.01 % so float noise never fails a pass)."""
        return round(self.percent, 2) >= self.pass_percent


def total(items: Sequence[ItemScore], pass_percent: float) -> ExamScore:
    """Add items up into the exam's total and its breakdowns (a topic counts every item tagged with it)."""
    by_section: dict[Any, list[float]] = {}
    by_level: dict[Any, list[float]] = {}
    by_topic: dict[Any, list[float]] = {}
    for item in items:
        got, out_of = item.points, item.max_points
        for table, key in ((by_section, item.section), (by_level, item.level), *((by_topic, t) for t in item.tags)):
            entry = table.get(key)
            if entry is None:
                table[key] = [got, out_of]
            else:
                entry[0] += got
                entry[1] += out_of

    def frozen(table: dict[Any, list[float]]) -> dict[Any, tuple[float, float]]:
        return {k: (round(v[0], 4), round(v[1], 4)) for k, v in sorted(table.items())}

    score = round(sum(i.points for i in items), 4)
    max_score = round(sum(i.max_points for i in items), 4)
    return ExamScore(tuple(items), score, max_score, pass_percent, frozen(by_section), frozen(by_level),
                     frozen(by_topic))


# -- item analysis ----------------------------------------------------------------------------------


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _var(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / len(xs)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than two pairs or when either side does not vary."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mx, my = _mean(xs), _mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


@dataclass(frozen=True)
class ItemStats:
    """Classical item statistics of one item."""

    item: str
    n: int
    """Candidates who took the item."""
    max_points: float
    mean_points: float
    p: float | None
    """Difficulty: mean fraction of points earned (None when nobody took it)."""
    discrimination: float | None
    """Corrected point-biserial (item vs. rest score)."""

    @property
    def flagged(self) -> bool:
        """Negative discrimination: stronger candidates do worse on this item (likely miskeyed)."""
        return self.discrimination is not None and self.discrimination < 0


def item_statistics(matrix: Sequence[Mapping[str, float]], max_points: Mapping[str, float]) -> list[ItemStats]:
    """Difficulty and discrimination of every item.

    Args:
        matrix: one mapping per candidate, item → points earned (items a candidate did not take are absent).
        max_points: item → its points.

    Returns:
        One entry per item of ``max_points``, in its order.
    """
    totals = [sum(row.values()) for row in matrix]
    out = []
    for item, full in max_points.items():
        taken = [(row[item], t) for row, t in zip(matrix, totals, strict=True) if item in row]
        if not taken:
            out.append(ItemStats(item, 0, full, 0.0, None, None))
            continue
        scores = [s for s, _ in taken]
        rest = [t - s for s, t in taken]
        fractions = [s / full if full else 0.0 for s in scores]
        out.append(ItemStats(item, len(taken), full, _mean(scores), _mean(fractions), pearson(scores, rest)))
    return out


@dataclass(frozen=True)
class Reliability:
    """Reliability of the items every candidate took."""

    candidates: int
    items: int
    """Common items the figures are computed over."""
    kr20: float | None
    alpha: float | None
    sem: float | None
    """Standard error of measurement, in points of the common items."""
    max_points: float
    mean: float | None
    sd: float | None

    @property
    def small_sample(self) -> bool:
        """Fewer than :data:`SMALL_SAMPLE` candidates."""
        return self.candidates < SMALL_SAMPLE


def reliability(matrix: Sequence[Mapping[str, float]], max_points: Mapping[str, float]) -> Reliability:
    """KR-20, Cronbach's alpha and the SEM over the items present in every row of ``matrix``."""
    n = len(matrix)
    common = [i for i in max_points if n and all(i in row for row in matrix)]
    k = len(common)
    full = float(sum(max_points[i] for i in common))
    if n == 0:
        return Reliability(0, k, None, None, None, full, None, None)
    totals = [sum(row[i] for i in common) for row in matrix]
    mean, var_x = _mean(totals), _var(totals)
    sd = math.sqrt(var_x)
    if n < 2 or k < 2 or var_x <= 1e-12:
        return Reliability(n, k, None, None, None, full, mean, sd)
    alpha = k / (k - 1) * (1 - sum(_var([row[i] for row in matrix]) for i in common) / var_x)
    right = [[1.0 if max_points[i] and row[i] >= max_points[i] - 1e-9 else 0.0 for i in common] for row in matrix]
    right_totals = [sum(r) for r in right]
    var_r = _var(right_totals)
    kr20 = None
    if var_r > 1e-12:
        pq = sum(p * (1 - p) for p in (_mean([r[j] for r in right]) for j in range(k)))
        kr20 = k / (k - 1) * (1 - pq / var_r)
    sem = sd * math.sqrt(1 - alpha) if alpha <= 1 else None
    return Reliability(n, k, kr20, alpha, sem, full, mean, sd)


def histogram(percents: Sequence[float], bins: int = 10) -> list[int]:
    """Count scores (0–100 %) into equal bins; 100 % falls in the last bin."""
    counts = [0] * bins
    for value in percents:
        index = min(bins - 1, max(0, int(value * bins // 100)))
        counts[index] += 1
    return counts
