"""Provides ``relaylab export --format xapi|csv|junit``: progress, lab attempts and exam results."""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the export command."""
