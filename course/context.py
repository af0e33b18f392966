"""Provides the context every screen is given: the course service and the current learner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.services import CourseService, Learner

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """The course service and who is learning."""

    service: CourseService
    learner: Learner

    @property
    def learner_id(self) -> str:
        """The learner's id."""
        return self.learner.id
