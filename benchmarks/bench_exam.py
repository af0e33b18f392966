"""Benchmark: ``exam report`` over 1,000 synthetic results of 60 items each (59 questions and a lab,
each result checked, graded and analysed; HTML, CSV and JSON written), run as the real command in
a subprocess for its time and peak memory; and ``exam pack`` of the bundled assessments.

Targets: report under 5 s and 300 MB; pack under 2 s per assessment.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LAB = "l2-portal-secret-id"


def _capture(bundle: Any, sealed: dict[str, Any], seed: str) -> dict[str, Any]:
    """One real capture of the lab (the reference solution), shared by every synthetic candidate."""
    from engine.exam.labitem import build_exam_lab, run_capture, start_runner

    async def run() -> dict[str, Any]:
        exam_lab = build_exam_lab(bundle.labs[LAB], seed, sealed["labs"][LAB])
        with tempfile.TemporaryDirectory() as tmp:
            runner = start_runner(exam_lab, Path(tmp), device_timeout=1.0)
            await runner.start()
            try:
                capture = await run_capture(runner, exam_lab.solution_config, exam_lab.lab.solution.admin)
            finally:
                await runner.stop()
        return capture.to_json()

    return asyncio.run(run())


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children, from /proc (0 where there is no /proc)."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(_tree_rss_kb(int(child)) for child in children.read().split())
    except (OSError, ValueError):
        pass
    return total


def run(quick: bool = False) -> None:
    from engine.exam.bundle import pack, register
    from engine.exam.keys import load_keys
    from engine.exam.synthetic import synthetic_assessment, synthetic_results
    from engine.loader import load_course
    from engine.paths import bundled_content

    count = 200 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["RELAYLAB_HOME"] = str(home)
        tree = load_course(bundled_content())
        keys = load_keys(create=True)
        for assessment in sorted(tree.assessments):
            started = time.perf_counter()
            bundle = pack(tree, assessment, keys)
            bundle.write(Path(tmp) / f"{assessment}.rlx")
            print(f"exam pack {assessment}: {time.perf_counter() - started:.2f} s "
                  f"({len(json.dumps(bundle.to_json())) // 1024} KB; target < 2 s)", flush=True)

        synthetic_assessment(tree, 60, lab=LAB)
        bundle = pack(tree, "synthetic-exam", keys)
        register(bundle)
        sealed = bundle.unseal(keys)
        from engine.exam.plan import derive_seed

        capture = _capture(bundle, sealed, derive_seed(bundle.id, "Candidate 0001", 1))
        results = Path(tmp) / "results"
        results.mkdir()
        started = time.perf_counter()
        for n, document in enumerate(synthetic_results(bundle, sealed, count, lab_capture=capture)):
            (results / f"r{n:04d}.json").write_text(json.dumps(document))
        size = sum(f.stat().st_size for f in results.iterdir())
        print(f"{count} synthetic results written in {time.perf_counter() - started:.1f} s "
              f"({size / 1e6:.1f} MB)", flush=True)

        files = sorted(str(f) for f in results.iterdir())
        out = Path(tmp) / "report" / "report.html"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "exam", "report", *files, "-o", str(out), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "RELAYLAB_HOME": str(home)})
        peak_kb = 0
        while proc.poll() is None:  # the report's own process and its workers, together
            peak_kb = max(peak_kb, _tree_rss_kb(proc.pid))
            time.sleep(0.05)
        stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if not peak_kb:  # no /proc: the largest single process
            peak_kb = after.ru_maxrss
        if proc.returncode != 0:
            print(stderr, file=sys.stderr)
            raise SystemExit(f"exam report failed ({proc.returncode})")
        summary = json.loads(stdout)
        print(f"exam report over {summary['candidates']} results x 60 items: {seconds:.2f} s wall, {cpu:.2f} s CPU on "
              f"{os.cpu_count()} CPUs, peak RSS {peak_kb / 1024:.0f} MB, workers included (target < 5 s, < 300 MB); "
              f"alpha {summary['alpha']}, KR-20 {summary['kr20']}, {out.stat().st_size // 1024} KB of HTML", flush=True)
