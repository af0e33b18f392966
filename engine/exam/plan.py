"""Provides an attempt's plan: the seed, the questions drawn, their order and every option order.

Everything is a pure function of the bundle and the seed, and the seed is a pure function of the
bundle id, the candidate's name (normalised) and the attempt number, so the assessor recomputes
the plan and checks that a result answers exactly the items its candidate was given.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Plan", "PlannedItem", "derive_seed", "normalise_candidate", "plan_attempt", "plan_rows"]


def normalise_candidate(name: str) -> str:
    """The candidate's name as the seed sees it: NFKC, single spaces, case-folded."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip().casefold()


def derive_seed(bundle_id: str, candidate: str, attempt: int) -> str:
    """The seed of a candidate's attempt at a bundle (hex)."""
    text = f"relaylab-exam-seed-v1\x00{bundle_id}\x00{normalise_candidate(candidate)}\x00{attempt}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rng(seed: str, purpose: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{purpose}".encode()).digest(), "big"))


@dataclass(frozen=True)
class PlannedItem:
    """One item as this candidate gets it."""

    id: str
    """Question id, or ``lab:<lab id>``."""
    kind: str
    """single, multiple, order, match, short, free or lab."""
    section: int
    points: float
    order: tuple[int, ...] = ()
    """Display order: indexes into the bundle's options (choice), items (order) or rights (match)."""

    @property
    def is_lab(self) -> bool:
        """A lab item."""
        return self.kind == "lab"

    @property
    def lab_id(self) -> str:
        """The lab's id (lab items only)."""
        return self.id.removeprefix("lab:")

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "kind": self.kind, "section": self.section, "points": self.points,
                "order": list(self.order)}


@dataclass(frozen=True)
class Plan:
    """The items of one attempt, in order."""

    seed: str
    items: tuple[PlannedItem, ...]

    def item(self, item_id: str) -> PlannedItem:
        """The item with this id.

        Raises:
            KeyError: when the plan has no such item.
        """
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def max_points(self) -> float:
        """Points available."""
        return float(sum(i.points for i in self.items))


def _display_order(question: Mapping[str, Any], rng: random.Random) -> tuple[int, ...]:
    kind = question["kind"]
    size = len(question.get("options") or question.get("items") or question.get("rights") or []) \
        if kind in _ORDERED else 0
    if not size:
        return ()
    rand = rng.random
    keys = [rand() for _ in range(size)]
    return tuple(sorted(range(size), key=keys.__getitem__))


_ORDERED = frozenset({"single", "multiple", "order", "match"})
"""Kinds whose options, items or right-hand sides are shown in a per-candidate order."""


def plan_attempt(payload: Mapping[str, Any], seed: str) -> Plan:
    """Draw and order an attempt's items from a bundle payload.

    Sections keep their order; within a section the fixed and drawn questions are shuffled and
    the labs follow them. A question is never drawn twice.
    """
    return Plan(seed, tuple(PlannedItem(*row) for row in plan_rows(payload, seed)))


def plan_rows(payload: Mapping[str, Any], seed: str) -> list[tuple[str, str, int, float, tuple[int, ...]]]:
    """The items :func:`plan_attempt` draws, as ``(id, kind, section, points, order)`` rows."""
    questions = payload["questions"]
    used: set[str] = set()
    for section in payload["sections"]:
        used.update(section["fixed"])
    draw = _rng(seed, "draw")
    shuffle = _rng(seed, "order")
    options = _rng(seed, "options")
    rows: list[tuple[str, str, int, float, tuple[int, ...]]] = []
    for si, section in enumerate(payload["sections"]):
        chosen: list[tuple[str, float]] = [(q, float(questions[q]["points"])) for q in section["fixed"]]
        for pool in section["pools"]:
            available = [q for q in pool["candidates"] if q not in used]
            picked = draw.sample(available, min(int(pool["draw"]), len(available)))
            used.update(picked)
            chosen += [(q, float(pool["points"] if pool["points"] is not None else questions[q]["points"]))
                       for q in picked]
        shuffle.shuffle(chosen)
        for qid, points in chosen:
            question = questions[qid]
            rows.append((qid, question["kind"], si, points, _display_order(question, options)))
        for lab in section["labs"]:
            rows.append((f"lab:{lab}", "lab", si, float(section["lab_points"]), ()))
    return rows
