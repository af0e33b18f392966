"""Provides the command palette provider: every lesson, check, lab and question by name, and the
app's sections."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from course.messages import Navigate, OpenSection, PracticeQuestions

if TYPE_CHECKING:
    from course.app import RelaylabApp
    from engine.services import PaletteEntry

__all__ = ["CoursePalette"]

SECTIONS: tuple[tuple[str, str, OpenSection], ...] = (
    ("Go to: Course map", "Levels, modules, lessons, checks and labs", OpenSection("map")),
    ("Go to: Interview question bank", "Browse and search questions; practise free-text answers", OpenSection("bank")),
    ("Go to: Flashcards", "Question, think, reveal, rate: hard cards come back sooner", OpenSection("cards")),
    ("Go to: Progress", "Scores over time, per lab and level, time spent, weakest topics", OpenSection("progress")),
    ("Help: keys and screen-reader paths", "Every key of every screen; relaylab quiz and lab check", OpenSection("help")),
    ("Switch learner", "Pick or create another learner profile", OpenSection("learner")),
)


def _message(entry: PaletteEntry) -> Message:
    from engine.services import Target  # the engine loads after the first paint (see course.app)

    if entry.kind == "question":
        return PracticeQuestions((entry.id,), entry.title)
    return Navigate(Target(entry.kind, entry.id, entry.title))


class CoursePalette(Provider):
    """Finds any lesson, knowledge check, lab or question by name."""

    _entries: list[PaletteEntry]

    async def startup(self) -> None:
        """Fetch the entries once per opening of the palette (off the event loop)."""
        app: RelaylabApp = self.app  # type: ignore[assignment]
        self._entries = await asyncio.to_thread(app.ctx.service.palette_entries) if app.ctx else []

    async def discover(self) -> Hits:
        """Offer the sections when nothing is typed yet."""
        for title, help_text, message in SECTIONS:
            yield DiscoveryHit(title, partial(self.app.post_message, message), help=help_text)

    async def search(self, query: str) -> Hits:
        """Match the query against every title."""
        matcher = self.matcher(query)
        for title, help_text, message in SECTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.post_message, message), help=help_text)
        for entry in self._entries:
            score = matcher.match(entry.title)
            if score > 0:
                # lessons and labs rank above the (many) questions with the same score
                weight = 1.0 if entry.kind != "question" else 0.9
                yield Hit(score * weight, matcher.highlight(entry.title),
                          partial(self.app.post_message, _message(entry)), help=entry.help)
