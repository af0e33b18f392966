"""Provides the course outline (``content/course.yaml``), glossary and coverage map models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.models._base import ContentModel, Id, Level, NonEmptyStr

__all__ = ["Course", "CourseLevel", "Coverage", "CoverageSection", "Glossary", "GlossaryTerm", "Module"]


class Module(ContentModel):
    """A group of lessons and labs taught together, in order."""

    id: Id
    """Unique module id."""
    title: NonEmptyStr
    """Title shown in the course map."""
    summary: str = ""
    """One or two sentences on what the module is for."""
    lessons: list[Id] = Field(default_factory=list)
    """Lesson ids, in teaching order. Each lesson's knowledge check follows it."""
    labs: list[Id] = Field(default_factory=list)
    """Lab ids practised after the lessons, in order."""


class CourseLevel(ContentModel):
    """One level of the course (L1, L2 or L3) and its modules."""

    id: Level
    """The level: L1, L2 or L3."""
    title: NonEmptyStr
    """Title of the level, e.g. 'Foundations'."""
    summary: str = ""
    """Who the level is for and what it leads to."""
    modules: list[Module] = Field(min_length=1)
    """Modules of this level, in order."""


class Course(ContentModel):
    """The whole course: its levels and modules in teaching order."""

    format_version: Literal[1] = 1
    """Version of the content format; relaylab refuses versions it does not know."""
    id: Id
    """Course id."""
    title: NonEmptyStr
    """Course title."""
    summary: str = ""
    """What a trainee gets from the course."""
    scenario: Id
    """Tenant scenario whose names lessons use in ``{{ tenant.* }}`` variables."""
    levels: list[CourseLevel] = Field(min_length=1)
    """The levels, L1 first."""


class GlossaryTerm(ContentModel):
    """One term the course uses."""

    id: Id
    """Anchor used in links: ``[MX](glossary:mx)``."""
    term: NonEmptyStr
    """The term as shown."""
    definition: NonEmptyStr
    """What it means, in one short paragraph (Markdown)."""
    see_also: list[Id] = Field(default_factory=list)
    """Related glossary ids."""
    lessons: list[Id] = Field(default_factory=list)
    """Lessons that explain the term."""


class Glossary(ContentModel):
    """The glossary file (``content/glossary.yaml``)."""

    terms: list[GlossaryTerm]
    """Terms in alphabetical order."""


class CoverageSection(ContentModel):
    """One section or table of the source article and what teaches and tests it."""

    heading: NonEmptyStr
    """The section's heading in the source article."""
    lessons: list[Id] = Field(default_factory=list)
    """Lessons that teach it."""
    questions: list[Id] = Field(default_factory=list)
    """Questions that test it."""
    labs: list[Id] = Field(default_factory=list)
    """Labs that practise it."""


class Coverage(ContentModel):
    """The coverage map (``content/coverage.yaml``): source sections → lesson, question, lab ids."""

    source: NonEmptyStr
    """Title of the source article."""
    sections: list[CoverageSection] = Field(min_length=1)
    """Every section and table of the source, in its order."""
