"""Benchmark: a lab check end to end (tenant start, device run, grade, store), and grading 10,000
records against a 20-check rubric; baseline: the same device run against an already-started tenant."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB = "l1-printer-direct-send"


def _records(n: int) -> list[object]:
    from labs.records import Line, Recipient, SessionRecord, Transaction

    out = []
    for i in range(n):
        rcpt = Recipient(f"user{i % 50}@contoso.com", "250 2.1.5 Recipient OK", True, "internal", "delivered", "Inbox")
        txn = Transaction("scanner@contoso.com", "250 2.1.0 Sender OK", (rcpt,), "250 2.6.0 ok", "anonymous", "Incoming",
                          None, auth_results={"spf": "pass"})
        lines = tuple(Line(float(j), "S" if j % 2 else "C", f"line {j}") for j in range(12))
        out.append(SessionRecord(f"S{i}", "run", "contoso", "mx", "127.0.0.1:1", "127.0.0.10:2", "127.0.0.10",
                                 "203.0.113.10", "hq-office", "t", "t", "mfp", None, (), (txn,), lines, "quit", port=25))
    return out


def _rubric() -> object:
    from grading import Rubric

    kinds = [
        {"check": "delivered", "to": "user1@contoso.com"},
        {"check": "session", "endpoint": "mx", "port": 25, "scope": "all"},
        {"check": "reply", "code": "550 5.7.64", "present": False},
        {"check": "no-basic-auth"},
        {"check": "messages", "min": 1},
    ]
    checks = [{"id": f"c{i:02d}", "title": "t", "fail": "f", **kinds[i % len(kinds)]} for i in range(20)]
    return Rubric.model_validate({"checks": checks})


def run(quick: bool = False) -> None:
    from engine.labrun import LabRunner
    from engine.loader import load_course
    from engine.paths import bundled_content
    from engine.store import Store
    from grading import grade

    runs = 5 if quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RELAYLAB_HOME"] = tmp
        tree = load_course(bundled_content())
        store = Store(Path(tmp) / "p.sqlite3")
        learner = store.create_learner("bench").id

        async def one_check() -> float:
            started = time.perf_counter()
            async with LabRunner(tree, LAB, store=store, learner_id=learner) as runner:
                outcome = await runner.check(runner.solution_config())
            assert outcome.result.passed
            return time.perf_counter() - started

        async def warm_tenant() -> list[float]:
            async with LabRunner(tree, LAB, store=store, learner_id=learner) as runner:
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    outcome = await runner.check(runner.solution_config())
                    assert outcome.result.passed
                    times.append(time.perf_counter() - started)
                return times

        asyncio.run(one_check())  # warm: PKI created, imports done
        full = [asyncio.run(one_check()) for _ in range(runs)]
        attempt_only = asyncio.run(warm_tenant())
        print(f"lab check in-process, warm (tenant start + device + grade + store + stop): median "
              f"{statistics.median(full) * 1000:.0f} ms over {runs} runs; device + grade + store on a running "
              f"tenant: median {statistics.median(attempt_only) * 1000:.0f} ms "
              f"(ratio {statistics.median(full) / statistics.median(attempt_only):.1f}x)")
        env = {**os.environ, "RELAYLAB_HOME": tmp}
        subprocess.run([sys.executable, "-m", "engine.cli", "lab", "start", LAB], env=env, capture_output=True, check=True)
        config = Path(tmp) / "labs" / LAB / "device.yaml"
        config.write_text(config.read_text().replace("smtp.office365.com", "contoso-com.mail.protection.outlook.com"))
        cli = []
        for _ in range(3 if quick else 5):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "engine.cli", "lab", "check", LAB], env=env, capture_output=True,
                           check=True)
            cli.append(time.perf_counter() - started)
        print(f"`relaylab lab check` as a command (Python start-up and imports included): median "
              f"{statistics.median(cli) * 1000:.0f} ms")
        store.close()

    records = _records(10_000)
    rubric = _rubric()
    state = {"id": "contoso", "inbound_connectors": []}
    started = time.perf_counter()
    result = grade(records, state, rubric)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    grade(records[:100], state, rubric)  # type: ignore[arg-type]
    small = time.perf_counter() - started
    print(f"grading 10,000 records against a 20-check rubric: {seconds * 1000:.0f} ms "
          f"(100 records: {small * 1000:.1f} ms; {result.score:g}/{result.max_score:g})")
