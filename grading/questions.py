"""Provides the scoring of knowledge-check answers, one function per question kind.

Everything here is pure: the caller passes the key and the response, we return a score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AnswerScore",
    "KeyPointHit",
    "normalise_answer",
    "score_choice",
    "score_free_text",
    "score_match",
    "score_order",
    "score_short",
    "short_answer_matches",
]

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'", "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True)
class AnswerScore:
    """The score of one answer: a fraction of the question's points, and whether it counts as right."""

    fraction: float
    """0.0 to 1.0."""
    correct: bool
    """True when the answer earns full marks."""
    detail: str = ""
    """What was right or wrong, in the trainee's terms."""


def normalise_answer(text: str, case_sensitive: bool = False) -> str:
    """Normalise a typed answer: Unicode, typographic quotes, surrounding quotes, spaces and case."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    text = re.sub(r"\s+", " ", text)
    text = text.rstrip(".;")
    return text if case_sensitive else text.casefold()


def short_answer_matches(
    answer: str, accepted: Sequence[str], patterns: Sequence[str], case_sensitive: bool = False
) -> bool:
    """Return whether ``answer`` equals an accepted answer or fully matches a pattern, after normalising."""
    given = normalise_answer(answer, case_sensitive)
    if not given:
        return False
    if any(given == normalise_answer(a, case_sensitive) for a in accepted):
        return True
    flags = 0 if case_sensitive else re.IGNORECASE
    return any(re.fullmatch(p, given, flags) for p in patterns)


def score_short(answer: str, accepted: Sequence[str], patterns: Sequence[str], case_sensitive: bool = False) -> AnswerScore:
    """Score a short answer: all or nothing."""
    ok = short_answer_matches(answer, accepted, patterns, case_sensitive)
    return AnswerScore(1.0 if ok else 0.0, ok)


def score_choice(chosen: Sequence[int], correct: Sequence[int], multiple: bool) -> AnswerScore:
    """Score a choice question from option indexes.

    Both kinds are all or nothing (items stay dichotomous for item analysis); for multiple
    choice the detail says how many right options were missed and wrong ones chosen.
    """
    picked, right = set(chosen), set(correct)
    if not multiple:
        ok = len(picked) == 1 and picked == right
        return AnswerScore(1.0 if ok else 0.0, ok)
    if picked == right:
        return AnswerScore(1.0, True)
    missed = len(right - picked)
    wrong = len(picked - right)
    detail = []
    if missed:
        detail.append(f"{missed} correct option{'s' if missed > 1 else ''} not chosen")
    if wrong:
        detail.append(f"{wrong} wrong option{'s' if wrong > 1 else ''} chosen")
    return AnswerScore(0.0, False, "; ".join(detail))


def score_order(given: Sequence[str], correct: Sequence[str]) -> AnswerScore:
    """Score an ordering: right only when the whole order is right; detail says how many are in place."""
    if list(given) == list(correct):
        return AnswerScore(1.0, True)
    in_place = sum(1 for a, b in zip(given, correct, strict=False) if a == b)
    return AnswerScore(0.0, False, f"{in_place} of {len(correct)} in the right place")


def score_match(given: Mapping[str, str], pairs: Mapping[str, str]) -> AnswerScore:
    """Score a matching: right only when every left item has its right item."""
    right = sum(1 for left, r in pairs.items() if given.get(left) == r)
    if right == len(pairs):
        return AnswerScore(1.0, True)
    return AnswerScore(0.0, False, f"{right} of {len(pairs)} pairs right")


@dataclass(frozen=True)
class KeyPointHit:
    """Whether one key point was made."""

    point: str
    made: bool


def score_free_text(answer: str, key_points: Sequence[tuple[str, Sequence[str]]]) -> tuple[AnswerScore, list[KeyPointHit]]:
    """Score a free-text answer on key-point coverage.

    Args:
        answer: what the trainee wrote.
        key_points: (point, phrases-or-regexes) pairs.

    Returns:
        The score (fraction of points made; correct when all are made) and a hit per point.
    """
    text = normalise_answer(answer)
    hits = []
    for point, phrases in key_points:
        made = any(re.search(p, text, re.IGNORECASE) for p in phrases)
        hits.append(KeyPointHit(point, made))
    made_count = sum(h.made for h in hits)
    fraction = made_count / len(hits) if hits else 0.0
    return AnswerScore(fraction, made_count == len(hits), f"{made_count} of {len(hits)} key points"), hits
