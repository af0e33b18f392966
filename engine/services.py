"""Provides the façade the terminal app and the plain-text quiz use: everything a trainee sees.

:class:`CourseService` owns the loaded course and the progress store. It answers the questions a
screen asks — the outline with completion marks, a rendered lesson, a question as shown, the
feedback on an answer, the next flashcard, a progress summary — and records what the trainee did.
Every rule lives here (or in ``grading`` for scoring, ``engine.flashcards`` for the schedule): what
counts as complete, where "Continue" goes, how options are shuffled, which topics are weakest.

:class:`LabSession` wraps :class:`engine.labrun.LabRunner` for the lab screen: the device form
built from the device's capabilities, configs from the form or YAML, runs, hints and grading.

Calls that touch the store or the disk block; the app runs them in workers.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from engine.errors import ContentError, LabError, RelaylabError, StoreError, UsageError
from engine.flashcards import (
    RATINGS,
    CardState,
    Rating,
    ReviewQueue,
    due_order,
    format_due,
    parse_time,
    review,
)
from engine.loader import CourseTree, load_course
from engine.models.lesson import Lesson
from engine.models.question import (
    FreeText,
    Matching,
    MultipleChoice,
    Ordering,
    Question,
    ShortAnswer,
    SingleChoice,
)
from engine.paths import bundled_content, store_path
from engine.render import internal_links, md_parser, render_markdown
from engine.store import Learner, Store
from grading.questions import (
    AnswerScore,
    KeyPointHit,
    score_choice,
    score_free_text,
    score_match,
    score_order,
    score_short,
)
from grading.result import CheckResult, Result
from labs.records import Line, SessionRecord

__all__ = [
    "RATINGS",
    "Card",
    "CardState",
    "CheckResult",
    "ContentError",
    "CourseService",
    "Feedback",
    "GlossaryEntry",
    "KeyPointHit",
    "LabError",
    "Learner",
    "LessonRef",
    "LessonView",
    "Line",
    "LinkTarget",
    "Outline",
    "OutlineItem",
    "OutlineLevel",
    "OutlineModule",
    "PaletteEntry",
    "Progress",
    "QuestionView",
    "Rating",
    "RelaylabError",
    "Result",
    "SessionRecord",
    "StoreError",
    "Target",
    "line_mark",
    "md_parser",
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


# -- text helpers ---------------------------------------------------------------------------------

_INLINE = re.compile(r"`([^`]*)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\([^)]*\)")


def plain_text(markdown: str, limit: int | None = None) -> str:
    """Return Markdown as one line of plain text (code, emphasis and links reduced to their text)."""
    text = " ".join(line.strip().lstrip("#>-* ").strip() for line in markdown.strip().splitlines() if line.strip())
    text = _INLINE.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def split_sections(markdown: str) -> tuple[str, ...]:
    """Cut Markdown before each ``## `` heading (never inside a fenced code block).

    Returns:
        The sections in order; joined with newlines they are the whole text again.
    """
    sections: list[list[str]] = [[]]
    fence: str | None = None
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        elif fence is None and line.startswith("## ") and any(x.strip() for x in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    return tuple("\n".join(lines).strip("\n") + "\n" for lines in sections if any(x.strip() for x in lines))


def line_mark(line: Line) -> Literal["client", "server", "info", "tls", "auth", "error"]:
    """Classify a transcript line for display: client, server, an event, TLS, AUTH or an error.

    Client and server lines stay distinct; the start of TLS and every step of AUTH are marked, and
    4xx/5xx replies and failed handshakes are errors.
    """
    text = line.text
    upper = text.upper()
    if line.dir == "C":
        if upper.startswith("STARTTLS"):
            return "tls"
        if upper.startswith("AUTH") or text == "<redacted>":
            return "auth"
        return "client"
    if line.dir == "S":
        if text[:1] in ("4", "5"):
            return "error"
        if text.startswith(("235", "334")):
            return "auth"
        if text.startswith("220 2.0.0"):
            return "tls"
        return "server"
    if upper.startswith(("TLS HANDSHAKE FAILED", "FIREWALL")) or "REJECTED" in upper:
        return "error"
    if upper.startswith("TLS"):
        return "tls"
    if upper.startswith(("AUTH", "XOAUTH2")):
        return "auth"
    return "info"


# -- the service ----------------------------------------------------------------------------------


class CourseService:
    """The course and one progress store, as the app and the quiz see them.

    Args:
        tree: the loaded course.
        store: the progress store.
        now: the clock (UTC); tests pass a fixed one.
    """

    def __init__(self, tree: CourseTree, store: Store, *, now: Callable[[], datetime] | None = None) -> None:
        self.tree = tree
        self.store = store
        self.now = now or (lambda: datetime.now(UTC))
        self._variables = tree.template_vars()
        self._timers: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._module_of: dict[str, str] = {}
        for level in tree.course.levels:
            for module in level.modules:
                for lid in module.lessons:
                    self._module_of[lid] = module.title
        self._question_view = lru_cache(maxsize=1024)(self._build_question_view)
        self._lesson_markdown = lru_cache(maxsize=64)(self._render_lesson)
        self._search_text = lru_cache(maxsize=4096)(self._build_search_text)

    @classmethod
    def open(cls, root: Path | None = None, store: Path | None = None, *, cache: bool = True) -> CourseService:
        """Load the course at ``root`` (default: the bundled one) and open the store (default: the user's).

        Args:
            root: the course folder.
            store: the progress store file.
            cache: reuse the validated course from the user's cache when no course file changed.

        Raises:
            ContentError: when the course does not load.
            StoreError: when the store cannot be opened.
        """
        tree = load_course_cached(root or bundled_content()) if cache else load_course(root or bundled_content())
        return cls(tree, Store(store or store_path()))

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    @property
    def title(self) -> str:
        """The course title."""
        return self.tree.course.title

    def render(self, text: str) -> str:
        """Render course Markdown with the course scenario's variables."""
        return render_markdown(text, self._variables)

    # -- learners ---------------------------------------------------------------------------------

    def learners(self) -> list[Learner]:
        """Every learner profile, most recently active first."""
        return self.store.learners()

    def create_learner(self, name: str) -> Learner:
        """Create a learner profile.

        Raises:
            StoreError: when the name is empty, too long or taken.
        """
        return self.store.create_learner(name)

    def choose_learner(self, name: str) -> Learner:
        """Pick a learner by name (created when new) and mark them active."""
        learner = self.store.get_or_create_learner(name)
        self.store.touch_learner(learner.id)
        return learner

    def preference(self, learner_id: str, key: str) -> str | None:
        """A stored UI preference (theme, last screen)."""
        return self.store.get(learner_id, f"pref:{key}")

    def set_preference(self, learner_id: str, key: str, value: str) -> None:
        """Store a UI preference."""
        self.store.put(learner_id, f"pref:{key}", value)

    # -- completion rules -------------------------------------------------------------------------

    def _right_questions(self, learner_id: str) -> tuple[set[str], set[str]]:
        """(answered, answered right at least once) question ids."""
        answered: set[str] = set()
        right: set[str] = set()
        for a in self.store.answers(learner_id):
            answered.add(a.question)
            if a.correct:
                right.add(a.question)
        return answered, right

    def _check_status(self, lesson: Lesson, answered: set[str], right: set[str]) -> tuple[Status, str]:
        """A check is done when every question was answered right at least once."""
        total = len(lesson.questions)
        got = sum(q in right for q in lesson.questions)
        if got == total:
            return "done", f"{got}/{total} right"
        if any(q in answered for q in lesson.questions):
            return "started", f"{got}/{total} right"
        return "todo", f"{total} question{'s' if total != 1 else ''}"

    def _lab_status(self, learner_id: str, lab_id: str) -> tuple[Status, str]:
        """A lab is done once an attempt passed."""
        attempts = self.store.lab_attempts(learner_id, lab_id)
        if not attempts:
            return "todo", f"{self.tree.labs[lab_id].minutes} min"
        best = max(100.0 * a.score / a.max_score if a.max_score else 0.0 for a in attempts)
        if any(a.passed for a in attempts):
            return "done", f"passed, best {best:.0f}%"
        return "started", f"best {best:.0f}%"

    def _labs_by_level(self) -> dict[str, list[tuple[str, list[str]]]]:
        """Labs listed in modules, plus labs listed nowhere grouped per level."""
        listed = {lab for level in self.tree.course.levels for m in level.modules for lab in m.labs}
        extra: dict[str, list[str]] = defaultdict(list)
        for lab_id, lab in sorted(self.tree.labs.items()):
            if lab_id not in listed:
                extra[lab.level].append(lab_id)
        return {level: [("", ids)] for level, ids in extra.items()}

    def outline(self, learner_id: str) -> Outline:
        """The course map with completion marks and the "Continue" target."""
        completed = self.store.completed_lessons(learner_id)
        answered, right = self._right_questions(learner_id)
        extra = self._labs_by_level()
        levels = []
        for level in self.tree.course.levels:
            modules = []
            for module in level.modules:
                items: list[OutlineItem] = []
                for lid in module.lessons:
                    lesson = self.tree.lessons[lid]
                    status: Status = "done" if lid in completed else "todo"
                    items.append(OutlineItem("lesson", lid, lesson.title, lesson.summary, status, f"{lesson.minutes} min"))
                    if lesson.questions:
                        cstatus, detail = self._check_status(lesson, answered, right)
                        items.append(OutlineItem("check", lid, f"Knowledge check: {lesson.title}",
                                                 f"{len(lesson.questions)} questions on {lesson.title.lower()}.",
                                                 cstatus, detail))
                for lab_id in module.labs:
                    items.append(self._lab_item(learner_id, lab_id))
                modules.append(OutlineModule(module.id, module.title, module.summary, tuple(items)))
            for _, lab_ids in extra.get(level.id, []):
                modules.append(OutlineModule(f"{level.id.lower()}-labs", "More labs", "Labs of this level.",
                                             tuple(self._lab_item(learner_id, lab) for lab in lab_ids)))
            levels.append(OutlineLevel(level.id, level.title, level.summary, tuple(modules)))
        return Outline(self.tree.course.title, self.tree.course.summary, tuple(levels),
                       self._resume(learner_id, levels))

    def _lab_item(self, learner_id: str, lab_id: str) -> OutlineItem:
        lab = self.tree.labs[lab_id]
        status, detail = self._lab_status(learner_id, lab_id)
        return OutlineItem("lab", lab_id, f"Lab: {lab.title}", lab.summary, status, detail)

    def _resume(self, learner_id: str, levels: Sequence[OutlineLevel]) -> Target | None:
        """Continue where the learner stopped: the last lesson opened if unfinished, else the next
        unfinished item after it (wrapping round to the start)."""
        items = [i for level in levels for m in level.modules for i in m.items]
        if not items:
            return None
        last = self.store.get(learner_id, "last_lesson")
        start = 0
        if last is not None:
            for n, item in enumerate(items):
                if item.kind == "lesson" and item.id == last:
                    start = n
                    break
        for item in items[start:] + items[:start]:
            if item.status != "done":
                title = self.tree.lessons[item.id].title if item.kind != "lab" else self.tree.labs[item.id].title
                return Target(item.kind, item.id, title)
        return None

    def resume(self, learner_id: str) -> Target | None:
        """Where "Continue" goes."""
        return self.outline(learner_id).resume

    # -- lessons ----------------------------------------------------------------------------------

    def _render_lesson(self, lesson_id: str) -> tuple[str, tuple[str, ...]]:
        lesson = self.tree.lessons[lesson_id]
        return self.render(lesson.body), tuple(self.render(f) for f in lesson.key_facts)

    def lesson(self, lesson_id: str, learner_id: str | None = None) -> LessonView:
        """A lesson rendered for reading.

        Raises:
            UsageError: when there is no such lesson.
        """
        lesson = self._lesson(lesson_id)
        order = self.tree.lesson_order()
        index = order.index(lesson_id)
        prev_id = order[index - 1] if index > 0 else None
        next_id = order[index + 1] if index + 1 < len(order) else None
        markdown, facts = self._lesson_markdown(lesson_id)
        refs = tuple(f"{r.title} — {r.publisher}" + (f" ({r.url})" if r.url else "") for r in lesson.references)
        completed = learner_id is not None and lesson_id in self.store.completed_lessons(learner_id)
        links: list[LinkTarget] = []
        for link in internal_links(markdown):
            target = self.resolve_link(f"{link.scheme}:{link.target}")
            if target.kind != "unknown" and target not in links:
                links.append(target)
        return LessonView(
            lesson.id, lesson.level, lesson.title, lesson.summary, lesson.minutes,
            self._module_of.get(lesson_id, ""), f"Lesson {index + 1} of {len(order)}",
            tuple(lesson.objectives), facts, markdown, split_sections(markdown), tuple(lesson.questions),
            self._ref(prev_id), self._ref(next_id), refs, completed, tuple(links),
        )

    def open_lesson(self, learner_id: str, lesson_id: str) -> LessonView:
        """Record that the learner opened a lesson (it becomes "Continue"), start its reading clock,
        and return it rendered."""
        self._lesson(lesson_id)
        self.store.open_lesson(learner_id, lesson_id)
        self._start_timer(learner_id, f"lesson:{lesson_id}")
        return self.lesson(lesson_id, learner_id)

    def complete_lesson(self, learner_id: str, lesson_id: str) -> LessonView:
        """Mark a lesson complete, adding the time spent reading it since it was opened."""
        self._lesson(lesson_id)
        seconds = self._stop_timer(learner_id, f"lesson:{lesson_id}")
        self.store.complete_lesson(learner_id, lesson_id, int(seconds))
        self._start_timer(learner_id, f"lesson:{lesson_id}")
        return self.lesson(lesson_id, learner_id)

    def leave_lesson(self, learner_id: str, lesson_id: str) -> None:
        """Record the time spent on a lesson the learner is leaving."""
        seconds = self._stop_timer(learner_id, f"lesson:{lesson_id}")
        self._add_seconds(learner_id, "reading", seconds)

    def _lesson(self, lesson_id: str) -> Lesson:
        try:
            return self.tree.lessons[lesson_id]
        except KeyError:
            raise UsageError(f"no lesson {lesson_id!r}") from None

    def _ref(self, lesson_id: str | None) -> LessonRef | None:
        if lesson_id is None or lesson_id not in self.tree.lessons:
            return None
        return LessonRef(lesson_id, self.tree.lessons[lesson_id].title)

    def resolve_link(self, href: str) -> LinkTarget:
        """Say where a link in course text points: another lesson, a glossary term, an anchor in the
        same text, or the outside world (which the app never opens)."""
        scheme, sep, target = href.partition(":")
        if href.startswith("#"):
            return LinkTarget("anchor", href[1:])
        if sep and scheme == "lesson":
            lesson_id, _, _anchor = target.partition("#")
            ref = self._ref(lesson_id)
            return LinkTarget("lesson", lesson_id, ref.title) if ref else LinkTarget("unknown", href)
        if sep and scheme == "glossary":
            entry = self.glossary(target)
            return LinkTarget("glossary", target, entry.term) if entry else LinkTarget("unknown", href)
        if sep and scheme in ("http", "https", "mailto"):
            return LinkTarget("external", href)
        return LinkTarget("unknown", href)

    def glossary(self, term_id: str) -> GlossaryEntry | None:
        """A glossary term, or None."""
        if self.tree.glossary is None:
            return None
        for term in self.tree.glossary.terms:
            if term.id == term_id:
                return GlossaryEntry(term.id, term.term, self.render(term.definition), tuple(term.see_also),
                                     tuple(r for r in (self._ref(lid) for lid in term.lessons) if r))
        return None

    # -- questions --------------------------------------------------------------------------------

    def _question(self, question_id: str) -> Question:
        try:
            return self.tree.questions[question_id]
        except KeyError:
            raise UsageError(f"no question {question_id!r}") from None

    def _build_question_view(self, question_id: str) -> QuestionView:
        q = self._question(question_id)
        rng = random.Random(f"relaylab:{q.id}")
        lesson = self._ref(q.lesson)
        common: dict[str, Any] = {"id": q.id, "kind": q.kind, "level": q.level, "prompt": self.render(q.prompt),
                                  "tags": tuple(q.tags), "lesson": lesson, "interview": q.interview}
        if isinstance(q, SingleChoice | MultipleChoice):
            choices = [Choice(i, self.render(o.text)) for i, o in enumerate(q.options)]
            rng.shuffle(choices)
            return QuestionView(**common, choices=tuple(choices))
        if isinstance(q, Ordering):
            items = [self.render(i) for i in q.items]
            shuffled = items[:]
            rng.shuffle(shuffled)
            if shuffled == items:
                shuffled = shuffled[1:] + shuffled[:1]
            return QuestionView(**common, items=tuple(shuffled))
        if isinstance(q, Matching):
            rights = [self.render(p.right) for p in q.pairs] + [self.render(d) for d in q.distractors]
            rng.shuffle(rights)
            return QuestionView(**common, lefts=tuple(self.render(p.left) for p in q.pairs), rights=tuple(rights))
        return QuestionView(**common)

    def question(self, question_id: str) -> QuestionView:
        """A question as shown (options, items and right-hand entries shuffled, the same way each time).

        Raises:
            UsageError: when there is no such question.
        """
        return self._question_view(question_id)

    def check(self, learner_id: str, lesson_id: str) -> CheckView:
        """A lesson's knowledge check, with the questions already answered right."""
        lesson = self._lesson(lesson_id)
        _, right = self._right_questions(learner_id)
        self._start_timer(learner_id, "practice")
        return CheckView(LessonRef(lesson.id, lesson.title), tuple(self.question(q) for q in lesson.questions),
                         frozenset(q for q in lesson.questions if q in right))

    def questions(self, learner_id: str, question_ids: Sequence[str]) -> tuple[QuestionView, ...]:
        """Questions to practise in a row (starts the practice clock)."""
        self._start_timer(learner_id, "practice")
        return tuple(self.question(q) for q in question_ids)

    def right_answer(self, question_id: str) -> str:
        """The right answer of a question, as Markdown."""
        q = self._question(question_id)
        if isinstance(q, SingleChoice):
            return next(self.render(o.text) for o in q.options if o.correct)
        if isinstance(q, MultipleChoice):
            return "\n".join(f"- {self.render(o.text)}" for o in q.options if o.correct)
        if isinstance(q, Ordering):
            return "\n".join(f"{n}. {self.render(i)}" for n, i in enumerate(q.items, start=1))
        if isinstance(q, Matching):
            return "\n".join(f"- {self.render(p.left)} → {self.render(p.right)}" for p in q.pairs)
        return self.render(q.model_answer)

    def score(self, question_id: str, response: Any) -> Feedback:
        """Score a response without storing it.

        Responses by kind — single: the chosen option's key; multiple: a list of keys; order: the
        items in the chosen order; match: a mapping of left item to right entry (as shown);
        short and free: the text typed.

        Raises:
            UsageError: when the response has the wrong shape for the question.
        """
        q = self._question(question_id)
        view = self.question(question_id)
        notes: tuple[OptionNote, ...] = ()
        hits: tuple[KeyPointHit, ...] = ()
        model = ""
        result: AnswerScore
        if isinstance(q, SingleChoice | MultipleChoice):
            chosen = [response] if isinstance(q, SingleChoice) and isinstance(response, int) else response
            if not isinstance(chosen, list | tuple) or not all(isinstance(c, int) for c in chosen):
                raise UsageError(f"{q.id}: expected the key of the chosen option{'s' if q.kind == 'multiple' else ''}")
            right = [i for i, o in enumerate(q.options) if o.correct]
            result = score_choice(chosen, right, multiple=q.kind == "multiple")
            notes = tuple(OptionNote(c.text, q.options[c.key].correct, c.key in chosen,
                                     self.render(q.options[c.key].why or "")) for c in view.choices)
        elif isinstance(q, Ordering):
            if not isinstance(response, list | tuple) or sorted(map(str, response)) != sorted(view.items):
                raise UsageError(f"{q.id}: expected every item once, in the chosen order")
            result = score_order(list(response), [self.render(i) for i in q.items])
        elif isinstance(q, Matching):
            if not isinstance(response, Mapping):
                raise UsageError(f"{q.id}: expected a right-hand entry for each left item")
            pairs = {self.render(p.left): self.render(p.right) for p in q.pairs}
            result = score_match({str(k): str(v) for k, v in response.items()}, pairs)
        elif isinstance(q, ShortAnswer):
            if not isinstance(response, str):
                raise UsageError(f"{q.id}: expected the answer as text")
            result = score_short(response, q.accepted, q.patterns, q.case_sensitive)
            if not result.correct and not response.strip():
                result = AnswerScore(0.0, False, "no answer given")
        elif isinstance(q, FreeText):
            if not isinstance(response, str):
                raise UsageError(f"{q.id}: expected the answer as text")
            result, found = score_free_text(response, [(k.point, k.any_of) for k in q.key_points])
            hits = tuple(KeyPointHit(self.render(h.point), h.made) for h in found)
            model = self.render(q.model_answer)
        else:  # pragma: no cover - the union is closed
            raise UsageError(f"{question_id}: unknown question kind")
        return Feedback(q.id, result.correct, result.fraction, result.detail, self.render(q.explanation),
                        self.right_answer(q.id), self._ref(q.lesson), notes, hits, model)

    def answer(self, learner_id: str, question_id: str, response: Any, mode: Mode = "practice") -> Feedback:
        """Score a response, store it, and return the feedback (explanation and lesson reference included)."""
        feedback = self.score(question_id, response)
        stored = dict(response) if isinstance(response, Mapping) else (list(response) if isinstance(response, tuple) else response)
        self.store.save_answer(learner_id, question_id, mode, stored, feedback.fraction, feedback.correct)
        seconds = self._stop_timer(learner_id, "practice", cap=MAX_ANSWER_GAP)
        self._add_seconds(learner_id, "practice", seconds)
        self._start_timer(learner_id, "practice")
        return feedback

    def quiz_questions(self, learner_id: str, level: str | None = None, tag: str | None = None, count: int = 10,
                       seed: int | None = None) -> list[str]:
        """Questions for a plain-text quiz: those never answered right first (shuffled), then the rest.

        Raises:
            UsageError: when no question matches the level and tag.
        """
        ids = [q.id for q in self.tree.questions.values()
               if (level is None or q.level == level) and (tag is None or tag in q.tags)]
        if not ids:
            raise UsageError(f"no question matches{f' level {level}' if level else ''}{f' tag {tag!r}' if tag else ''}"
                             f" (tags: {', '.join(self.bank_tags())})")
        _, right = self._right_questions(learner_id)
        rng = random.Random(seed)
        fresh = [q for q in ids if q not in right]
        known = [q for q in ids if q in right]
        rng.shuffle(fresh)
        rng.shuffle(known)
        return (fresh + known)[: max(1, count)]

    # -- question bank and flashcards ------------------------------------------------------------

    def bank_tags(self, interview_only: bool = False) -> list[str]:
        """Every tag used by the questions of the bank."""
        return sorted({t for q in self.tree.questions.values() if q.interview or not interview_only for t in q.tags})

    def search_bank(self, learner_id: str | None = None, text: str = "", level: str | None = None,
                    tag: str | None = None, interview_only: bool = True) -> list[BankEntry]:
        """Questions matching every word of ``text`` (prompt, answers, tags, id), a level and a tag."""
        words = [w.casefold() for w in text.split() if w.strip()]
        answered: dict[str, int] = defaultdict(int)
        right: set[str] = set()
        if learner_id is not None:
            for a in self.store.answers(learner_id):
                answered[a.question] += 1
                if a.correct:
                    right.add(a.question)
        out = []
        for q in self.tree.questions.values():
            if interview_only and not q.interview:
                continue
            if level and q.level != level:
                continue
            if tag and tag not in q.tags:
                continue
            if words:
                haystack = self._search_text(q.id)
                if not all(w in haystack for w in words):
                    continue
            out.append(BankEntry(q.id, q.level, q.kind, tuple(q.tags), self.question(q.id).title, q.interview,
                                 answered.get(q.id, 0), q.id in right))
        out.sort(key=lambda e: (e.level, e.id))
        return out

    def _build_search_text(self, question_id: str) -> str:
        q = self._question(question_id)
        parts = [q.id, self.render(q.prompt), " ".join(q.tags), self.right_answer(question_id)]
        if isinstance(q, FreeText):
            parts += [k.point for k in q.key_points]
        return " ".join(parts).casefold()

    def _card_states(self, learner_id: str) -> dict[str, CardState]:
        return {q: CardState(box, parse_time(due), n) for q, (box, due, n) in self.store.flashcards(learner_id).items()}

    def flashcard_queue(self, learner_id: str, level: str | None = None, tag: str | None = None,
                        interview_only: bool = True, limit: int = 20,
                        question_ids: Sequence[str] | None = None) -> ReviewQueue:
        """The cards of a sitting: those due (shakiest first), then new ones, at most ``limit``.

        Cards come from the bank filtered by level, tag and scope, or from ``question_ids`` when given.
        """
        if question_ids is not None:
            ids = [qid for qid in question_ids if qid in self.tree.questions]
        else:
            ids = [e.id for e in self.search_bank(None, "", level, tag, interview_only)]
        states = self._card_states(learner_id)
        self._start_timer(learner_id, "practice")
        return ReviewQueue(due_order(ids, states, self.now())[:limit])

    def card(self, learner_id: str, question_id: str) -> Card:
        """A flashcard with what its reveal shows."""
        q = self._question(question_id)
        stored = self.store.flashcard(learner_id, question_id)
        state = CardState(stored[0], parse_time(stored[1]), stored[2]) if stored else None
        points = tuple(self.render(k.point) for k in q.key_points) if isinstance(q, FreeText) else ()
        return Card(self.question(question_id), self.right_answer(question_id), points, self.render(q.explanation),
                    state, format_due(state, self.now()))

    def rate_card(self, learner_id: str, question_id: str, rating: Rating) -> Card:
        """Rate a card after revealing it and store its new place in the schedule."""
        if rating not in RATINGS:
            raise UsageError(f"unknown rating {rating!r} (expected one of {', '.join(RATINGS)})")
        self._question(question_id)
        stored = self.store.flashcard(learner_id, question_id)
        state = CardState(stored[0], parse_time(stored[1]), stored[2]) if stored else None
        new = review(state, rating, self.now())
        self.store.save_flashcard(learner_id, question_id, new.box, _iso(new.due), rating)
        seconds = self._stop_timer(learner_id, "practice", cap=MAX_ANSWER_GAP)
        self._add_seconds(learner_id, "practice", seconds)
        self._start_timer(learner_id, "practice")
        return self.card(learner_id, question_id)

    # -- palette ----------------------------------------------------------------------------------

    def palette_entries(self) -> list[PaletteEntry]:
        """Every lesson, check, lab and question by name, for the command palette."""
        out: list[PaletteEntry] = []
        for lid in self.tree.lesson_order():
            lesson = self.tree.lessons[lid]
            out.append(PaletteEntry("lesson", lid, lesson.title, f"{lesson.level} lesson · {lesson.summary}"))
            if lesson.questions:
                out.append(PaletteEntry("check", lid, f"Knowledge check: {lesson.title}",
                                        f"{len(lesson.questions)} questions"))
        for lab_id, lab in sorted(self.tree.labs.items()):
            out.append(PaletteEntry("lab", lab_id, f"Lab: {lab.title}", f"{lab.level} lab · {lab.summary}"))
        for q in self.tree.questions.values():
            out.append(PaletteEntry("question", q.id, self.question(q.id).title,
                                    f"{q.level} {q.kind} question · {', '.join(q.tags)}"))
        return out

    # -- progress ---------------------------------------------------------------------------------

    def progress(self, learner_id: str) -> Progress:
        """Attempts history, scores per lab and level, time spent, weakest topics, scores over time."""
        completed = self.store.completed_lessons(learner_id)
        answers = self.store.answers(learner_id)
        attempts = self.store.lab_attempts(learner_id)
        latest: dict[str, float] = {}
        right: set[str] = set()
        for a in answers:
            latest[a.question] = a.fraction
            if a.correct:
                right.add(a.question)
        labs: list[LabProgress] = []
        by_lab: dict[str, list[Any]] = defaultdict(list)
        for att in attempts:
            by_lab[att.lab].append(att)
        for lab_id, lab in sorted(self.tree.labs.items(), key=lambda kv: (kv[1].level, kv[0])):
            mine = by_lab.get(lab_id, [])
            if not mine:
                continue
            pct = [_pct(a.score, a.max_score) for a in mine]
            labs.append(LabProgress(lab_id, lab.title, lab.level, len(mine), max(pct), pct[-1],
                                    any(a.passed for a in mine), mine[-1].hints_used))
        levels = []
        for level in self.tree.course.levels:
            lesson_ids = [lid for m in level.modules for lid in m.lessons]
            with_checks = [lid for lid in lesson_ids if self.tree.lessons[lid].questions]
            level_labs = [lab_id for lab_id, lab in self.tree.labs.items() if lab.level == level.id]
            qids = {q.id for q in self.tree.questions.values() if q.level == level.id}
            lab_best = [lp.best for lp in labs if lp.level == level.id]
            levels.append(LevelProgress(
                level.id, level.title,
                sum(lid in completed for lid in lesson_ids), len(lesson_ids),
                sum(all(q in right for q in self.tree.lessons[lid].questions) for lid in with_checks), len(with_checks),
                sum(lp.passed for lp in labs if lp.level == level.id), len(level_labs),
                sum(q in latest for q in qids), sum(q in right for q in qids),
                sum(lab_best) / len(lab_best) if lab_best else None,
            ))
        history = tuple(AttemptRow(a.lab, self.tree.labs[a.lab].title if a.lab in self.tree.labs else a.lab,
                                   a.finished, _pct(a.score, a.max_score), a.passed, a.gradable, a.hints_used)
                        for a in reversed(attempts))
        points: list[ScorePoint] = [ScorePoint(a.finished, _pct(a.score, a.max_score), "lab",
                                               self.tree.labs[a.lab].title if a.lab in self.tree.labs else a.lab)
                                    for a in attempts]
        per_day: dict[str, list[float]] = defaultdict(list)
        for a in answers:
            per_day[a.at[:10]].append(a.fraction)
        for day, fractions in sorted(per_day.items()):
            points.append(ScorePoint(f"{day}T12:00:00.000Z", 100.0 * sum(fractions) / len(fractions), "answers",
                                     f"{len(fractions)} answers"))
        points.sort(key=lambda p: p.at)
        seconds = {
            "reading": self.store.lesson_seconds(learner_id) + self._seconds(learner_id, "reading"),
            "practice": self._seconds(learner_id, "practice"),
            "labs": self._seconds(learner_id, "labs"),
        }
        seconds["total"] = sum(seconds.values())
        return Progress(tuple(levels), tuple(labs), history, tuple(points),
                        self._weakest(latest, labs), seconds, len(latest), len(right))

    def _weakest(self, latest: Mapping[str, float], labs: Iterable[LabProgress], count: int = 5) -> tuple[TopicScore, ...]:
        """Topics with the lowest mean score: the latest answer of each question and the best attempt of
        each lab count once for each of their tags. Topics at 100% are not weak."""
        scores: dict[str, list[float]] = defaultdict(list)
        for qid, fraction in latest.items():
            q = self.tree.questions.get(qid)
            if q is not None:
                for tag in q.tags:
                    scores[tag].append(fraction)
        for lp in labs:
            for tag in self.tree.labs[lp.id].tags:
                scores[tag].append(lp.best / 100.0)
        topics = [TopicScore(tag, 100.0 * sum(v) / len(v), len(v)) for tag, v in scores.items()]
        weak = sorted((t for t in topics if t.percent < 100.0), key=lambda t: (t.percent, -t.items, t.tag))
        return tuple(weak[:count])

    # -- time accounting --------------------------------------------------------------------------

    def _start_timer(self, learner_id: str, key: str) -> None:
        with self._lock:
            self._timers[(learner_id, key)] = time.monotonic()

    def _stop_timer(self, learner_id: str, key: str, cap: float = MAX_INTERVAL) -> float:
        with self._lock:
            started = self._timers.pop((learner_id, key), None)
        return min(cap, time.monotonic() - started) if started is not None else 0.0

    def _add_seconds(self, learner_id: str, area: str, seconds: float) -> None:
        if seconds < 1:
            return
        self.store.put(learner_id, f"seconds:{area}", str(self._seconds(learner_id, area) + int(seconds)))

    def _seconds(self, learner_id: str, area: str) -> int:
        value = self.store.get(learner_id, f"seconds:{area}")
        return int(value) if value and value.isdigit() else 0

    # -- labs -------------------------------------------------------------------------------------

    def lab_ids(self) -> list[str]:
        """Every lab in course order (labs listed in no module last)."""
        order = self.tree.lab_order()
        return order + sorted(lab for lab in self.tree.labs if lab not in order)

    def open_lab(self, lab_id: str, learner_id: str | None, *, port_base: int = 0,
                 device_timeout: float = 3.0) -> LabSession:
        """A lab session for the lab screen (its tenant starts with :meth:`LabSession.start`).

        Raises:
            UsageError: when there is no such lab.
        """
        return LabSession(self, lab_id, learner_id, port_base=port_base, device_timeout=device_timeout)

    def lab_seconds(self, learner_id: str, seconds: float) -> None:
        """Add time spent in a lab."""
        self._add_seconds(learner_id, "labs", min(seconds, 4 * MAX_INTERVAL))


def _course_fingerprint(root: Path) -> str:
    """A digest of every file's path, size and modification time under ``root``, and of this build."""
    import hashlib
    import sys

    from engine import __version__

    digest = hashlib.sha256(f"{__version__}|{sys.version}|{root.resolve()}".encode())
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            digest.update(f"{path.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    digest.update(Path(__file__).resolve().parent.joinpath("loader.py").read_bytes())
    return digest.hexdigest()[:32]


def load_course_cached(root: Path) -> CourseTree:
    """Load a course, reusing the copy validated last time when no file of it changed.

    Validating the bundled course (schema, cross-references, every template and link) takes over a
    second; the cached tree loads in tens of milliseconds. The cache lives in the user's data folder
    (``cache/``); any problem reading it falls back to a full load, which also refreshes it.
    """
    import hashlib
    import pickle

    from engine.paths import data_home

    try:
        key = _course_fingerprint(root)
        place = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        cache = data_home() / "cache" / f"course-{place}-{key}.pickle"
    except OSError:
        return load_course(root)
    if cache.is_file():
        try:
            tree = pickle.loads(cache.read_bytes())
            if isinstance(tree, CourseTree):
                return tree
        except Exception:  # a stale or damaged cache is rebuilt, never fatal
            pass
    tree = load_course(root)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for old in cache.parent.glob(f"course-{place}-*.pickle"):
            old.unlink(missing_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(cache)
    except OSError:
        pass
    return tree


def _pct(score: float, max_score: float) -> float:
    return 100.0 * score / max_score if max_score else 0.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    """A clock that always says ``moment`` (for tests and snapshots)."""
    return lambda: moment


# -- labs -----------------------------------------------------------------------------------------

FieldKind = Literal["text", "number", "select", "switch", "secret", "list"]

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_SECURITY_LABELS = {"none": "None (plain SMTP)", "starttls": "STARTTLS", "tls": "SSL/TLS (implicit)"}
_AUTH_LABELS = {"none": "None", "login": "Login (user name and password)", "plain": "Plain",
                "xoauth2": "OAuth 2.0 (XOAUTH2)"}
_TLS_ORDER = ("1.0", "1.1", "1.2", "1.3")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a device's SMTP settings form, as its capabilities allow."""

    name: str
    """Config key; OAuth settings are ``oauth.<key>``."""
    label: str
    kind: FieldKind
    group: str
    """Connection, Authentication, Message or Device."""
    help: str = ""
    options: tuple[tuple[str, str], ...] = ()
    """(label, value) pairs of a select."""
    required: bool = False
    auth: tuple[str, ...] = ()
    """Shown only when the auth setting is one of these (empty: always)."""


@dataclass(frozen=True)
class EndpointInfo:
    """A tenant endpoint and the loopback address standing in for it (for the trainee's own client)."""

    name: str
    host: str
    port: int
    listen: str


@dataclass(frozen=True)
class LabView:
    """A lab as the lab screen shows it."""

    id: str
    title: str
    level: str
    summary: str
    minutes: int
    situation: str
    """Markdown."""
    task: str
    """Markdown."""
    admin_tasks: tuple[str, ...]
    device: str
    """The device's name."""
    device_kind: str
    """What the device is (its profile's name and description)."""
    fix_on: str
    hints_total: int
    hints_shown: tuple[str, ...]
    lessons: tuple[LessonRef, ...]


@dataclass(frozen=True)
class AttemptView:
    """A graded attempt."""

    result: Result
    device_ok: bool | None
    device_error: str | None
    device_log: tuple[str, ...]
    admin_output: tuple[str, ...]
    sessions: int
    attempt_id: str
    lessons: Mapping[str, str] = field(default_factory=dict)
    """Titles of the lessons the checks point to, by id."""

    @property
    def percent(self) -> float:
        """Score in percent."""
        return self.result.percent


@dataclass(frozen=True)
class AdminReply:
    """What an admin cmdlet printed."""

    ok: bool
    output: str
    error: str = ""


def check_field(name: str, value: str) -> str | None:
    """Check one typed field of a device form; return what is wrong, or None.

    Args:
        name: the config key (``host``, ``port``, ``from_address``, ``to``, ...).
        value: the text typed.
    """
    value = value.strip()
    if name == "host":
        if not value:
            return "enter the SMTP server's host name or IP address"
        if not (_HOST.match(value) or (":" in value and _IPV6.match(value))):
            return f"{value!r} is not a host name or IP address"
    elif name == "port":
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            return "a port is a number from 1 to 65535"
    elif name in ("messages", "connections"):
        top = 500 if name == "messages" else 10
        if not value.isdigit() or not 1 <= int(value) <= top:
            return f"a number from 1 to {top}"
    elif name in ("from_address", "header_from", "username"):
        if name != "from_address" and not value:
            return None
        if not _EMAIL.match(value):
            return f"{value!r} is not an email address" if value else "enter an email address"
    elif name == "to":
        addresses = [a for a in re.split(r"[,;\s]+", value) if a]
        if not addresses:
            return "enter at least one recipient"
        bad = [a for a in addresses if not _EMAIL.match(a)]
        if bad:
            return f"{bad[0]!r} is not an email address"
    return None


class LabSession:
    """A lab with its own tenant, as the lab screen drives it.

    Args:
        service: the course service (course, store, time accounting).
        lab_id: the lab.
        learner_id: whose attempts and hints are recorded (None records nothing).
        port_base: 0 picks free ports.
        device_timeout: seconds the simulated device waits for the server.
    """

    def __init__(self, service: CourseService, lab_id: str, learner_id: str | None, *, port_base: int = 0,
                 device_timeout: float = 3.0) -> None:
        from engine.labrun import LabRunner

        if lab_id not in service.tree.labs:
            raise UsageError(f"no lab {lab_id!r}")
        self.service = service
        self.learner_id = learner_id
        self.runner = LabRunner(service.tree, lab_id, store=service.store, learner_id=learner_id,
                                port_base=port_base, device_timeout=device_timeout)
        self.lab = self.runner.lab
        self._opened: float | None = None
        self._shell: Any = None
        self._variables = service.tree.template_vars(self.runner.scenario)

    def _render(self, text: str) -> str:
        return render_markdown(text, self._variables)

    # -- what the screen shows --------------------------------------------------------------------

    def view(self) -> LabView:
        """The lab's situation, task and hints shown so far."""
        lab = self.lab
        device = next(d for d in self.runner.scenario.devices if d.id == lab.device)
        profile = self.runner.profile
        shown = self.service.store.hints_shown(self.learner_id, lab.id) if self.learner_id else 0
        return LabView(lab.id, lab.title, lab.level, lab.summary, lab.minutes, self._render(lab.situation),
                       self._render(lab.task), tuple(self._render(t) for t in lab.admin_tasks), device.name,
                       f"{profile.name}: {profile.description}", lab.fix_on, len(lab.hints),
                       tuple(self._render(h) for h in lab.hints[:shown]),
                       tuple(r for r in (self.service._ref(lid) for lid in lab.lessons) if r))

    def form(self) -> tuple[FieldSpec, ...]:
        """The device's settings form: selects offer only what the device can do."""
        profile = self.runner.profile
        best = "1.2" if profile.firmware_tls12 else profile.max_tls
        tls = (("Automatic (best available)", "auto"),) + tuple(
            (f"TLS {v}", v) for v in _TLS_ORDER if _TLS_ORDER.index(v) <= _TLS_ORDER.index(best))
        sites = tuple((f"{s.name} ({s.public_ip})", s.name) for s in self.runner.scenario.sites)
        fields = [
            FieldSpec("host", "SMTP server", "text", "Connection", "Host name or IP address", required=True),
            FieldSpec("port", "Port", "number", "Connection", "1 to 65535", required=True),
            FieldSpec("security", "Connection security", "select", "Connection",
                      options=tuple((_SECURITY_LABELS[s], s) for s in ("none", "starttls", "tls") if s in profile.security)),
            FieldSpec("tls_version", "Highest TLS version", "select", "Connection", options=tls),
            FieldSpec("verify_certificate", "Verify the server certificate", "switch", "Connection"),
            FieldSpec("auth", "Authentication", "select", "Authentication",
                      options=tuple((_AUTH_LABELS[a], a) for a in ("none", "login", "plain", "xoauth2") if a in profile.auth)),
            FieldSpec("username", "User name", "text", "Authentication", "The mailbox to sign in as",
                      auth=("login", "plain", "xoauth2")),
            FieldSpec("password", "Password", "secret", "Authentication",
                      "For Login, or the OAuth password flow. Never recorded or shown", auth=("login", "plain", "xoauth2")),
        ]
        if "xoauth2" in profile.auth:
            fields += [
                FieldSpec("oauth.flow", "OAuth flow", "select", "Authentication",
                          options=tuple((f, f) for f in sorted(profile.oauth_flows)), auth=("xoauth2",)),
                FieldSpec("oauth.tenant_id", "Tenant id", "text", "Authentication", "Directory id or domain",
                          auth=("xoauth2",)),
                FieldSpec("oauth.client_id", "Client id", "text", "Authentication", "Application id", auth=("xoauth2",)),
                FieldSpec("oauth.client_secret", "Client secret", "secret", "Authentication",
                          "Never recorded or shown", auth=("xoauth2",)),
                FieldSpec("oauth.scope", "Scope", "text", "Authentication", "Permission the token asks for",
                          auth=("xoauth2",)),
            ]
        fields += [
            FieldSpec("from_address", "From", "text", "Message", "Envelope sender", required=True),
            FieldSpec("to", "To", "list", "Message", "Recipients, separated by commas", required=True),
            FieldSpec("header_from", "From header", "text", "Message", "Empty: the same as From"),
            FieldSpec("subject", "Subject", "text", "Message"),
            FieldSpec("messages", "Messages to send", "number", "Message", "1 to 500"),
            FieldSpec("connections", "Parallel connections", "number", "Message", "1 to 10"),
            FieldSpec("site", "Site", "select", "Device", "Where the device sits (its public IP)", options=sites),
        ]
        if profile.client_certificate:
            fields.append(FieldSpec("client_certificate", "Client certificate", "text", "Device",
                                    "Name of a certificate from the local CA (empty: none)"))
        if profile.firmware_tls12:
            fields.append(FieldSpec("firmware_tls12", "TLS 1.2 firmware update installed", "switch", "Device"))
        fields.append(FieldSpec("ehlo_name", "EHLO name", "text", "Device", "Empty: the device id"))
        return tuple(fields)

    def starting_config(self) -> Any:
        """The device's starting (broken) config."""
        return self.runner.starting_config()

    def form_values(self, config: Any) -> dict[str, str | bool]:
        """A config as form values (text for inputs and selects, booleans for switches)."""
        data = config.model_dump(mode="json")
        values: dict[str, str | bool] = {}
        for spec in self.form():
            if spec.name.startswith("oauth."):
                raw = (data.get("oauth") or {}).get(spec.name.split(".", 1)[1])
            else:
                raw = data.get(spec.name)
            if spec.kind == "switch":
                values[spec.name] = bool(raw)
            elif spec.kind == "list":
                values[spec.name] = ", ".join(raw or [])
            elif spec.name == "oauth.flow" and raw is None:
                values[spec.name] = spec.options[0][1] if spec.options else ""
            else:
                values[spec.name] = "" if raw is None else str(raw)
        return values

    def config_from_form(self, values: Mapping[str, str | bool], base: Any | None = None) -> Any:
        """Build a config from form values (settings the form does not show are kept from ``base``).

        Raises:
            LabError: naming the first field that is wrong.
        """
        from pydantic import ValidationError

        from labs.devices.config import DeviceConfig

        specs = {s.name: s for s in self.form()}
        for name, value in values.items():
            if isinstance(value, str) and name in specs and (specs[name].required or value.strip()):
                problem = check_field(name, value)
                if problem:
                    raise LabError(f"{specs[name].label}: {problem}")
        data = (base or self.starting_config()).model_dump(mode="json")
        auth = str(values.get("auth", data.get("auth", "none")))
        oauth: dict[str, Any] = dict(data.get("oauth") or {})
        for name, value in values.items():
            spec = specs.get(name)
            if spec is None:
                continue
            if spec.auth and auth not in spec.auth:
                value = "" if spec.kind != "switch" else False
            if name.startswith("oauth."):
                key = name.split(".", 1)[1]
                oauth[key] = (str(value).strip() or None) if key == "client_secret" else str(value).strip()
                continue
            if spec.kind == "switch":
                data[name] = bool(value)
            elif spec.kind == "number":
                data[name] = int(str(value).strip())
            elif spec.kind == "list":
                data[name] = [a for a in re.split(r"[,;\s]+", str(value)) if a]
            elif spec.kind == "secret":
                data[name] = str(value) or None
            else:
                text = str(value).strip()
                data[name] = text if (text or spec.required or spec.kind == "select") else None
        data["oauth"] = oauth if auth == "xoauth2" else None
        if data.get("subject") is None:
            data.pop("subject", None)
        try:
            return DeviceConfig.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            label = specs[where].label if where in specs else (where or "config")
            raise LabError(f"{label}: {err['msg'].removeprefix('Value error, ')}") from None

    def config_yaml(self, config: Any) -> str:
        """A config as the YAML a trainee edits."""
        return str(self.runner.config_yaml(config))

    def parse_yaml(self, text: str) -> Any:
        """Parse a config from YAML.

        Raises:
            LabError: with each problem as LINE:COL: message.
        """
        return self.runner.parse_config(text, "device config")

    # -- the running lab --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the lab's tenant on the running event loop."""
        await self.runner.start()
        self._opened = time.monotonic()

    async def stop(self) -> None:
        """Stop the tenant and record the time spent in the lab."""
        await self.runner.stop()
        if self._opened is not None and self.learner_id is not None:
            import asyncio

            await asyncio.to_thread(self.service.lab_seconds, self.learner_id, time.monotonic() - self._opened)
        self._opened = None

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Receive every capture event (session opened, line, record) of the running tenant."""
        unsubscribe: Callable[[], None] = self.runner.tenant.subscribe(callback)
        return unsubscribe

    def endpoints(self) -> tuple[EndpointInfo, ...]:
        """The tenant's SMTP endpoints and where they listen (for swaks, curl)."""
        out = []
        for ep in self.runner.tenant.endpoints.endpoints:
            if ep.name in ("mx", "submission", "smtps"):
                out.append(EndpointInfo(ep.name, ep.hosts[0], ep.port, ep.listen))
        return tuple(out)

    def site_sources(self) -> tuple[tuple[str, str, str], ...]:
        """(site, public IP, loopback source address) for binding a real client."""
        return tuple((s.name, s.public_ip, s.source) for s in self.runner.scenario.sites)

    def _attempt(self, outcome: Any) -> AttemptView:
        device = outcome.device
        lessons = {c.lesson: self.service.tree.lessons[c.lesson].title for c in outcome.result.checks
                   if c.lesson and c.lesson in self.service.tree.lessons}
        return AttemptView(outcome.result, device.ok if device else None, outcome.device_error,
                           tuple(device.log) if device else (), tuple(outcome.admin_output),
                           len(outcome.records), outcome.attempt_id, lessons)

    async def run(self, config: Any, admin: Sequence[str] = ()) -> AttemptView:
        """Run the device with ``config``, grade what the tenant captured, and store the attempt."""
        return self._attempt(await self.runner.check(config, admin))

    async def grade_own_clients(self) -> AttemptView:
        """Grade what the trainee's own clients (swaks, curl) sent since the last grading."""
        return self._attempt(await self.runner.grade_sessions())

    def next_hint(self) -> tuple[int, str] | None:
        """Show (and record) the next hint; None when all were shown."""
        hint = self.runner.next_hint()
        return (hint[0], self._render(hint[1])) if hint else None

    @property
    def admin_available(self) -> bool:
        """Whether this build has the admin cmdlet shell."""
        return getattr(self.runner.tenant, "shell", None) is not None

    def _admin_shell(self) -> Any:
        if self._shell is None:
            self._shell = self.runner.shell()
        return self._shell

    def admin(self, line: str) -> AdminReply:
        """Run one admin cmdlet line against the lab's tenant (call it on the event loop's thread,
        where the tenant runs); its changes stay for the rest of the lab."""
        try:
            result = self._admin_shell().execute(line)
        except RelaylabError as exc:
            return AdminReply(False, "", exc.message)
        return AdminReply(bool(result.ok), str(result.output or ""), str(result.error or ""))

    def admin_complete(self, text: str) -> list[str]:
        """Completions of the last word of a cmdlet line (cmdlet names, -Parameters)."""
        try:
            return list(self._admin_shell().complete(text))
        except (RelaylabError, AttributeError):
            return []


__all__ += ["AdminReply", "AttemptRow", "AttemptView", "BankEntry", "CheckView", "Choice", "EndpointInfo",
            "FieldSpec", "LabProgress", "LabSession", "LabView", "LevelProgress", "OptionNote", "ScorePoint",
            "TopicScore", "check_field", "fixed_clock", "plain_text", "split_sections"]
