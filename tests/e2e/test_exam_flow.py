"""The hiring manager's whole flow through the real command line, each step a subprocess with its own
RELAYLAB_HOME: pack the L2 assessment, two candidates take it with --plain (one passes, one fails,
each runs the lab with a device config file), verify both, tamper with one and see it refused,
review with a free-text override, report, and issue a certificate whose credential verifies."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.exam.bundle import Bundle
from engine.exam.keys import load_keys
from engine.exam.labitem import build_exam_lab
from engine.exam.plan import derive_seed, plan_attempt
from engine.labrun import LabRunner
from tests.engine.test_exam_helpers import plain_line, response_for

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = '<script>alert("owned")</script>'


def relaylab(home: Path, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the relaylab command line."""
    env = {**os.environ, "RELAYLAB_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=180)


def plain_input(bundle: Bundle, sealed: dict[str, Any], candidate: str, good: bool, folder: Path) -> str:
    """Everything a candidate types in 'exam take --plain', computed from the sealed keys."""
    seed = derive_seed(bundle.id, candidate, 1)
    lines = [""]  # Enter starts the timer
    for item in plan_attempt(bundle.payload, seed).items:
        if item.is_lab:
            exam_lab = build_exam_lab(bundle.labs[item.lab_id], seed, sealed["labs"][item.lab_id])
            config = folder / f"{candidate.split()[0].lower()}-{item.lab_id}.yaml"
            config.write_text(LabRunner.config_yaml(exam_lab.solution_config if good else exam_lab.lab.start_config))
            lines += [f"admin {a}" for a in (exam_lab.lab.solution.admin if good else [])]
            lines += [str(config), "done"]
            continue
        response = response_for(item, sealed["questions"][item.id], good)
        if item.kind == "free" and not good:
            response = f"{SCRIPT}\nI would restart the <b>printer</b> & hope."
        lines += plain_line(item, response)
    return "\n".join([*lines, "submit"]) + "\n"


def test_hiring_manager_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("RELAYLAB_HOME", str(home))

    # 1. The assessor packs the L2 screen (keys are created on the first pack).
    packed = relaylab(home, work, "exam", "pack", "l2-mail-flow-support", "-o", "exam.rlx", "--json")
    assert packed.returncode == 0, packed.stderr
    assert json.loads(packed.stdout)["keys_created"]
    bundle = Bundle.load(work / "exam.rlx")
    keys = load_keys()
    sealed = bundle.unseal(keys)

    # 2. Two candidates take it on "their" machines (their own RELAYLAB_HOME), answering on stdin.
    outcomes = {}
    for name, good in (("Alice Able", True), ("Bob Baker", False)):
        candidate_home = tmp_path / f"home-{name.split()[0].lower()}"
        taken = relaylab(candidate_home, work, "exam", "take", "exam.rlx", "--candidate", name, "--plain",
                         "-o", f"{name.split()[0].lower()}.json",
                         stdin=plain_input(bundle, sealed, name, good, work))
        assert taken.returncode == 0, taken.stdout[-2000:] + taken.stderr
        assert "The exam was handed in." in taken.stdout
        assert ("Device: sent" if good else "Device: failed: token request refused") in taken.stdout
        assert "Saved." in taken.stdout and "right" in taken.stdout.split("handed in")[-1]
        outcomes[name] = work / f"{name.split()[0].lower()}.json"
    alice, bob = outcomes["Alice Able"], outcomes["Bob Baker"]

    # 3. The assessor verifies both.
    for result in (alice, bob):
        verified = relaylab(home, work, "exam", "verify", result.name)
        assert verified.returncode == 0, verified.stderr
        assert "answers exactly the items" in verified.stdout

    # 4. A changed answer byte is refused by verify, review and report alike.
    tampered = work / "bob-tampered.json"
    text = bob.read_text()
    index = re.search(r'"response": (\d)', text).start(1)  # type: ignore[union-attr]
    tampered.write_text(text[:index] + ("7" if text[index] != "7" else "8") + text[index + 1:])
    refused = relaylab(home, work, "exam", "verify", tampered.name)
    assert refused.returncode == 1 and "altered after it was signed" in refused.stderr
    assert relaylab(home, work, "exam", "review", tampered.name).returncode == 1

    # 5. Review: Alice's written answer is given full marks by hand, with a note.
    reviewed = relaylab(home, work, "exam", "review", alice.name, "--json")
    assert reviewed.returncode == 0, reviewed.stderr
    free = next(i for i in json.loads(reviewed.stdout)["items"] if i["kind"] == "free")
    overridden = relaylab(home, work, "exam", "review", alice.name, "--override", free["item"],
                          str(free["max_points"]), "Clear diagnosis and next steps", "--json")
    assert overridden.returncode == 0, overridden.stderr
    review = json.loads(overridden.stdout)
    assert review["overrides"][0]["note"] == "Clear diagnosis and next steps" and review["passed"]
    assert relaylab(home, work, "exam", "review", bob.name).returncode == 0

    # 6. Report over both (and the tampered file, which is listed as refused).
    report = relaylab(home, work, "exam", "report", alice.name, bob.name, tampered.name, "-o", "report/report.html",
                      "--json")
    assert report.returncode == 0, report.stderr
    summary = json.loads(report.stdout)
    assert (summary["candidates"], summary["passed"], summary["refused"]) == (2, 1, 1)
    html = (work / "report" / "report.html").read_text()
    assert SCRIPT not in html and "&lt;script&gt;" in html and "<b>printer</b>" not in html
    assert "Fewer than 30 candidates" in html and "bob-tampered.json" in html
    rows = list(csv.DictReader((work / "report" / "report.csv").read_text().splitlines()))
    assert [(r["candidate"], r["passed"]) for r in rows] == [("Alice Able", "True"), ("Bob Baker", "False")]
    data = json.loads((work / "report" / "report.json").read_text())
    assert any(SCRIPT in answer for answer in data["candidates"][1]["written_answers"].values())
    assert data["candidates"][0]["labs"]["lab:l2-portal-secret-id"][0]["status"] == "pass"

    # 7. A certificate for Alice, verifiable by anyone offline; none for Bob.
    issued = relaylab(home, work, "exam", "certificate", alice.name, "-o", "certs", "--json")
    assert issued.returncode == 0, issued.stderr
    files = json.loads(issued.stdout)
    assert (work / files["certificate"]).is_file()
    checked = relaylab(tmp_path / "anyone", work, "exam", "verify", files["credential"])
    assert checked.returncode == 0 and "Alice Able passed 'Mail-flow support engineer'" in checked.stdout
    none = relaylab(home, work, "exam", "certificate", bob.name)
    assert none.returncode == 1 and "did not pass" in none.stderr
