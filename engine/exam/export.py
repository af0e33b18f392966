"""Provides learning-record export: progress, lab attempts and exam results as xAPI statements, CSV
or JUnit XML.

* **xAPI** (1.0.3): one statement per completed lesson (``completed``), answer (``answered``, a
  ``cmi.interaction`` with the question's interaction type), lab attempt (``passed``/``failed``,
  ``interactionType: performance`` with one step per rubric check) and exam result.
* **CSV**: one row per record, for a spreadsheet; cells a spreadsheet would run as a formula
  are prefixed with a quote.
* **JUnit XML**: one test suite per lab (its latest attempt, one test case per rubric check) and
  per exam result, so a CI pipeline that runs ``relaylab lab check`` can publish the checks as
  tests.

Exam results come from this machine's attempts and from any result files given; each one's
signature is checked first, and an altered result is left out (and reported). A result is graded
when this machine holds its bundle and the assessor key; otherwise only what the candidate's
machine could check is exported, marked as provisional.
"""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import ExamError
from engine.exam.result import SignedResult, load_result
from engine.loader import CourseTree
from engine.store import Store

__all__ = ["ExamRecord", "Records", "collect", "to_csv", "to_junit", "to_xapi"]

IRI = "https://relaylab.invalid/xapi"
"""Base of activity ids (``.invalid`` is reserved: these ids name, they do not resolve)."""

VERBS = {
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "attempted": "http://adlnet.gov/expapi/verbs/attempted",
}
INTERACTION = {"single": "choice", "multiple": "choice", "order": "sequencing", "match": "matching",
               "short": "fill-in", "free": "long-fill-in"}


@dataclass(frozen=True)
class ExamRecord:
    """An exam result as exported."""

    candidate: str
    assessment: str
    title: str
    attempt: int
    started: str
    finished: str
    seconds: float
    score: float | None
    max_score: float | None
    passed: bool | None
    graded: bool
    """False: only the candidate-side (provisional) check was possible."""
    items: list[dict[str, Any]] = field(default_factory=list)
    labs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    file: str = ""


@dataclass
class Records:
    """Everything to export."""

    learners: list[dict[str, Any]] = field(default_factory=list)
    """id, name, completed lessons, answers, lab attempts."""
    exams: list[ExamRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Files left out, with why."""


def _exam_record(result: SignedResult, bundles: Sequence[Path]) -> ExamRecord:
    p = result.payload
    base = dict(candidate=result.candidate, assessment=p["assessment"]["id"], title=p["assessment"]["title"],
                attempt=int(p["attempt"]), started=p["started"], finished=p["finished"],
                seconds=float(p["elapsed_seconds"]), file=str(result.path or ""))
    try:
        from engine.exam.bundle import find_bundle
        from engine.exam.keys import keys_for
        from engine.exam.review import find_review, grade_result

        bundle = find_bundle(result.bundle_id, result.bundle_hash, list(bundles))
        keys = keys_for(bundle.fingerprint)
        review = find_review(result, keys)
        graded = grade_result(result, bundle, bundle.unseal(keys), review.overrides if review else ())
    except ExamError:
        prov = p.get("provisional", {})
        items = [{"item": r["id"], "kind": r["kind"], "points": None, "max_points": r["points"],
                  "correct": r.get("provisional_right")} for r in p["items"]]
        return ExamRecord(**base, score=prov.get("points"), max_score=prov.get("max_points"), passed=None,
                          graded=False, items=items)
    items = [{"item": i.item, "kind": i.kind, "points": i.points, "max_points": i.max_points, "correct": i.correct}
             for i in graded.score.items]
    labs = {k: [{"id": c.id, "title": c.title, "status": c.status, "message": c.message, "points": c.points,
                 "max_points": c.max_points} for c in d.lab.checks]
            for k, d in graded.details.items() if d.lab is not None}
    return ExamRecord(**base, score=graded.score.score, max_score=graded.score.max_score,
                      passed=graded.score.passed, graded=True, items=items, labs=labs)


def collect(store: Store, tree: CourseTree | None, *, learner: str | None = None, result_files: Iterable[Path] = (),
            exams_folder: Path | None = None, bundles: Sequence[Path] = ()) -> Records:
    """Gather the records of one learner (all when None) and of exam results.

    Args:
        store: the progress store.
        tree: the course (for titles; ids are used when None).
        learner: a learner's name.
        result_files: exam result files to include.
        exams_folder: this machine's attempts (their ``result.json`` files are included).
        bundles: bundle files for grading results.
    """
    out = Records()
    people = store.learners()
    if learner is not None:
        people = [p for p in people if p.name == learner]
        if not people:
            raise ExamError(f"no learner called {learner!r} on this machine")
    for person in people:
        out.learners.append({"id": person.id, "name": person.name,
                             "lessons": sorted(store.completed_lessons(person.id)),
                             "answers": store.answers(person.id), "labs": store.lab_attempts(person.id)})
    files = list(result_files)
    if exams_folder is not None and exams_folder.is_dir():
        files += sorted(exams_folder.glob("*/attempt-*/result.json"))
    seen: set[str] = set()
    for path in files:
        try:
            result = load_result(path)
            if result.digest in seen:
                continue
            seen.add(result.digest)
            out.exams.append(_exam_record(result, bundles))
        except ExamError as exc:
            out.skipped.append(exc.message)
    if learner is not None:
        from engine.exam.plan import normalise_candidate

        out.exams = [e for e in out.exams if normalise_candidate(e.candidate) == normalise_candidate(learner)]
    return out


def _title(tree: CourseTree | None, kind: str, item: str) -> str:
    if tree is None:
        return item
    if kind == "lesson" and item in tree.lessons:
        return tree.lessons[item].title
    if kind == "lab" and item in tree.labs:
        return tree.labs[item].title
    if kind == "question" and item in tree.questions:
        return " ".join(tree.questions[item].prompt.split())[:120]
    return item


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"PT{int(seconds // 3600)}H{int(seconds % 3600 // 60)}M{seconds % 60:.2f}S"


def _seconds_between(start: str, end: str) -> float:
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (b - a).total_seconds())


def _statement(actor: dict[str, Any], verb: str, object_id: str, definition: dict[str, Any], *,
               result: dict[str, Any] | None = None, timestamp: str | None = None,
               context: dict[str, Any] | None = None) -> dict[str, Any]:
    key = f"{actor.get('account', {}).get('name', actor.get('name'))}|{verb}|{object_id}|{timestamp}"
    statement: dict[str, Any] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{IRI}/statements/{key}")),
        "actor": actor,
        "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": object_id, "definition": definition},
        "version": "1.0.3",
    }
    if result is not None:
        statement["result"] = result
    if timestamp is not None:
        statement["timestamp"] = timestamp
    statement["context"] = {"platform": "relaylab", **(context or {})}
    return statement


def _score(points: float | None, max_points: float | None) -> dict[str, Any]:
    if points is None or not max_points:
        return {}
    return {"score": {"raw": round(points, 4), "min": 0, "max": round(max_points, 4),
                      "scaled": round(max(0.0, min(1.0, points / max_points)), 4)}}


def to_xapi(records: Records, tree: CourseTree | None) -> list[dict[str, Any]]:
    """xAPI statements for every record."""
    statements: list[dict[str, Any]] = []
    for person in records.learners:
        actor = {"objectType": "Agent", "name": person["name"],
                 "account": {"homePage": f"{IRI}/learners", "name": person["id"]}}
        for lesson in person["lessons"]:
            statements.append(_statement(actor, "completed", f"{IRI}/lessons/{lesson}", {
                "type": "http://adlnet.gov/expapi/activities/lesson",
                "name": {"en-US": _title(tree, "lesson", lesson)}}, result={"completion": True}))
        for answer in person["answers"]:
            kind = tree.questions[answer.question].kind if tree and answer.question in tree.questions else "short"
            statements.append(_statement(actor, "answered", f"{IRI}/questions/{answer.question}", {
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "interactionType": INTERACTION.get(kind, "other"),
                "name": {"en-US": _title(tree, "question", answer.question)}},
                result={"success": answer.correct, "response": str(answer.response)[:2000],
                        **_score(answer.fraction, 1.0)},
                timestamp=answer.at, context={"extensions": {f"{IRI}/extensions/mode": answer.mode}}))
        for attempt in person["labs"]:
            checks = attempt.result.get("checks", [])
            verb = ("passed" if attempt.passed else "failed") if attempt.gradable else "attempted"
            statements.append(_statement(actor, verb, f"{IRI}/labs/{attempt.lab}", {
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "interactionType": "performance",
                "name": {"en-US": _title(tree, "lab", attempt.lab)},
                "steps": [{"id": c["id"], "description": {"en-US": c["title"]}} for c in checks]},
                result={"success": attempt.passed, "completion": True,
                        "response": "[,]".join(f"{c['id']}[.]{c['status']}" for c in checks),
                        "duration": _duration(_seconds_between(attempt.started, attempt.finished)),
                        **_score(attempt.score, attempt.max_score)},
                timestamp=attempt.finished,
                context={"registration": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{IRI}/attempts/{attempt.id}")),
                         "extensions": {f"{IRI}/extensions/hints-used": attempt.hints_used}}))
    for exam in records.exams:
        actor = {"objectType": "Agent", "name": exam.candidate}
        verb = ("passed" if exam.passed else "failed") if exam.graded and exam.passed is not None else "completed"
        result: dict[str, Any] = {"completion": True, "duration": _duration(exam.seconds)}
        if exam.graded:
            result.update(success=exam.passed, **_score(exam.score, exam.max_score))
        statements.append(_statement(actor, verb, f"{IRI}/assessments/{exam.assessment}", {
            "type": "http://adlnet.gov/expapi/activities/assessment", "name": {"en-US": exam.title}},
            result=result, timestamp=exam.finished,
            context={"extensions": {f"{IRI}/extensions/attempt": exam.attempt,
                                    f"{IRI}/extensions/graded": exam.graded}}))
        for item_id, checks in exam.labs.items():
            lab = item_id.removeprefix("lab:")
            item = next((i for i in exam.items if i["item"] == item_id), {})
            statements.append(_statement(actor, "passed" if item.get("correct") else "failed",
                                         f"{IRI}/labs/{lab}", {
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "performance",
                "name": {"en-US": _title(tree, "lab", lab)},
                "steps": [{"id": c["id"], "description": {"en-US": c["title"]}} for c in checks]},
                result={"success": bool(item.get("correct")),
                        "response": "[,]".join(f"{c['id']}[.]{c['status']}" for c in checks),
                        **_score(item.get("points"), item.get("max_points"))},
                timestamp=exam.finished,
                context={"contextActivities": {"parent": [{"id": f"{IRI}/assessments/{exam.assessment}"}]}}))
    return statements


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(records: Records, tree: CourseTree | None) -> str:
    """One row per lesson, answer, lab attempt and exam result."""
    columns = ["learner", "kind", "id", "title", "at", "score", "max_score", "percent", "passed", "detail"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)

    def row(*values: Any) -> None:
        writer.writerow([_safe(v) for v in values])

    def pct(score: float | None, max_score: float | None) -> str:
        return f"{100 * score / max_score:.1f}" if score is not None and max_score else ""

    for person in records.learners:
        for lesson in person["lessons"]:
            row(person["name"], "lesson", lesson, _title(tree, "lesson", lesson), "", "", "", "", "", "completed")
        for a in person["answers"]:
            row(person["name"], "answer", a.question, _title(tree, "question", a.question), a.at, a.fraction, 1,
                pct(a.fraction, 1), a.correct, a.mode)
        for lab in person["labs"]:
            failing = [c["id"] for c in lab.result.get("checks", []) if c.get("status") != "pass"]
            row(person["name"], "lab", lab.lab, _title(tree, "lab", lab.lab), lab.finished, lab.score, lab.max_score,
                pct(lab.score, lab.max_score), lab.passed if lab.gradable else "",
                ("not passed: " + " ".join(failing)) if failing else ("" if lab.gradable else lab.result.get("reason", "")))
    for exam in records.exams:
        row(exam.candidate, "exam", exam.assessment, exam.title, exam.finished, exam.score, exam.max_score,
            pct(exam.score, exam.max_score), "" if exam.passed is None else exam.passed,
            f"attempt {exam.attempt}" + ("" if exam.graded else "; provisional (not graded by the assessor)"))
    return out.getvalue()


def to_junit(records: Records, tree: CourseTree | None) -> str:
    """JUnit XML: a suite per lab (latest attempt per learner) and per exam result."""
    root = ET.Element("testsuites", name="relaylab")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def suite(name: str, timestamp: str, seconds: float) -> ET.Element:
        return ET.SubElement(root, "testsuite", name=name, timestamp=timestamp[:19], time=f"{seconds:.3f}")

    def close(element: ET.Element, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            element.set(key, str(value))
            totals[key] += value

    for person in records.learners:
        latest: dict[str, Any] = {}
        for attempt in person["labs"]:
            latest[attempt.lab] = attempt
        for lab_id, attempt in sorted(latest.items()):
            s = suite(f"lab {lab_id} ({person['name']})", attempt.finished,
                      _seconds_between(attempt.started, attempt.finished))
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            if not attempt.gradable:
                case = ET.SubElement(s, "testcase", classname=f"relaylab.lab.{lab_id}", name="gradable", time="0")
                ET.SubElement(case, "error", message=str(attempt.result.get("reason", "not gradable")))
                counts["tests"] += 1
                counts["errors"] += 1
            for check in attempt.result.get("checks", []):
                case = ET.SubElement(s, "testcase", classname=f"relaylab.lab.{lab_id}",
                                     name=f"{check['id']}: {check['title']}", time="0")
                counts["tests"] += 1
                if check.get("status") == "skipped":
                    ET.SubElement(case, "skipped", message=str(check.get("message", "")))
                    counts["skipped"] += 1
                elif check.get("status") != "pass":
                    failure = ET.SubElement(case, "failure", message=str(check.get("message", "")), type="check")
                    failure.text = str(check.get("observed", ""))
                    counts["failures"] += 1
            close(s, counts)
    for exam in records.exams:
        s = suite(f"exam {exam.assessment} ({exam.candidate}, attempt {exam.attempt})", exam.finished, exam.seconds)
        counts = {"tests": 1, "failures": 0, "errors": 0, "skipped": 0}
        case = ET.SubElement(s, "testcase", classname=f"relaylab.exam.{exam.assessment}", name="pass mark",
                             time=f"{exam.seconds:.3f}")
        if not exam.graded:
            ET.SubElement(case, "skipped", message="not graded on this machine (the assessor grades it)")
            counts["skipped"] += 1
        elif not exam.passed:
            ET.SubElement(case, "failure", message=f"{exam.score:g}/{exam.max_score:g}: below the pass mark",
                          type="exam")
            counts["failures"] += 1
        for item_id, checks in exam.labs.items():
            for check in checks:
                lab_case = ET.SubElement(s, "testcase", classname=f"relaylab.exam.{exam.assessment}.{item_id}",
                                         name=f"{check['id']}: {check['title']}", time="0")
                counts["tests"] += 1
                if check["status"] == "skipped":
                    ET.SubElement(lab_case, "skipped", message=check["message"])
                    counts["skipped"] += 1
                elif check["status"] != "pass":
                    ET.SubElement(lab_case, "failure", message=check["message"], type="check")
                    counts["failures"] += 1
        close(s, counts)
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
