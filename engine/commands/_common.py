"""Provides helpers shared by the command modules: the course option, JSON output, consoles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.paths import bundled_content

__all__ = ["add_course_option", "course_root", "emit_json", "stderr_console", "stdout_console"]


def add_course_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--course DIR`` (default: the bundled course)."""
    parser.add_argument("--course", metavar="DIR", type=Path, default=None,
                        help="course folder (default: the bundled course)")


def course_root(value: Path | None) -> Path:
    """Return the course folder chosen on the command line."""
    return value if value is not None else bundled_content()


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def stdout_console() -> Any:
    """Return a rich console on stdout (imported lazily: rich is for the CLI only)."""
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Any:
    """Return a rich console on stderr."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)
