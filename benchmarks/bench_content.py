"""Benchmark: load and validate the bundled course, and a generated one of 1,000 lessons and 5,000
questions; baseline: parsing the same files with PyYAML's C safe loader and no validation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.paths import bundled_content

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
root = Path(sys.argv[1]); mode = sys.argv[2]
t0 = time.perf_counter()
if mode == "validate":
    from engine.loader import validate_course
    t0 = time.perf_counter()  # the figure is the validation itself; imports are reported apart
    tree, problems = validate_course(root)
    count = (len(tree.lessons) + len(tree.questions)) if tree else 0
    if problems:
        print("warning:", len(problems), "problems, first:", problems[0], file=sys.stderr)
else:
    import yaml
    count = 0
    for f in sorted(root.rglob("*.yaml")):
        yaml.load(f.read_text(), Loader=yaml.CSafeLoader); count += 1
seconds = time.perf_counter() - t0
imports = 0.0
print(json.dumps({"seconds": seconds, "count": count, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(root: Path, lessons: int, questions_per_lesson: int) -> None:
    """Write a course of ``lessons`` lessons with ``questions_per_lesson`` questions each."""
    (root / "lessons").mkdir(parents=True)
    (root / "questions").mkdir()
    (root / "tenants").mkdir()
    shutil.copy(bundled_content() / "tenants" / "contoso.yaml", root / "tenants" / "contoso.yaml")
    per_module = 10
    modules = []
    for m in range(lessons // per_module):
        ids = [f"lesson-{m * per_module + i:04d}" for i in range(per_module)]
        modules.append({"id": f"module-{m:03d}", "title": f"Module {m}", "lessons": ids})
    course = {"id": "big", "title": "Generated", "scenario": "contoso",
              "levels": [{"id": "L1", "title": "All", "modules": modules}]}
    (root / "course.yaml").write_text(json.dumps(course))
    body = "\n".join(
        ["# Heading", "", "The MX host of {{ tenant.name }} is `{{ tenant.mx_host }}`.", "",
         "| Port | Use |", "|---|---|", "| 25 | MX |", "| 587 | submission |", ""]
        + ["Devices hand their mail to Exchange Online, which routes it on. " * 6] * 12 + ["Lesson NUMBER."]
    )
    for n in range(lessons):
        lid = f"lesson-{n:04d}"
        qids = [f"{lid}-q{k}" for k in range(questions_per_lesson)]
        lesson = {"id": lid, "level": "L1", "title": f"Lesson {n}", "summary": "Generated.",
                  "objectives": ["Read."], "key_facts": ["Port 25."], "questions": qids, "body": body.replace("NUMBER", str(n))}
        (root / "lessons" / f"{lid}.yaml").write_text(json.dumps(lesson))
        qs = []
        for k, qid in enumerate(qids):
            if k % 2:
                qs.append({"id": qid, "kind": "single", "level": "L1", "lesson": lid, "prompt": "Which port?",
                           "explanation": "25.", "options": [{"text": "25", "correct": True}, {"text": "587"}]})
            else:
                qs.append({"id": qid, "kind": "short", "level": "L1", "lesson": lid, "prompt": "Cmdlet?",
                           "explanation": "x", "model_answer": "Get-TransportConfig",
                           "patterns": ["get-transportconfig"], "near_misses": ["Set-TransportConfig"]})
        (root / "questions" / f"{lid}.yaml").write_text(json.dumps({"title": lid, "questions": qs}))


def measure(root: Path, mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run(quick: bool = False) -> None:
    bundled = measure(bundled_content(), "validate")
    bundled_base = measure(bundled_content(), "parse")
    print(f"bundled course: validate {bundled['seconds']:.3f} s ({int(bundled['count'])} lessons+questions), "
          f"peak RSS {bundled['peak_mb']:.0f} MB; YAML parse only {bundled_base['seconds']:.3f} s "
          f"(validate/parse ratio {bundled['seconds'] / max(bundled_base['seconds'], 1e-9):.1f}x)")
    lessons = 100 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big"
        started = time.perf_counter()
        generate(root, lessons, 5)
        print(f"generated {lessons} lessons and {lessons * 5} questions in {time.perf_counter() - started:.1f} s")
        big = measure(root, "validate")
        base = measure(root, "parse")
    print(f"generated course: validate {big['seconds']:.2f} s, peak RSS {big['peak_mb']:.0f} MB; "
          f"YAML parse only {base['seconds']:.2f} s (ratio {big['seconds'] / max(base['seconds'], 1e-9):.1f}x)")
