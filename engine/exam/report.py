"""Provides ``exam report``: many results graded, compared and analysed, as HTML, CSV and JSON.

Each result is checked (signature, bundle, plan, timing) and graded with the assessor's sealed
keys; one that fails a check is listed as refused and never scored. Reviews (free-text
overrides) are applied when found. Item statistics and reliability come from
:mod:`grading.assessment`; the HTML is rendered from ``templates/report.html.j2`` with Jinja2
autoescaping on, so nothing a candidate typed can become markup; CSV cells that a spreadsheet
would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ExamError, UsageError
from engine.exam._codec import read_json_document
from engine.exam.bundle import Bundle, find_bundle
from engine.exam.keys import AssessorKeys, keys_for
from engine.exam.plan import normalise_candidate
from engine.exam.result import SignedResult, check_result, result_from_json
from engine.exam.review import GradedResult, Review, find_review, grade_result, review_from_json
from grading.assessment import SMALL_SAMPLE, ItemStats, Reliability, histogram, item_statistics, reliability

__all__ = ["Refused", "Report", "build_report", "render_html", "write_report"]


@dataclass(frozen=True)
class Refused:
    """A file that was not scored, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class ItemInfo:
    """What the report says about an item."""

    item: str
    kind: str
    level: str
    tags: tuple[str, ...]
    title: str
    section: str


@dataclass
class Report:
    """Everything a report shows."""

    assessment: dict[str, Any]
    sections: list[str]
    candidates: list[GradedResult]
    refused: list[Refused]
    items: list[ItemStats]
    info: dict[str, ItemInfo]
    reliability: Reliability
    bins: list[int]
    warnings: list[str] = field(default_factory=list)

    @property
    def small_sample(self) -> bool:
        """Fewer than 30 candidates."""
        return len(self.candidates) < SMALL_SAMPLE

    def summary(self) -> dict[str, Any]:
        """Headline figures."""
        percents = [c.score.percent for c in self.candidates]
        return {"assessment": self.assessment.get("id"), "title": self.assessment.get("title"),
                "candidates": len(self.candidates), "refused": len(self.refused),
                "passed": sum(1 for c in self.candidates if c.score.passed),
                "mean_percent": round(sum(percents) / len(percents), 2) if percents else None,
                "kr20": _r(self.reliability.kr20), "alpha": _r(self.reliability.alpha),
                "sem": _r(self.reliability.sem), "common_items": self.reliability.items,
                "small_sample": self.small_sample,
                "flagged_items": [s.item for s in self.items if s.flagged]}

    def candidate_rows(self) -> list[dict[str, Any]]:
        """One row per candidate (the CSV and JSON)."""
        rows = []
        for c in self.candidates:
            s = c.score
            p = c.result.payload
            row: dict[str, Any] = {
                "candidate": c.candidate, "attempt": p["attempt"], "file": str(c.result.path or ""),
                "score": s.score, "max_score": s.max_score, "percent": round(s.percent, 2), "passed": s.passed,
                "minutes_used": round(float(p["elapsed_seconds"]) / 60, 1), "timed_out": bool(p.get("timed_out")),
                "started": p["started"], "finished": p["finished"], "reviewed": c.reviewed,
                "warnings": "; ".join(c.check.warnings),
            }
            for index, title in enumerate(self.sections):
                got, out_of = s.by_section.get(index, (0.0, 0.0))
                row[f"section {index + 1}: {title}"] = f"{got:g}/{out_of:g}"
            for level, (got, out_of) in s.by_level.items():
                row[f"level {level}"] = f"{got:g}/{out_of:g}"
            rows.append(row)
        return rows

    def item_rows(self) -> list[dict[str, Any]]:
        """One row per item."""
        return [{"item": s.item, "kind": self.info[s.item].kind, "level": self.info[s.item].level,
                 "section": self.info[s.item].section, "tags": " ".join(self.info[s.item].tags),
                 "candidates": s.n, "max_points": s.max_points, "mean_points": round(s.mean_points, 4),
                 "p": _r(s.p), "discrimination": _r(s.discrimination), "likely_miskeyed": s.flagged,
                 "title": self.info[s.item].title} for s in self.items]

    def to_json(self) -> dict[str, Any]:
        """The whole report as data."""
        rel = self.reliability
        return {
            "summary": self.summary(),
            "reliability": {"candidates": rel.candidates, "common_items": rel.items, "kr20": _r(rel.kr20),
                            "alpha": _r(rel.alpha), "sem": _r(rel.sem), "max_points": rel.max_points,
                            "mean": _r(rel.mean), "sd": _r(rel.sd), "small_sample": self.small_sample},
            "distribution": {"bins_percent": [f"{i * 10}-{i * 10 + 10}" for i in range(10)], "counts": self.bins},
            "candidates": [
                {**row, "by_topic": {t: list(v) for t, v in c.score.by_topic.items()},
                 "items": [{"item": i.item, "points": i.points, "max_points": i.max_points, "correct": i.correct,
                            "overridden": i.overridden} for i in c.score.items],
                 "labs": {k: [{"check": ch.id, "status": ch.status, "points": ch.points, "max_points": ch.max_points}
                              for ch in d.lab.checks] for k, d in c.details.items() if d.lab is not None}}
                for row, c in zip(self.candidate_rows(), self.candidates, strict=True)],
            "items": self.item_rows(),
            "refused": [{"file": r.file, "reason": r.reason} for r in self.refused],
            "warnings": self.warnings,
        }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _title(markdown: str, limit: int = 90) -> str:
    text = " ".join(markdown.replace("`", "").replace("*", "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_report(files: Sequence[Path], bundle_files: Sequence[Path] = ()) -> Report:
    """Read, check and grade every result among ``files`` (reviews among them are applied).

    Raises:
        UsageError: when no file is given.
        ExamError: when the results belong to different assessments.
    """
    if not files:
        raise UsageError("no result files given: nothing to report on (e.g. 'relaylab exam report results/*.json "
                         "-o report.html')")
    refused: list[Refused] = []
    results: list[SignedResult] = []
    raw_reviews: list[tuple[Path, Any]] = []
    for path in files:
        try:
            data = read_json_document(path, "exam result")
            if isinstance(data, dict) and isinstance(data.get("review"), dict):
                raw_reviews.append((path, data))
                continue
            signed = result_from_json(data, str(path))
            results.append(SignedResult(signed.payload, signed.signature, path))
        except ExamError as exc:
            refused.append(Refused(str(path), exc.message.removeprefix(f"{path}: ")))
    if not results:
        raise ExamError("no readable result among the files given"
                        + (f" ({len(refused)} refused: {refused[0].file}: {refused[0].reason})" if refused else ""))
    bundles: dict[str, tuple[Bundle, AssessorKeys, dict[str, Any]]] = {}
    assessments: dict[str, str] = {}
    accepted: list[SignedResult] = []
    for result in results:
        try:
            if result.bundle_id not in bundles:
                bundle = find_bundle(result.bundle_id, result.bundle_hash, list(bundle_files))
                keys = keys_for(bundle.fingerprint)
                bundles[result.bundle_id] = (bundle, keys, bundle.unseal(keys))
            bundle = bundles[result.bundle_id][0]
            if bundle.hash != result.bundle_hash:
                raise ExamError("the result was taken with an altered copy of its bundle")
            assessments.setdefault(bundle.assessment["content_hash"], bundle.assessment["title"])
            accepted.append(result)
        except ExamError as exc:
            refused.append(Refused(str(result.path), exc.message))
    if len(assessments) > 1:
        raise ExamError("the results come from different assessments (" + ", ".join(sorted(assessments.values()))
                        + "); report each assessment separately")
    reviews: dict[str, Review] = {}
    for path, data in raw_reviews:
        for _bundle, keys, _sealed in bundles.values():
            try:
                checked = review_from_json(data, keys, str(path))
            except ExamError:
                continue
            reviews[checked.result_digest] = checked
            break
        else:
            refused.append(Refused(str(path), "a review not signed by the assessor key of these results"))
    graded: list[GradedResult] = []
    for result in accepted:
        bundle, keys, sealed = bundles[result.bundle_id]
        check = check_result(result, bundle)
        if not check.ok:
            refused.append(Refused(str(result.path), check.problems[0]))
            continue
        try:
            review = find_review(result, keys, reviews)
            graded.append(grade_result(result, bundle, sealed, review.overrides if review else (), check=check,
                                       reviewed=review is not None))
        except ExamError as exc:
            refused.append(Refused(str(result.path), exc.message))
    if not graded:
        raise ExamError("every result was refused: " + "; ".join(f"{r.file}: {r.reason}" for r in refused[:3]))
    return analyse(graded, refused)


def analyse(graded: list[GradedResult], refused: list[Refused]) -> Report:
    """Item statistics, reliability and the distribution over graded results."""
    bundle = graded[0].bundle
    sections = [s["title"] for s in bundle.sections]
    info: dict[str, ItemInfo] = {}
    max_points: dict[str, float] = {}
    matrix: list[dict[str, float]] = []
    for g in graded:
        row = {}
        for item in g.score.items:
            row[item.item] = item.points
            if item.item not in max_points:
                max_points[item.item] = item.max_points
                if item.kind == "lab":
                    lab = g.bundle.labs[item.item.removeprefix("lab:")]
                    title = str(lab["title"])
                else:
                    title = _title(g.bundle.questions[item.item]["prompt"])
                info[item.item] = ItemInfo(item.item, item.kind, item.level, item.tags, title, sections[item.section]
                                           if item.section < len(sections) else str(item.section))
        matrix.append(row)
    rank = {title: i for i, title in enumerate(sections)}
    first_seen = {item: n for n, item in enumerate(max_points)}
    ordered = dict(sorted(max_points.items(), key=lambda kv: (rank.get(info[kv[0]].section, 0),
                                                               info[kv[0]].kind == "lab", first_seen[kv[0]])))
    warnings = []
    seen: dict[tuple[str, int], str] = {}
    for g in graded:
        key = (normalise_candidate(g.candidate), int(g.result.payload["attempt"]))
        if key in seen:
            warnings.append(f"two results for {g.candidate}, attempt {key[1]}: {seen[key]} and {g.result.path}")
        seen[key] = str(g.result.path)
    graded.sort(key=lambda g: (-g.score.percent, normalise_candidate(g.candidate)))
    return Report(bundle.assessment, sections, graded, refused, item_statistics(matrix, ordered), info,
                  reliability(matrix, ordered), histogram([g.score.percent for g in graded]), warnings)


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
    env.filters["pts"] = lambda v: f"{v:g}"
    env.filters["clock"] = lambda s: f"{int(s) // 60}:{int(s) % 60:02d}"
    return env


def render(template: str, **context: Any) -> str:
    """Render one of the package's templates (autoescaped)."""
    return str(_environment().get_template(template).render(**context))


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    from engine import __version__
    from engine.store import utcnow

    peak = max(report.bins) or 1
    return render("report.html.j2", r=report, summary=report.summary(), rel=report.reliability,
                  small=SMALL_SAMPLE, bins=report.bins, peak=peak, generated=utcnow(), version=__version__)


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def write_report(report: Report, html_path: Path) -> list[Path]:
    """Write ``report.html`` and, next to it, ``report.csv``, ``report-items.csv`` and ``report.json``."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    stem = html_path.name.removesuffix(".html")
    files = [html_path, html_path.with_name(f"{stem}.csv"), html_path.with_name(f"{stem}-items.csv"),
             html_path.with_name(f"{stem}.json")]
    contents = [render_html(report), _csv(report.candidate_rows()), _csv(report.item_rows()),
                json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n"]
    for path, text in zip(files, contents, strict=True):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return files
