"""Provides the assessment model (``content/assessments/<id>.yaml``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from engine.models._base import ContentModel, Id, Level, NonEmptyStr

if TYPE_CHECKING:
    from engine.loader import CourseTree

__all__ = ["Assessment", "Pool", "Section"]

Report = Callable[[tuple[str | int, ...], str], None]


class Pool(ContentModel):
    """Questions drawn at random for each candidate."""

    draw: int = Field(ge=1, le=100)
    """How many questions to draw."""
    tags: list[Id] = Field(default_factory=list)
    """Draw from questions carrying any of these tags (all questions when empty)."""
    levels: list[Level] = Field(default_factory=list)
    """Restrict to these levels (all when empty)."""
    kinds: list[Literal["single", "multiple", "order", "match", "short", "free"]] = Field(default_factory=list)
    """Restrict to these question kinds (all when empty)."""
    points: int | None = Field(default=None, ge=1, le=50)
    """Points per drawn question (default: the question's own)."""


class Section(ContentModel):
    """A titled part of an assessment: fixed items, pools and labs."""

    title: NonEmptyStr
    """Section title."""
    fixed: list[Id] = Field(default_factory=list)
    """Questions every candidate gets."""
    pools: list[Pool] = Field(default_factory=list)
    """Questions drawn per candidate."""
    labs: list[Id] = Field(default_factory=list)
    """Labs every candidate does."""
    lab_points: int = Field(default=10, ge=1, le=100)
    """Points per lab (scaled from the lab's rubric)."""

    @model_validator(mode="after")
    def _not_empty(self) -> Section:
        if not (self.fixed or self.pools or self.labs):
            raise ValueError("a section needs fixed questions, pools or labs")
        return self


class Assessment(ContentModel):
    """A sealed, timed, graded assessment."""

    format_version: Literal[1] = 1
    """Content format version."""
    id: Id
    """Assessment id."""
    title: NonEmptyStr
    """Title shown to candidates and on certificates."""
    level: Level
    """Level assessed."""
    instructions: NonEmptyStr
    """Shown before the timer starts (Markdown)."""
    time_limit_minutes: int = Field(ge=5, le=480)
    """Time allowed."""
    pass_percent: int = Field(ge=1, le=100)
    """Score needed to pass, in percent."""
    sections: list[Section] = Field(min_length=1)
    """Sections in order."""
    feedback_at_end: bool = True
    """Show per-item feedback to the candidate once the attempt is submitted."""
    attempts_allowed: int = Field(default=1, ge=1, le=10)
    """Attempts per candidate."""
    pauses_allowed: bool = False
    """Time away from an open attempt does not count (pauses are logged)."""

    def cross_check(self, tree: CourseTree, report: Report) -> None:
        """Check that fixed items and labs exist and that every pool can be filled."""
        for si, section in enumerate(self.sections):
            for i, qid in enumerate(section.fixed):
                if qid not in tree.questions:
                    report(("sections", si, "fixed", i), f"unknown question id {qid!r}")
            for i, lab in enumerate(section.labs):
                if lab not in tree.labs:
                    report(("sections", si, "labs", i), f"unknown lab id {lab!r}")
            for pi, pool in enumerate(section.pools):
                known_tags = {t for q in tree.questions.values() for t in q.tags}
                for ti, tag in enumerate(pool.tags):
                    if tag not in known_tags:
                        report(("sections", si, "pools", pi, "tags", ti), f"no question carries tag {tag!r}")
                matching = [
                    q for q in tree.questions.values()
                    if (not pool.tags or set(pool.tags) & set(q.tags))
                    and (not pool.levels or q.level in pool.levels)
                    and (not pool.kinds or q.kind in pool.kinds)
                ]
                if len(matching) < pool.draw:
                    report(("sections", si, "pools", pi, "draw"),
                           f"pool draws {pool.draw} questions but only {len(matching)} match its tags, levels and kinds")
