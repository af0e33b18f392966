"""Learning records: progress, lab attempts and exam results as xAPI, CSV and JUnit XML."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.exam.bundle import Bundle
from engine.exam.keys import AssessorKeys
from engine.paths import store_path
from engine.store import LabAttempt, Store
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import take

CHECKS = [
    {"id": "reached-mx", "title": "Talks to the MX", "points": 1.0, "max_points": 1.0, "passed": True,
     "skipped": False, "message": "ok", "observed": "", "lesson": None, "status": "pass"},
    {"id": "delivered", "title": "Delivered", "points": 0.0, "max_points": 2.0, "passed": False, "skipped": False,
     "message": "=cmd|' /C calc'!A0 nothing arrived", "observed": "550 5.7.64", "lesson": None, "status": "fail"},
    {"id": "anonymous", "title": "Anonymous", "points": 0.0, "max_points": 1.0, "passed": False, "skipped": True,
     "message": "Skipped: needs delivered", "observed": "", "lesson": None, "status": "skipped"},
]

assessor = helpers.assessor
keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


@pytest.fixture(scope="module")
def dana(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = take(l2_bundle, l2_sealed, "Dana Trainee", out=tmp_path_factory.mktemp("dana") / "dana.json")
    assert result.path is not None
    return result.path


@pytest.fixture
def records(relaylab_home: Path, assessor: AssessorKeys, dana: Path, tmp_path: Path) -> Path:
    with Store(store_path()) as store:
        learner = store.create_learner("Dana Trainee").id
        store.save_answer(learner, "l1-ft-banner-code", "practice", "220", 1.0, True)
        store.complete_lesson(learner, "l1-message-flow", 60)
        store.save_lab_attempt(LabAttempt("a1", learner, "l1-printer-direct-send", "2026-01-01T10:00:00.000Z",
                                          "2026-01-01T10:00:03.500Z", 1, 4, False, True,
                                          {"checks": CHECKS, "reason": ""}, ["s1"], 0, {}))
    copy = tmp_path / "dana.json"
    copy.write_bytes(dana.read_bytes())
    return copy


def test_xapi_statements(records: Path, tmp_path: Path) -> None:
    assert main(["export", "--format", "xapi", "--results", str(records), "-o", str(tmp_path / "x.json")]) == 0
    statements = json.loads((tmp_path / "x.json").read_text())
    verbs = [s["verb"]["id"].rsplit("/", 1)[1] for s in statements]
    assert {"completed", "answered", "failed", "passed"} <= set(verbs)
    lab = next(s for s in statements if s["object"]["id"].endswith("/labs/l1-printer-direct-send"))
    definition = lab["object"]["definition"]
    assert definition["interactionType"] == "performance"
    assert [step["id"] for step in definition["steps"]] == ["reached-mx", "delivered", "anonymous"]
    assert lab["result"]["response"] == "reached-mx[.]pass[,]delivered[.]fail[,]anonymous[.]skipped"
    assert lab["result"]["score"] == {"raw": 1, "min": 0, "max": 4, "scaled": 0.25}
    assert lab["result"]["duration"] == "PT0H0M3.50S"
    exam = next(s for s in statements if "/assessments/" in s["object"]["id"])
    assert exam["verb"]["id"].endswith("passed") and exam["result"]["success"] is True
    assert all(len(s["id"]) == 36 and s["version"] == "1.0.3" for s in statements)
    answer = next(s for s in statements if "/questions/" in s["object"]["id"])
    assert answer["object"]["definition"]["interactionType"] == "fill-in"


def test_csv_rows_are_safe_for_spreadsheets(records: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "csv", "--results", str(records)]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("lab") == 1 and kinds.count("exam") == 1 and "lesson" in kinds and "answer" in kinds
    lab = next(r for r in rows if r["kind"] == "lab")
    assert lab["percent"] == "25.0" and lab["detail"] == "not passed: delivered anonymous"
    exam = next(r for r in rows if r["kind"] == "exam")
    assert exam["learner"] == "Dana Trainee" and exam["passed"] == "True"


def test_junit_runs_lab_checks_as_tests(records: Path, tmp_path: Path) -> None:
    assert main(["export", "--format", "junit", "--results", str(records), "-o", str(tmp_path / "j.xml")]) == 0
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.tag == "testsuites"
    lab = next(s for s in root if s.get("name", "").startswith("lab l1-printer-direct-send"))
    assert (lab.get("tests"), lab.get("failures"), lab.get("skipped")) == ("3", "1", "1")
    failure = lab.find("testcase[@name='delivered: Delivered']/failure")
    assert failure is not None and failure.get("message", "").startswith("=cmd") and failure.text == "550 5.7.64"
    exam = next(s for s in root if s.get("name", "").startswith("exam l2-mail-flow-support"))
    assert exam.find("testcase[@name='pass mark']/failure") is None
    assert int(root.get("tests", "0")) == sum(int(s.get("tests", "0")) for s in root)


def test_only_one_learner_and_altered_results_are_left_out(records: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    altered = tmp_path / "altered.json"
    altered.write_text(records.read_text().replace("Dana Trainee", "Dana Trainer"))
    assert main(["export", "--format", "csv", "--learner", "Dana Trainee", "--results", str(records),
                 str(altered)]) == 0
    captured = capsys.readouterr()
    assert "left out" in captured.err and "altered" in captured.err
    rows = list(csv.DictReader(captured.out.splitlines()))
    assert sum(1 for r in rows if r["kind"] == "exam") == 1  # the same result twice counts once
    assert main(["export", "--format", "csv", "--learner", "Nobody"]) == 1
    assert "no learner called 'Nobody'" in capsys.readouterr().err
