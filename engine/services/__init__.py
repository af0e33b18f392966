"""Provides the façade the terminal app and the plain-text quiz use: everything a trainee sees.

:class:`CourseService` (``engine.services.course``) owns the loaded course and the progress store and
answers what a screen asks; :class:`LabSession` (``engine.services.labs``) wraps the lab runner for
the lab screen; the views they return are in ``engine.services.views``.
"""

from __future__ import annotations

from engine.errors import ContentError, LabError, RelaylabError, StoreError
from engine.flashcards import RATINGS, CardState, Rating
from engine.render import md_parser
from engine.services.course import CourseService, fixed_clock, load_course_cached
from engine.services.labs import (
    AdminReply,
    AttemptView,
    EndpointInfo,
    FieldKind,
    FieldSpec,
    LabSession,
    LabView,
    check_field,
)
from engine.services.text import line_mark, plain_text, split_sections
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
    ItemKind,
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
from engine.store import Learner
from grading.questions import KeyPointHit
from grading.result import CheckResult, Result
from labs.records import Line, SessionRecord

__all__ = [
    "AdminReply",
    "AttemptRow",
    "AttemptView",
    "BankEntry",
    "Card",
    "CardState",
    "CheckResult",
    "CheckView",
    "Choice",
    "ContentError",
    "CourseService",
    "EndpointInfo",
    "Feedback",
    "FieldKind",
    "FieldSpec",
    "GlossaryEntry",
    "ItemKind",
    "KeyPointHit",
    "LabError",
    "LabProgress",
    "LabSession",
    "LabView",
    "Learner",
    "LessonRef",
    "LessonView",
    "LevelProgress",
    "Line",
    "LinkTarget",
    "MAX_ANSWER_GAP",
    "MAX_INTERVAL",
    "Mode",
    "OptionNote",
    "Outline",
    "OutlineItem",
    "OutlineLevel",
    "OutlineModule",
    "PaletteEntry",
    "Progress",
    "QuestionView",
    "RATINGS",
    "Rating",
    "RelaylabError",
    "Result",
    "ScorePoint",
    "SessionRecord",
    "Status",
    "StoreError",
    "Target",
    "TopicScore",
    "check_field",
    "fixed_clock",
    "line_mark",
    "load_course_cached",
    "md_parser",
    "plain_text",
    "split_sections",
]
