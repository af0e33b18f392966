"""Provides pure scoring: lab rubrics over captured sessions, and knowledge-check answers."""

from __future__ import annotations

from grading.grade import grade
from grading.result import CheckResult, Result
from grading.rubric import Rubric

__all__ = ["CheckResult", "Result", "Rubric", "grade"]
