"""Provides the lesson model (``content/lessons/<id>.yaml``)."""

from __future__ import annotations

from pydantic import Field

from engine.models._base import ContentModel, Id, Level, NonEmptyStr

__all__ = ["Lesson", "Reference"]


class Reference(ContentModel):
    """A document the lesson relies on, cited by title."""

    title: NonEmptyStr
    """Document title, e.g. 'Authenticate an IMAP, POP or SMTP connection using OAuth'."""
    publisher: str = "Microsoft Learn"
    """Who publishes it."""
    url: str | None = None
    """Where to find it (never opened by the app; shown for the trainee to copy)."""


class Lesson(ContentModel):
    """One lesson: objectives, key facts and a Markdown body."""

    id: Id
    """Unique lesson id; links use ``[text](lesson:<id>)``."""
    level: Level
    """Course level."""
    title: NonEmptyStr
    """Lesson title."""
    summary: NonEmptyStr
    """One sentence shown in the course map."""
    minutes: int = Field(default=10, ge=1, le=120)
    """Expected reading time."""
    objectives: list[NonEmptyStr] = Field(min_length=1, max_length=10)
    """What the trainee can do after the lesson."""
    key_facts: list[NonEmptyStr] = Field(min_length=1)
    """Facts to remember, shown beside the body."""
    body: NonEmptyStr
    """Markdown; may use ``{{ tenant.* }}`` variables of the course scenario (sandboxed Jinja2)."""
    questions: list[Id] = Field(default_factory=list)
    """Ids of the knowledge-check questions that follow the lesson."""
    references: list[Reference] = Field(default_factory=list)
    """Documents cited by the lesson."""
    tags: list[Id] = Field(default_factory=list)
    """Topics, used for search and weakest-topic reports."""
