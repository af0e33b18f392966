"""Provides :class:`CourseService`: the course, the learner's progress, answers, flashcards and progress figures.

Every rule lives here (or in ``grading`` for scoring, ``engine.flashcards`` for the schedule): what
counts as complete, where "Continue" goes, how options are shuffled, which topics are weakest.
Calls that touch the store or the disk block; the app runs them in workers.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.coursecache import load_course_cached
from engine.errors import UsageError
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
from engine.render import internal_links, render_markdown
from engine.services.labs import LabSession
from engine.services.text import split_sections
from engine.services.views import (
    MAX_ANSWER_GAP,
    MAX_INTERVAL,
    AttemptRow,
    BankEntry,
    Card,
    CheckView,
    Choice,
    Feedback,
    GlossaryEntry,
    LabProgress,
    LessonRef,
    LessonView,
    LevelProgress,
    LinkTarget,
    Mode,
    OptionNote,
    Outline,
    OutlineItem,
    OutlineLevel,
    OutlineModule,
    PaletteEntry,
    Progress,
    QuestionView,
    ScorePoint,
    Status,
    Target,
    TopicScore,
)
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

__all__ = [
    "CourseService", "fixed_clock", "load_course_cached"
]


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


def _pct(score: float, max_score: float) -> float:
    return 100.0 * score / max_score if max_score else 0.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    """A clock that always says ``moment`` (for tests and snapshots)."""
    return lambda: moment
