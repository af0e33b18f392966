"""Provides the base of every content model: frozen, strict about unknown keys, documented."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["ContentModel", "Id", "Level", "LEVELS", "NonEmptyStr"]


class ContentModel(BaseModel):
    """Base model: immutable, rejects unknown keys, field docs flow into the JSON Schema."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=False,
        validate_default=True,
    )


Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=2, max_length=64),
]
"""An identifier: lower-case letters, digits and dashes, unique within its kind."""

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]

Level = Literal["L1", "L2", "L3"]
"""Course level: L1 (foundations), L2 (engineer), L3 (architect)."""

LEVELS: tuple[Level, ...] = ("L1", "L2", "L3")
