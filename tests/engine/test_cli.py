"""The relaylab command line: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from tests.conftest import DATA


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, timeout=60)


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("relaylab ")
    out = run("--help").stdout
    for command in ("validate", "schema", "outline"):
        assert command in out


def test_usage_errors_are_one_line_and_exit_2() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("relaylab: error: ")
    result = run("validate", "/no/such/folder")
    assert result.returncode == 2
    assert result.stderr.strip() == "relaylab: error: /no/such/folder: no such folder"


def test_validate_good_and_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA / "course")]) == 0
    assert ": ok (1 lessons, 6 questions" in capsys.readouterr().out
    broken = tmp_path / "course"
    shutil.copytree(DATA / "course", broken)
    lesson = broken / "lessons" / "ports.yaml"
    lesson.write_text(lesson.read_text().replace("level: L1", "level: L7"))
    assert main(["validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{lesson}:2:8: expected one of 'L1', 'L2' or 'L3'; got 'L7'" in err
    assert main(["validate", str(broken), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["problems"][0]["line"] == 2


def test_schema_is_json_for_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert {"course", "lesson", "questions", "tenant", "lab", "assessment"} <= set(schemas)
    lesson = schemas["lesson"]
    assert "objectives" in lesson["properties"]
    assert lesson["properties"]["summary"]["description"].startswith("One sentence")
    assert lesson["additionalProperties"] is False


def test_outline_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outline", "--course", str(DATA / "course"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["levels"][0]["modules"][0]["lessons"][0]["id"] == "ports"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run("--debug", "outline", "--course", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    result = run("outline", "--course", str(tmp_path))
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_cli_constants_match_the_tenant() -> None:
    from engine.commands import content, tenant
    from engine.schema import FORMATS
    from labs.tenant.mailstore import FOLDERS
    from labs.tenant.trace import STATUSES

    assert tenant.STATUSES == STATUSES and tenant.FOLDERS == FOLDERS
    assert sorted(content.FORMAT_NAMES) == sorted(FORMATS)


def test_help_does_not_load_the_content_models() -> None:
    code = ("import sys; from engine.cli import build_parser; build_parser();"
            "heavy = [m for m in ('pydantic', 'aiohttp', 'aiosmtpd', 'labs.tenant.scenario') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
