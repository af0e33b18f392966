"""The lab commands as a trainee uses them: start, check (fail, fix, pass), hint, list, and the
bring-your-own-client path with swaks and lab grade."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
LAB = "l1-printer-direct-send"


def relaylab(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RELAYLAB_HOME": str(home), "RELAYLAB_LEARNER": "Ann", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_start_check_fix_check(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = relaylab(home, "lab", "start", LAB)
    assert started.returncode == 0, started.stderr
    config = home / "labs" / LAB / "device.yaml"
    assert "host: smtp.office365.com" in config.read_text()
    first = relaylab(home, "lab", "check", LAB)
    assert first.returncode == 1
    assert "✗" in first.stdout and "FAIL The printer talks to the tenant's MX endpoint" in first.stdout
    assert "NOT PASSED" in first.stdout and "seen: used the submission endpoint" in first.stdout
    hint = relaylab(home, "lab", "hint", LAB)
    assert hint.stdout.startswith("Hint 1 of")
    config.write_text(config.read_text().replace("host: smtp.office365.com",
                                                 "host: contoso-com.mail.protection.outlook.com"))
    second = relaylab(home, "lab", "check", LAB, "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    data = json.loads(second.stdout)
    assert data["result"]["passed"] and data["result"]["percent"] == 100.0
    listed = json.loads(relaylab(home, "lab", "list", "--json").stdout)
    row = next(r for r in listed if r["id"] == LAB)
    assert (row["attempts"], row["passed"], row["best_percent"]) == (2, True, 100.0)


def test_broken_config_file_gets_located_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "bad.yaml"
    bad.write_text("host: [unclosed\n")
    result = relaylab(home, "lab", "check", LAB, "--config", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"relaylab: error: {bad}:2:1: invalid YAML")


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (.ci/run installs it)")
def test_bring_your_own_client_then_grade(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "RELAYLAB_HOME": str(home), "RELAYLAB_LEARNER": "Ann"}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "lab", "start", LAB, "--byo", "--port-base", "0", "--json"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        host, port = info["endpoints"]["mx"]["listen"].rsplit(":", 1)
        swaks = subprocess.run(["swaks", "--server", f"{host}:{port}", "--local-interface", "127.0.0.10",
                                "--from", "scanner@contoso.com", "--to", "adele.vance@contoso.com"],
                               capture_output=True, text=True, timeout=60)
        assert swaks.returncode == 0, swaks.stdout
        graded = relaylab(home, "lab", "grade", LAB, "--json")
        assert graded.returncode == 0, graded.stdout + graded.stderr
        assert json.loads(graded.stdout)["result"]["passed"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
