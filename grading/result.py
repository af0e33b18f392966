"""Provides the result of grading: per-check outcomes, the score, and whether grading worked at all.

``gradable`` (did the grader have something to grade?) is kept apart from the score (how good was
the attempt?), as PrairieLearn's autograder does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CheckResult", "Result"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rubric check."""

    id: str
    title: str
    points: float
    max_points: float
    passed: bool
    skipped: bool
    message: str
    """The pass or fail message of the rubric, in the trainee's terms."""
    observed: str = ""
    """What the grader saw that decided it (e.g. the reply line)."""
    lesson: str | None = None
    """Lesson to reread when it failed."""

    @property
    def status(self) -> str:
        """pass, fail or skipped."""
        return "skipped" if self.skipped else ("pass" if self.passed else "fail")


@dataclass(frozen=True)
class Result:
    """A graded attempt."""

    gradable: bool
    score: float
    max_score: float
    passed: bool
    checks: tuple[CheckResult, ...] = ()
    reason: str = ""
    """Why the attempt could not be graded (when ``gradable`` is False)."""
    sessions: int = 0
    record_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def percent(self) -> float:
        """Score in percent (0 when not gradable)."""
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON form (what ``--json`` prints and the store keeps)."""
        data = asdict(self)
        data["percent"] = round(self.percent, 1)
        data["checks"] = [{**asdict(c), "status": c.status} for c in self.checks]
        return data

    @classmethod
    def not_gradable(cls, reason: str, max_score: float = 0.0) -> Result:
        """A result for an attempt that produced nothing to grade."""
        return cls(False, 0.0, max_score, False, (), reason)
