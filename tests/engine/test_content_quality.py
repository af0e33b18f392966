"""Quality bar of the bundled course, beyond what the content models enforce on their own.

Every property is a small check function that returns the problems it finds. The first group of
tests runs each check over the bundled course and expects no problems; the second group feeds each
check a deliberately broken item and expects it to be reported, so no test here can pass by
accident.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from engine.errors import ContentError
from engine.loader import CourseTree, load_course
from engine.models.course import Coverage, CoverageSection
from engine.models.lesson import Lesson
from engine.models.question import (
    FreeText,
    KeyPoint,
    Matching,
    MatchPair,
    MultipleChoice,
    Option,
    Ordering,
    ShortAnswer,
    SingleChoice,
)
from engine.paths import bundled_content
from engine.render import render_markdown
from grading.questions import normalise_answer, score_order, short_answer_matches

MIN_WORDS, MAX_WORDS = 600, 1500
MIN_CHECKS, MAX_CHECKS = 5, 10
MIN_INTERVIEW_ITEMS = 57
MIN_AUTO_GRADED = 120
AUTO_GRADED = {"single", "multiple", "order", "match", "short"}

Render = Callable[[str], str]


# -- check functions ----------------------------------------------------------------------------


def choice_problems(questions: Iterable[Any]) -> list[str]:
    """Single choice: exactly one right option; multiple choice: at least one right and one wrong.

    Options must also be distinct after normalising case and spacing (a trainee cannot tell
    'Port 25' from 'port 25' apart).
    """
    problems = []
    for q in questions:
        if q.kind not in ("single", "multiple"):
            continue
        right = [o for o in q.options if o.correct]
        if q.kind == "single" and len(right) != 1:
            problems.append(f"{q.id}: single choice has {len(right)} correct options")
        if q.kind == "multiple" and (not right or len(right) == len(q.options)):
            problems.append(f"{q.id}: multiple choice needs at least one correct and one incorrect option")
        shown = [normalise_answer(o.text) for o in q.options]
        if len(set(shown)) != len(shown):
            problems.append(f"{q.id}: two options read the same")
    return problems


def ordering_problems(questions: Iterable[Any], seed: int = 7) -> list[str]:
    """Orderings: distinct items; the shuffled list shown is a permutation of the answer key.

    A shuffle of the items must contain exactly the same entries, the key itself must score as
    right, and any other order must score as wrong.
    """
    problems = []
    rng = random.Random(seed)
    for q in questions:
        if q.kind != "order":
            continue
        items = list(q.items)
        if len(items) < 3:
            problems.append(f"{q.id}: an ordering needs at least three items")
            continue
        normalised = [normalise_answer(i) for i in items]
        if len(set(normalised)) != len(normalised):
            problems.append(f"{q.id}: ordering items are not distinct")
            continue
        shown = rng.sample(items, len(items))
        if sorted(shown) != sorted(items):
            problems.append(f"{q.id}: the items shown are not a permutation of the answer key")
        if not score_order(items, items).correct:
            problems.append(f"{q.id}: the answer key does not score as right")
        swapped = items[1:] + items[:1]
        if score_order(swapped, items).correct:
            problems.append(f"{q.id}: a wrong order scores as right")
    return problems


def matching_problems(questions: Iterable[Any]) -> list[str]:
    """Matchings: left entries and right entries (with distractors) distinct after normalising."""
    problems = []
    for q in questions:
        if q.kind != "match":
            continue
        lefts = [normalise_answer(p.left) for p in q.pairs]
        rights = [normalise_answer(p.right) for p in q.pairs] + [normalise_answer(d) for d in q.distractors]
        if len(set(lefts)) != len(lefts) or len(set(rights)) != len(rights):
            problems.append(f"{q.id}: matching entries are not distinct")
    return problems


def short_answer_problems(questions: Iterable[Any]) -> list[str]:
    """Short answers: the model answer is accepted, every near miss rejected, at least one near miss."""
    problems = []
    for q in questions:
        if q.kind != "short":
            continue
        if not q.near_misses:
            problems.append(f"{q.id}: short answer has no near miss")
        if not short_answer_matches(q.model_answer, q.accepted, q.patterns, q.case_sensitive):
            problems.append(f"{q.id}: model answer {q.model_answer!r} is not accepted")
        for miss in q.near_misses:
            if short_answer_matches(miss, q.accepted, q.patterns, q.case_sensitive):
                problems.append(f"{q.id}: near miss {miss!r} is accepted")
    return problems


def _prompt_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", normalise_answer(text)).strip()


def duplicate_prompt_problems(questions: Iterable[Any], render: Render) -> list[str]:
    """No two questions ask the same thing in the same words (after rendering and normalising)."""
    seen: dict[str, str] = {}
    problems = []
    for q in questions:
        key = _prompt_key(render(q.prompt))
        if key in seen:
            problems.append(f"{q.id}: same prompt as {seen[key]}")
        else:
            seen[key] = q.id
    return problems


def word_count(markdown: str) -> int:
    """Count words: whitespace-separated tokens with at least one letter or digit.

    Table rules, list bullets and fences (``|``, ``---``, ``-``, ```` ``` ````) are not words.
    """
    return sum(1 for token in markdown.split() if re.search(r"[^\W_]", token))


def lesson_problems(lessons: Mapping[str, Any], questions: Mapping[str, Any], render: Render) -> list[str]:
    """Lessons: 600–1,500 words of body and 5–10 auto-graded knowledge-check questions that exist."""
    problems = []
    for lid, lesson in lessons.items():
        words = word_count(render(lesson.body))
        if not MIN_WORDS <= words <= MAX_WORDS:
            problems.append(f"{lid}: body has {words} words (expected {MIN_WORDS}–{MAX_WORDS})")
        checks = list(lesson.questions)
        if not MIN_CHECKS <= len(checks) <= MAX_CHECKS:
            problems.append(f"{lid}: {len(checks)} knowledge-check questions (expected {MIN_CHECKS}–{MAX_CHECKS})")
        if len(set(checks)) != len(checks):
            problems.append(f"{lid}: a knowledge-check question is listed twice")
        for qid in checks:
            if qid not in questions:
                problems.append(f"{lid}: knowledge check {qid!r} does not exist")
            elif questions[qid].kind not in AUTO_GRADED:
                problems.append(f"{lid}: knowledge check {qid!r} is not auto-graded")
    return problems


def question_lesson_problems(questions: Iterable[Any], lessons: Mapping[str, Any]) -> list[str]:
    """Every question names the lesson that teaches it, and that lesson exists."""
    problems = []
    for q in questions:
        if q.lesson is None:
            problems.append(f"{q.id}: no lesson")
        elif q.lesson not in lessons:
            problems.append(f"{q.id}: lesson {q.lesson!r} does not exist")
    return problems


def bank_size_problems(questions: Iterable[Any]) -> list[str]:
    """The interview bank and the pool of auto-graded questions are large enough."""
    questions = list(questions)
    interview = sum(1 for q in questions if q.interview)
    auto = sum(1 for q in questions if q.kind in AUTO_GRADED)
    problems = []
    if interview < MIN_INTERVIEW_ITEMS:
        problems.append(f"interview bank has {interview} items (expected at least {MIN_INTERVIEW_ITEMS})")
    if auto < MIN_AUTO_GRADED:
        problems.append(f"course has {auto} auto-graded questions (expected at least {MIN_AUTO_GRADED})")
    return problems


def coverage_problems(coverage: Any) -> list[str]:
    """Every section of the source article is taught by a lesson and tested by a question."""
    if coverage is None:
        return ["content/coverage.yaml is missing"]
    problems = []
    for section in coverage.sections:
        if not section.lessons:
            problems.append(f"{section.heading!r}: no lesson")
        if not section.questions:
            problems.append(f"{section.heading!r}: no question")
    return problems


# -- the bundled course -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def course() -> CourseTree:
    try:
        return load_course(bundled_content())
    except ContentError as exc:
        shown = "\n".join(str(p) for p in exc.problems[:20])
        pytest.fail(f"the bundled course does not load ({len(exc.problems)} problems):\n{shown}")


@pytest.fixture(scope="module")
def render(course: CourseTree) -> Render:
    variables = course.template_vars()
    return lambda text: render_markdown(text, variables)


def _report(problems: list[str]) -> str:
    return "\n".join(problems)


def test_choice_questions_have_their_right_answers_among_the_options(course: CourseTree) -> None:
    problems = choice_problems(course.questions.values())
    assert not problems, _report(problems)


def test_orderings_are_permutations_of_distinct_items(course: CourseTree) -> None:
    problems = ordering_problems(course.questions.values())
    assert not problems, _report(problems)


def test_matchings_have_distinct_entries(course: CourseTree) -> None:
    problems = matching_problems(course.questions.values())
    assert not problems, _report(problems)


def test_short_answers_accept_the_model_answer_and_reject_every_near_miss(course: CourseTree) -> None:
    problems = short_answer_problems(course.questions.values())
    assert not problems, _report(problems)


def test_no_two_questions_share_a_prompt(course: CourseTree, render: Render) -> None:
    problems = duplicate_prompt_problems(course.questions.values(), render)
    assert not problems, _report(problems)


def test_lessons_have_the_right_length_and_number_of_checks(course: CourseTree, render: Render) -> None:
    problems = lesson_problems(course.lessons, course.questions, render)
    assert not problems, _report(problems)


def test_every_question_names_an_existing_lesson(course: CourseTree) -> None:
    problems = question_lesson_problems(course.questions.values(), course.lessons)
    assert not problems, _report(problems)


def test_interview_bank_and_auto_graded_pool_are_big_enough(course: CourseTree) -> None:
    problems = bank_size_problems(course.questions.values())
    assert not problems, _report(problems)


def test_every_source_section_is_taught_and_tested(course: CourseTree) -> None:
    problems = coverage_problems(course.coverage)
    assert not problems, _report(problems)


# -- the checks catch what they claim to catch --------------------------------------------------
# Broken items are built with model_construct, which skips the models' own validation, so these
# are exactly the mistakes the models would stop at load time — and that the checks must still see.

BASE: dict[str, Any] = {"level": "L2", "prompt": "p", "explanation": "e", "lesson": "l", "tags": [],
                        "points": 1, "interview": False}


def _single(*correct: bool, texts: list[str] | None = None, lesson: str | None = "l") -> SingleChoice:
    texts = texts or [f"o{i}" for i in range(len(correct))]
    opts = [Option.model_construct(text=text, correct=c, why=None) for text, c in zip(texts, correct, strict=True)]
    return SingleChoice.model_construct(id="q-single", kind="single", options=opts, **{**BASE, "lesson": lesson})


def _multiple(*correct: bool) -> MultipleChoice:
    opts = [Option.model_construct(text=f"o{i}", correct=c, why=None) for i, c in enumerate(correct)]
    return MultipleChoice.model_construct(id="q-multi", kind="multiple", options=opts, **BASE)


def _order(*items: str) -> Ordering:
    return Ordering.model_construct(id="q-order", kind="order", items=list(items), **BASE)


def _short(model: str, accepted: list[str], misses: list[str], patterns: list[str] | None = None) -> ShortAnswer:
    return ShortAnswer.model_construct(id="q-short", kind="short", model_answer=model, accepted=accepted,
                                       patterns=patterns or [], case_sensitive=False, near_misses=misses, **BASE)


def _free(qid: str, prompt: str, *, interview: bool = True) -> FreeText:
    base = {**BASE, "prompt": prompt, "interview": interview}
    return FreeText.model_construct(id=qid, kind="free", model_answer="m",
                                    key_points=[KeyPoint(point="x", any_of=["x"])], **base)


def _lesson(words: int, questions: list[str]) -> Lesson:
    return Lesson.model_construct(id="l", level="L3", title="t", summary="s", minutes=10, objectives=["o"],
                                  key_facts=["k"], body="word " * words, questions=questions,
                                  references=[], tags=[])


def test_choice_check_catches_wrong_keys() -> None:
    assert choice_problems([_single(True, False)]) == []
    assert choice_problems([_multiple(True, True, False)]) == []
    assert choice_problems([_single(False, False)])
    assert choice_problems([_single(True, True)])
    assert choice_problems([_multiple(False, False, False)])
    assert choice_problems([_multiple(True, True, True)])
    assert choice_problems([_single(True, False, texts=["Port 25", "port  25"])])


def test_ordering_check_catches_repeated_or_too_few_items() -> None:
    assert ordering_problems([_order("EHLO", "STARTTLS", "AUTH")]) == []
    assert ordering_problems([_order("EHLO", "AUTH", "ehlo")])
    assert ordering_problems([_order("EHLO", "AUTH")])


def test_matching_check_catches_entries_that_read_the_same() -> None:
    pairs = [MatchPair(left="a", right="x"), MatchPair(left="b", right="y")]
    good = Matching.model_construct(id="q-match", kind="match", pairs=pairs, distractors=["z"], **BASE)
    bad = Matching.model_construct(id="q-match", kind="match", pairs=pairs, distractors=["X "], **BASE)
    assert matching_problems([good]) == []
    assert matching_problems([bad])


def test_short_answer_check_catches_bad_keys() -> None:
    assert short_answer_problems([_short("Set-X $true", ["set-x $true"], ["Set-X $false"])]) == []
    assert short_answer_problems([_short("Set-X $true", ["set-x $true"], [])])
    assert short_answer_problems([_short("Set-X $true", ["set-y $true"], ["Set-X $false"])])
    assert short_answer_problems([_short("Set-X $true", [], ["Set-X $false"], [r"set-x .*"])])


def test_duplicate_prompt_check_ignores_case_spacing_and_punctuation() -> None:
    same = [_free("a", "What is *Direct Send*?"), _free("b", "what is   direct send")]
    different = [_free("a", "What is Direct Send?"), _free("b", "What is connector relay?")]
    assert duplicate_prompt_problems(same, lambda t: t)
    assert duplicate_prompt_problems(different, lambda t: t) == []


def test_word_count_skips_markdown_punctuation() -> None:
    assert word_count("| Port | Host |\n|---|---|\n| 25 | MX |\n- item") == 5
    assert word_count("```\nEHLO contoso.com\n```") == 2


def test_lesson_check_catches_length_and_check_count() -> None:
    questions = {f"q{i}": _single(True, False) for i in range(11)}
    questions["free"] = _free("free", "p", interview=False)
    five = [f"q{i}" for i in range(5)]
    assert lesson_problems({"l": _lesson(700, five)}, questions, lambda t: t) == []
    assert lesson_problems({"l": _lesson(599, five)}, questions, lambda t: t)
    assert lesson_problems({"l": _lesson(1501, five)}, questions, lambda t: t)
    assert lesson_problems({"l": _lesson(700, five[:4])}, questions, lambda t: t)
    assert lesson_problems({"l": _lesson(700, [f"q{i}" for i in range(11)])}, questions, lambda t: t)
    assert lesson_problems({"l": _lesson(700, [*five[:4], "missing"])}, questions, lambda t: t)
    assert lesson_problems({"l": _lesson(700, [*five[:4], "free"])}, questions, lambda t: t)


def test_question_lesson_check_catches_missing_and_unknown_lessons() -> None:
    lessons = {"l": object()}
    assert question_lesson_problems([_single(True, False)], lessons) == []
    assert question_lesson_problems([_single(True, False, lesson="nowhere")], lessons)
    assert question_lesson_problems([_single(True, False, lesson=None)], lessons)


def test_bank_size_check_counts_interview_and_auto_graded_items() -> None:
    interview = [_free(f"i{i}", f"p{i}") for i in range(MIN_INTERVIEW_ITEMS)]
    auto = [_single(True, False) for _ in range(MIN_AUTO_GRADED)]
    assert bank_size_problems(interview + auto) == []
    assert bank_size_problems(interview[1:] + auto)
    assert bank_size_problems(interview + auto[1:])


def test_coverage_check_needs_a_lesson_and_a_question_per_section() -> None:
    def cov(*sections: CoverageSection) -> Coverage:
        return Coverage.model_construct(source="s", sections=list(sections))

    full = CoverageSection.model_construct(heading="h", lessons=["l"], questions=["q"], labs=[])
    no_question = CoverageSection.model_construct(heading="h", lessons=["l"], questions=[], labs=[])
    no_lesson = CoverageSection.model_construct(heading="h", lessons=[], questions=["q"], labs=[])
    assert coverage_problems(cov(full)) == []
    assert coverage_problems(cov(full, no_question))
    assert coverage_problems(cov(no_lesson))
    assert coverage_problems(None)
