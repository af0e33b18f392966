"""Provides relaylab's error tree and the exit code each error maps to.

    RelaylabError (exit 1)
    ├── UsageError (exit 2)            a command line that cannot be run as written
    ├── ContentError                   course files that do not validate (carries Problems)
    ├── StoreError                     the progress store cannot be opened or written
    ├── LabError                       a lab cannot be started, run or graded
    ├── TenantError                    the mock tenant cannot start or be reached
    └── ExamError                      bundles and results that are invalid or tampered with

Only ``engine.cli`` turns these into one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.problems import Problem

__all__ = [
    "ContentError",
    "ExamError",
    "LabError",
    "RelaylabError",
    "StoreError",
    "TenantError",
    "UsageError",
]


class RelaylabError(Exception):
    """Base of every error relaylab reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(RelaylabError):
    """Raised when a command line names something that does not exist or mixes options."""

    exit_code = 2


class ContentError(RelaylabError):
    """Raised when course content does not load; ``problems`` lists every located error."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class StoreError(RelaylabError):
    """Raised when the progress store cannot be opened, migrated or written."""


class LabError(RelaylabError):
    """Raised when a lab cannot be started, its config is invalid, or it cannot be graded."""


class TenantError(RelaylabError):
    """Raised when the mock tenant cannot start or its control channel cannot be reached."""


class ExamError(RelaylabError):
    """Raised for invalid, tampered or mismatched exam bundles and results."""
