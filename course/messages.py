"""Provides the app-wide messages: screens and widgets post them, the app routes them.

Navigation goes up as a message (a screen never pushes another screen itself), so the app alone
decides how screens stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from textual.message import Message

if TYPE_CHECKING:
    from engine.services import AttemptView, Target

__all__ = ["AttemptGraded", "Navigate", "OpenSection", "PracticeQuestions", "Section", "SessionCaptured",
           "StartFlashcards"]

Section = Literal["map", "bank", "cards", "progress", "help", "learner"]


@dataclass
class Navigate(Message):
    """Open a lesson, a lesson's knowledge check, or a lab."""

    target: Target


@dataclass
class OpenSection(Message):
    """Go to one of the app's sections (course map, bank, flashcards, progress, help) or switch learner."""

    section: Section


@dataclass
class PracticeQuestions(Message):
    """Practise these questions one after another (from the bank or the palette)."""

    question_ids: tuple[str, ...]
    title: str
    mode: Literal["practice", "interview"] = "interview"


@dataclass
class StartFlashcards(Message):
    """Review flashcards drawn from these questions (the bank's current list)."""

    question_ids: tuple[str, ...]
    title: str = "Flashcards"


@dataclass
class SessionCaptured(Message):
    """The lab's tenant captured something: a session opened, a line, or a finished record."""

    event: Any
    """A ``CaptureEvent`` (kind, session_id, line, record)."""


@dataclass
class AttemptGraded(Message):
    """A lab attempt was graded (and stored)."""

    attempt: AttemptView
