"""Provides the question models: one kind per question style, told apart by ``kind``.

Kinds: ``single`` and ``multiple`` choice, ``order``, ``match``, ``short`` answer (normalised and
regex accepted answers) and ``free`` text (model answer + key points). A question file
(``content/questions/<set>.yaml``) holds a list of them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, RootModel, model_validator

from engine.models._base import ContentModel, Id, Level, NonEmptyStr
from grading.questions import short_answer_matches

__all__ = [
    "FreeText",
    "KeyPoint",
    "MatchPair",
    "Matching",
    "MultipleChoice",
    "Option",
    "Ordering",
    "Question",
    "QuestionItem",
    "QuestionSet",
    "ShortAnswer",
    "SingleChoice",
]


_PLAIN = re.compile(r"[\w\s'@,/-]*")
"""Phrases made only of these characters have no regular-expression syntax to check."""


class Option(ContentModel):
    """One option of a choice question."""

    text: NonEmptyStr
    """The option as shown (Markdown inline)."""
    correct: bool = False
    """Whether choosing this option is right."""
    why: str | None = None
    """Feedback shown when a trainee picks this option."""


class _Question(ContentModel):
    id: Id
    """Unique question id across the whole course."""
    level: Level
    """Course level."""
    prompt: NonEmptyStr
    """The question (Markdown; may use ``{{ tenant.* }}`` variables)."""
    explanation: NonEmptyStr
    """Shown after answering: why the right answer is right."""
    lesson: Id | None = None
    """The lesson that teaches the answer."""
    tags: list[Id] = Field(default_factory=list)
    """Topics; assessments draw questions by tag and level."""
    points: int = Field(default=1, ge=1, le=20)
    """Points in assessments."""
    interview: bool = False
    """Part of the interview question bank."""


class SingleChoice(_Question):
    """Exactly one option is right."""

    kind: Literal["single"]
    """Question kind."""
    options: list[Option] = Field(min_length=2, max_length=8)
    """Options, exactly one with ``correct: true``; shown shuffled."""

    @model_validator(mode="after")
    def _one_correct(self) -> SingleChoice:
        if sum(o.correct for o in self.options) != 1:
            raise ValueError("a single-choice question needs exactly one option with 'correct: true'")
        if len({o.text for o in self.options}) != len(self.options):
            raise ValueError("options must be distinct")
        return self


class MultipleChoice(_Question):
    """One or more options are right; all right ones and no wrong one must be chosen."""

    kind: Literal["multiple"]
    """Question kind."""
    options: list[Option] = Field(min_length=3, max_length=10)
    """Options, at least one correct and one incorrect; shown shuffled."""

    @model_validator(mode="after")
    def _some_correct(self) -> MultipleChoice:
        right = sum(o.correct for o in self.options)
        if right < 1 or right == len(self.options):
            raise ValueError("a multiple-choice question needs at least one correct and one incorrect option")
        if len({o.text for o in self.options}) != len(self.options):
            raise ValueError("options must be distinct")
        return self


class Ordering(_Question):
    """Put the items in order."""

    kind: Literal["order"]
    """Question kind."""
    items: list[NonEmptyStr] = Field(min_length=3, max_length=10)
    """Items in the correct order; shown shuffled."""

    @model_validator(mode="after")
    def _distinct(self) -> Ordering:
        if len(set(self.items)) != len(self.items):
            raise ValueError("ordering items must be distinct")
        return self


class MatchPair(ContentModel):
    """A left item and the right item it belongs with."""

    left: NonEmptyStr
    """Shown in the fixed left column."""
    right: NonEmptyStr
    """The matching entry of the shuffled right column."""


class Matching(_Question):
    """Match every left item with its right item."""

    kind: Literal["match"]
    """Question kind."""
    pairs: list[MatchPair] = Field(min_length=2, max_length=8)
    """The correct pairs."""
    distractors: list[NonEmptyStr] = Field(default_factory=list)
    """Extra right-hand entries that match nothing."""

    @model_validator(mode="after")
    def _distinct(self) -> Matching:
        lefts = [p.left for p in self.pairs]
        rights = [p.right for p in self.pairs] + list(self.distractors)
        if len(set(lefts)) != len(lefts) or len(set(rights)) != len(rights):
            raise ValueError("left items, right items and distractors must all be distinct")
        return self


class ShortAnswer(_Question):
    """A typed answer, accepted when it equals an accepted answer after normalising or matches a pattern."""

    kind: Literal["short"]
    """Question kind."""
    model_answer: NonEmptyStr
    """The answer shown after answering; it must itself be accepted."""
    accepted: list[NonEmptyStr] = Field(default_factory=list)
    """Accepted answers, compared after normalising case, spaces and quotes."""
    patterns: list[NonEmptyStr] = Field(default_factory=list)
    """Regular expressions (Python syntax, matched against the whole normalised answer)."""
    case_sensitive: bool = False
    """Compare case exactly (rarely wanted: cmdlets and parameters are case-insensitive)."""
    near_misses: list[NonEmptyStr] = Field(default_factory=list)
    """Plausible wrong answers that must be rejected; checked by ``relaylab validate``."""

    @model_validator(mode="after")
    def _answers_consistent(self) -> ShortAnswer:
        if not self.accepted and not self.patterns:
            raise ValueError("a short-answer question needs 'accepted' answers or 'patterns'")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        if not short_answer_matches(self.model_answer, self.accepted, self.patterns, self.case_sensitive):
            raise ValueError("the model answer is not accepted by 'accepted' or 'patterns'")
        for miss in self.near_misses:
            if short_answer_matches(miss, self.accepted, self.patterns, self.case_sensitive):
                raise ValueError(f"near miss {miss!r} is accepted; tighten 'accepted' or 'patterns'")
        return self


class KeyPoint(ContentModel):
    """A point a good free-text answer makes, and the phrases that show it was made."""

    point: NonEmptyStr
    """The point, as shown to the trainee after answering."""
    any_of: list[NonEmptyStr] = Field(min_length=1)
    """Phrases or regular expressions; the point counts as made when one occurs in the answer."""


class FreeText(_Question):
    """An open answer scored on key-point coverage (and by an assessor in exams)."""

    kind: Literal["free"]
    """Question kind."""
    model_answer: NonEmptyStr
    """A strong answer written by the course authors."""
    key_points: list[KeyPoint] = Field(min_length=1, max_length=8)
    """What a good answer covers."""

    @model_validator(mode="after")
    def _patterns_compile(self) -> FreeText:
        for kp in self.key_points:
            for phrase in kp.any_of:
                if _PLAIN.fullmatch(phrase):
                    continue  # a plain phrase: nothing to compile
                try:
                    re.compile(phrase)
                except re.error as exc:
                    raise ValueError(f"key point phrase {phrase!r} is not a valid regular expression: {exc}") from None
        return self


Question = Annotated[
    SingleChoice | MultipleChoice | Ordering | Matching | ShortAnswer | FreeText,
    Field(discriminator="kind"),
]
"""Any question, told apart by its ``kind``."""


class QuestionSet(ContentModel):
    """A question file: a titled list of questions."""

    title: NonEmptyStr
    """What the set covers."""
    questions: list[Question] = Field(min_length=1)
    """The questions."""


class QuestionItem(RootModel[Question]):
    """One question validated on its own (so one bad question does not hide the others)."""

    model_config = {"frozen": True}
