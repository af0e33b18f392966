"""Provides the views the app shows: plain frozen data built by the course and lab services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.flashcards import (
    CardState,
)
from engine.services.text import plain_text
from grading.questions import (
    KeyPointHit,
)

__all__ = [
    "AttemptRow", "BankEntry", "Card", "CheckView", "Choice", "Feedback", "GlossaryEntry", "ItemKind",
    "LabProgress", "LessonRef", "LessonView", "LevelProgress", "LinkTarget", "MAX_ANSWER_GAP",
    "MAX_INTERVAL", "Mode", "OptionNote", "Outline", "OutlineItem", "OutlineLevel", "OutlineModule",
    "PaletteEntry", "Progress", "QuestionView", "ScorePoint", "Status", "Target", "TopicScore"
]


Status = Literal["todo", "started", "done"]
ItemKind = Literal["lesson", "check", "lab"]
Mode = Literal["practice", "interview", "quiz", "flashcard"]

MAX_INTERVAL = 3600.0
"""Longest stretch counted as time spent in one go (a lesson left open overnight counts an hour)."""
MAX_ANSWER_GAP = 300.0
"""Longest stretch counted as time spent on one answer."""


# -- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Something the app can open: a lesson, a lesson's knowledge check, or a lab."""

    kind: ItemKind
    id: str
    title: str


@dataclass(frozen=True)
class OutlineItem:
    """One entry of a module in the course map."""

    kind: ItemKind
    id: str
    """Lesson id (also for its check) or lab id."""
    title: str
    summary: str
    status: Status
    detail: str = ""
    """A short progress note, e.g. '4/6 right' or 'best 67%'."""


@dataclass(frozen=True)
class OutlineModule:
    """A module with its items in teaching order."""

    id: str
    title: str
    summary: str
    items: tuple[OutlineItem, ...]

    @property
    def done(self) -> int:
        """Items done."""
        return sum(i.status == "done" for i in self.items)


@dataclass(frozen=True)
class OutlineLevel:
    """A level with its modules and how far the learner got."""

    id: str
    title: str
    summary: str
    modules: tuple[OutlineModule, ...]

    @property
    def total(self) -> int:
        """Items in the level."""
        return sum(len(m.items) for m in self.modules)

    @property
    def done(self) -> int:
        """Items done."""
        return sum(m.done for m in self.modules)

    @property
    def fraction(self) -> float:
        """Share of items done, 0.0 to 1.0."""
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True)
class Outline:
    """The course map for one learner."""

    title: str
    summary: str
    levels: tuple[OutlineLevel, ...]
    resume: Target | None
    """Where "Continue" goes (None when everything is done)."""


@dataclass(frozen=True)
class LessonRef:
    """A lesson named by id and title."""

    id: str
    title: str


@dataclass(frozen=True)
class LessonView:
    """A lesson ready to show."""

    id: str
    level: str
    title: str
    summary: str
    minutes: int
    module: str
    """Title of the module the lesson belongs to."""
    position: str
    """e.g. 'Lesson 3 of 23'."""
    objectives: tuple[str, ...]
    key_facts: tuple[str, ...]
    """Markdown (inline)."""
    markdown: str
    """The rendered body."""
    sections: tuple[str, ...]
    """The rendered body cut before each second-level heading (the app shows the first at once)."""
    questions: tuple[str, ...]
    previous: LessonRef | None
    next: LessonRef | None
    references: tuple[str, ...]
    """'Title — Publisher (url)' lines; links are shown, never opened."""
    completed: bool = False
    links: tuple[LinkTarget, ...] = ()
    """The lessons and glossary terms the text links to, in order (for keyboard navigation)."""


@dataclass(frozen=True)
class Choice:
    """An option as shown; ``key`` is its index in the content file."""

    key: int
    text: str


@dataclass(frozen=True)
class QuestionView:
    """A question as the trainee sees it (options and items already shuffled)."""

    id: str
    kind: Literal["single", "multiple", "order", "match", "short", "free"]
    level: str
    prompt: str
    """Markdown."""
    tags: tuple[str, ...]
    lesson: LessonRef | None
    choices: tuple[Choice, ...] = ()
    """single and multiple."""
    items: tuple[str, ...] = ()
    """order: the items in their starting (shuffled) order."""
    lefts: tuple[str, ...] = ()
    """match: the fixed left column."""
    rights: tuple[str, ...] = ()
    """match: the right column with distractors, shuffled."""
    interview: bool = False

    @property
    def title(self) -> str:
        """The prompt's first line as plain text (for lists)."""
        return plain_text(self.prompt, 100)


@dataclass(frozen=True)
class OptionNote:
    """Feedback on one option of a choice question."""

    text: str
    correct: bool
    chosen: bool
    why: str = ""


@dataclass(frozen=True)
class Feedback:
    """The verdict on an answer, with what to learn from it."""

    question_id: str
    correct: bool
    fraction: float
    detail: str
    explanation: str
    """Markdown."""
    answer: str
    """The right answer, as Markdown."""
    lesson: LessonRef | None
    options: tuple[OptionNote, ...] = ()
    key_points: tuple[KeyPointHit, ...] = ()
    model_answer: str = ""

    @property
    def verdict(self) -> str:
        """Right, Partly right or Not right."""
        if self.correct:
            return "Right"
        return "Partly right" if self.fraction > 0 else "Not right"


@dataclass(frozen=True)
class CheckView:
    """A lesson's knowledge check."""

    lesson: LessonRef
    questions: tuple[QuestionView, ...]
    right: frozenset[str]
    """Questions already answered right at least once."""


@dataclass(frozen=True)
class BankEntry:
    """One row of the question bank."""

    id: str
    level: str
    kind: str
    tags: tuple[str, ...]
    title: str
    interview: bool
    answered: int
    """How many times the learner answered it."""
    right: bool
    """Answered right at least once."""


@dataclass(frozen=True)
class Card:
    """A flashcard: the question, and what is revealed after thinking."""

    question: QuestionView
    answer: str
    """Markdown: the model answer (or the right answer of a closed question)."""
    key_points: tuple[str, ...]
    explanation: str
    state: CardState | None
    due: str
    """e.g. 'new', 'due now', 'in 3 days'."""

    @property
    def box(self) -> int:
        """Leitner box (0 for a new card)."""
        return self.state.box if self.state else 0


@dataclass(frozen=True)
class GlossaryEntry:
    """A glossary term."""

    id: str
    term: str
    definition: str
    see_also: tuple[str, ...]
    lessons: tuple[LessonRef, ...]


@dataclass(frozen=True)
class LinkTarget:
    """What a link in course text points at."""

    kind: Literal["lesson", "glossary", "anchor", "external", "unknown"]
    target: str
    title: str = ""


@dataclass(frozen=True)
class PaletteEntry:
    """Something the command palette can open."""

    kind: Literal["lesson", "check", "question", "lab"]
    id: str
    title: str
    help: str


@dataclass(frozen=True)
class LevelProgress:
    """Progress through one level."""

    id: str
    title: str
    lessons_done: int
    lessons_total: int
    checks_done: int
    checks_total: int
    labs_passed: int
    labs_total: int
    answered: int
    right: int
    lab_average: float | None
    """Mean of the best score of each attempted lab, in percent."""


@dataclass(frozen=True)
class LabProgress:
    """Attempts at one lab."""

    id: str
    title: str
    level: str
    attempts: int
    best: float
    last: float
    passed: bool
    hints: int


@dataclass(frozen=True)
class ScorePoint:
    """A score at a moment: one lab attempt, or one day of answers."""

    at: str
    """ISO 8601 (UTC)."""
    percent: float
    series: Literal["lab", "answers"]
    label: str


@dataclass(frozen=True)
class TopicScore:
    """How a topic (tag) is going."""

    tag: str
    percent: float
    items: int


@dataclass(frozen=True)
class AttemptRow:
    """One attempt in the history."""

    lab: str
    title: str
    finished: str
    percent: float
    passed: bool
    gradable: bool
    hints: int


@dataclass(frozen=True)
class Progress:
    """A learner's progress summary."""

    levels: tuple[LevelProgress, ...]
    labs: tuple[LabProgress, ...]
    history: tuple[AttemptRow, ...]
    """Lab attempts, newest first."""
    points: tuple[ScorePoint, ...]
    """Scores over time, oldest first."""
    weakest: tuple[TopicScore, ...]
    seconds: dict[str, int] = field(default_factory=dict)
    """Time spent: reading, practice, labs and total."""
    answered: int = 0
    right: int = 0
