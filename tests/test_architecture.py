"""The rooms import in one direction only (see DESIGN.md), checked over the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# room -> top-level packages it must never import (at any depth, even lazily)
FORBIDDEN = {
    "labs": {"engine", "course", "grading", "textual"},
    "grading": {"engine", "course", "textual", "aiosmtpd"},
    "engine": {"course", "textual"},
}
# deliberate exceptions: (file, module) pairs, each with its reason
ALLOWED = {
    # `relaylab tui` starts the app; imported inside that command only.
    ("engine/commands/content.py", "course"),
    ("engine/commands/content.py", "course.app"),
    ("engine/commands/exam.py", "course.app"),
    # `relaylab exam take` opens the exam mode of the app; imported inside that command only.
    ("engine/commands/exam.py", "course.exam_app"),
}
# third-party packages that belong to one room only
OWNED = {
    "textual": {"course"},
    "aiosmtpd": {"labs"},
    "jinja2": {"engine"},
    "markdown_it": {"engine"},
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def source_files(room: str) -> list[Path]:
    return sorted((REPO / room).rglob("*.py"))


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_import_in_one_direction(room: str) -> None:
    offences = []
    for path in source_files(room):
        rel = str(path.relative_to(REPO))
        for module in imports_of(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[room] and (rel, module) not in ALLOWED:
                offences.append(f"{rel} imports {module}")
    assert offences == []


def test_grading_reads_only_record_types_from_labs() -> None:
    offences = []
    for path in source_files("grading"):
        for module in imports_of(path):
            if module.split(".")[0] == "labs" and module != "labs.records":
                offences.append(f"{path.relative_to(REPO)} imports {module}")
    assert offences == []


def test_third_party_packages_stay_in_their_room() -> None:
    offences = []
    for room in ("engine", "labs", "grading", "course"):
        for path in source_files(room):
            for module in imports_of(path):
                top = module.split(".")[0]
                if top in OWNED and room not in OWNED[top]:
                    offences.append(f"{path.relative_to(REPO)} imports {module}")
    assert offences == []


def test_importing_the_core_does_not_load_textual() -> None:
    code = (
        "import sys, engine, engine.cli, engine.loader, engine.store, labs, labs.records, grading, grading.rubric;"
        "from engine.cli import build_parser; build_parser();"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'course'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
