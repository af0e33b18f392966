"""Provides ``exam report``: many results graded, compared and analysed, as HTML, CSV and JSON.

Each result is checked (signature, bundle, plan, timing) and graded with the assessor's sealed
keys; one that fails a check is listed as refused and never scored. Reviews (free-text
overrides) are applied when found. Item statistics and reliability come from
:mod:`grading.assessment`. The HTML is rendered from ``templates/report.html.j2`` (and each
candidate's block from ``templates/candidate.html.j2``) with Jinja2 autoescaping on, so nothing a
candidate typed can become markup; CSV cells a spreadsheet would run as a formula are prefixed
with a quote.

Large reports are graded in worker processes (one per CPU, up to four): each worker reads, checks
and grades its results and renders their HTML blocks and their entries of ``report.json``, and
only the scores and that text come back, so memory stays flat however many results there are;
the main process compiles the page's template meanwhile.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ExamError, UsageError
from engine.exam._codec import load_json_document
from engine.exam.bundle import Bundle, find_bundle
from engine.exam.keys import AssessorKeys, keys_for
from engine.exam.plan import normalise_candidate
from engine.exam.result import SignedResult, check_result, result_from_json
from engine.exam.review import (
    GradedResult,
    Review,
    find_review,
    grade_result,
    review_from_json,
    reviews_folder,
)
from grading import Result
from grading.assessment import (
    SMALL_SAMPLE,
    ExamScore,
    ItemScore,
    ItemStats,
    Reliability,
    histogram,
    item_statistics,
    reliability,
)

__all__ = ["Entry", "Refused", "Report", "build_report", "render_html", "write_report"]

PARALLEL_FROM = 64
"""Grade in worker processes from this many files on."""


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
class Entry:
    """One graded candidate, as much as a report keeps."""

    result: SignedResult
    """The result without its answers and captures."""
    score: ExamScore
    warnings: list[str]
    reviewed: bool
    labs: dict[str, Result]
    written: dict[str, str]
    """Free-text answers by item."""
    block: str = ""
    """The candidate's HTML block (already escaped)."""
    overrides: int = -1
    """How many overrides were applied (-1: no review)."""
    encoded: str = ""
    """The candidate's entry of ``report.json``, encoded (made with the block; empty: encode when written)."""

    @property
    def candidate(self) -> str:
        """The candidate."""
        return self.result.candidate

    @property
    def anchor(self) -> str:
        """HTML id of the candidate's block."""
        return "c" + self.result.digest[:12]


@dataclass
class Report:
    """Everything a report shows."""

    assessment: dict[str, Any]
    sections: list[str]
    candidates: list[Entry]
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
        return [_candidate_row(c, self.sections) for c in self.candidates]

    def item_rows(self) -> list[dict[str, Any]]:
        """One row per item."""
        return [{"item": s.item, "kind": self.info[s.item].kind, "level": self.info[s.item].level,
                 "section": self.info[s.item].section, "tags": " ".join(self.info[s.item].tags),
                 "candidates": s.n, "max_points": s.max_points, "mean_points": round(s.mean_points, 4),
                 "p": _r(s.p), "discrimination": _r(s.discrimination), "likely_miskeyed": s.flagged,
                 "title": self.info[s.item].title} for s in self.items]

    def to_json(self) -> dict[str, Any]:
        """The whole report as data."""
        return {**self._json_head(), "candidates": [_candidate_json(c, self.sections) for c in self.candidates],
                **self._json_tail()}

    def _json_head(self) -> dict[str, Any]:
        rel = self.reliability
        return {
            "summary": self.summary(),
            "reliability": {"candidates": rel.candidates, "common_items": rel.items, "kr20": _r(rel.kr20),
                            "alpha": _r(rel.alpha), "sem": _r(rel.sem), "max_points": rel.max_points,
                            "mean": _r(rel.mean), "sd": _r(rel.sd), "small_sample": self.small_sample},
            "distribution": {"bins_percent": [f"{i * 10}-{i * 10 + 10}" for i in range(10)], "counts": self.bins},
        }

    def _json_tail(self) -> dict[str, Any]:
        return {
            "items": self.item_rows(),
            "refused": [{"file": r.file, "reason": r.reason} for r in self.refused],
            "warnings": self.warnings,
        }

    def json_text(self) -> str:
        """:meth:`to_json` encoded (compact, UTF-8 characters kept), with each candidate's entry encoded once."""
        parts = [f"{_encode(k)}:{_encode(v)}" for k, v in self._json_head().items()]
        candidates = ",".join(c.encoded or _encode(_candidate_json(c, self.sections)) for c in self.candidates)
        parts.append(f'"candidates":[{candidates}]')
        parts += [f"{_encode(k)}:{_encode(v)}" for k, v in self._json_tail().items()]
        return "{" + ",".join(parts) + "}"


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _title(markdown: str, limit: int = 90) -> str:
    text = " ".join(markdown.replace("`", "").replace("*", "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _candidate_row(c: Entry, sections: Sequence[str]) -> dict[str, Any]:
    s = c.score
    p = c.result.payload
    row: dict[str, Any] = {
        "candidate": c.candidate, "attempt": p["attempt"], "file": str(c.result.path or ""),
        "score": s.score, "max_score": s.max_score, "percent": round(s.percent, 2), "passed": s.passed,
        "minutes_used": round(float(p["elapsed_seconds"]) / 60, 1), "timed_out": bool(p.get("timed_out")),
        "started": p["started"], "finished": p["finished"], "reviewed": c.reviewed,
        "warnings": "; ".join(c.warnings),
    }
    for index, title in enumerate(sections):
        got, out_of = s.by_section.get(index, (0.0, 0.0))
        row[f"section {index + 1}: {title}"] = f"{got:g}/{out_of:g}"
    for level, (got, out_of) in s.by_level.items():
        row[f"level {level}"] = f"{got:g}/{out_of:g}"
    return row


def _candidate_json(c: Entry, sections: Sequence[str]) -> dict[str, Any]:
    """A candidate's entry of ``report.json``."""
    return {**_candidate_head(c, sections), "items": [_item_json(i) for i in c.score.items], **_candidate_tail(c)}


def _candidate_head(c: Entry, sections: Sequence[str]) -> dict[str, Any]:
    return {**_candidate_row(c, sections), "by_topic": {t: list(v) for t, v in c.score.by_topic.items()}}


def _item_json(i: ItemScore) -> dict[str, Any]:
    return {"item": i.item, "points": i.points, "max_points": i.max_points, "correct": i.correct,
            "overridden": i.overridden}


def _candidate_tail(c: Entry) -> dict[str, Any]:
    return {"labs": {k: [{"check": ch.id, "status": ch.status, "points": ch.points, "max_points": ch.max_points}
                         for ch in lab.checks] for k, lab in c.labs.items()},
            "written_answers": c.written}


def _encode(value: Any) -> str:
    """JSON as ``report.json`` holds it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _encode_candidate(c: Entry, sections: Sequence[str]) -> str:
    """``_encode(_candidate_json(c, sections))``, with the items encoded once per item score.

    Objective answers' item scores are shared between the candidates who gave the same answer
    (see :func:`engine.exam.review.grade_result`), so most items are encoded already.
    """
    items = []
    for item in c.score.items:
        text = _ITEM_TEXT.get(item)
        if text is None:
            if len(_ITEM_TEXT) >= 200_000:
                _ITEM_TEXT.clear()
            text = _ITEM_TEXT[item] = _encode(_item_json(item))
        items.append(text)
    head, tail = _encode(_candidate_head(c, sections)), _encode(_candidate_tail(c))
    return f'{head[:-1]},"items":[{",".join(items)}],{tail[1:]}'


_ITEM_TEXT: dict[ItemScore, str] = {}
"""Item score → its entry in a candidate's "items", encoded (equal scores encode alike)."""


# -- grading one file (in this process or a worker) -------------------------------------------------------

_BUNDLES: dict[str, tuple[Bundle, AssessorKeys, dict[str, Any]]] = {}
"""Bundles already opened by this process: id → (bundle, keys, sealed part)."""


def _open_bundle(bundle_id: str, bundle_hash: str, bundle_files: Sequence[Path]) -> tuple[Bundle, AssessorKeys,
                                                                                           dict[str, Any]]:
    if bundle_id not in _BUNDLES:
        bundle = find_bundle(bundle_id, bundle_hash, list(bundle_files))
        keys = keys_for(bundle.fingerprint)
        _BUNDLES[bundle_id] = (bundle, keys, bundle.unseal(keys))
    found = _BUNDLES[bundle_id]
    if found[0].hash != bundle_hash:
        raise ExamError("the result was taken with an altered copy of its bundle")
    return found


_SHOWN_KINDS = frozenset({"free", "lab"})
"""The items whose details a report shows: written answers and labs."""


def _entry(graded: GradedResult, overrides: int) -> Entry:
    labs = {k: d.lab for k, d in graded.details.items() if d.lab is not None}
    written = {i.item: graded.details[i.item].shown for i in graded.score.items
               if i.kind == "free" and i.item in graded.details}
    entry = Entry(graded.result.trimmed(), graded.score, list(graded.check.warnings), graded.reviewed, labs, written,
                  overrides=overrides)
    shown = [i for i in graded.score.items if i.item in labs or i.item in written]
    sections = [s["title"] for s in graded.bundle.sections]
    entry.block = render("candidate.html.j2", c=entry, shown=shown, sections=sections,
                         titles={k: graded.bundle.labs[k.removeprefix("lab:")]["title"] for k in labs})
    entry.encoded = _encode_candidate(entry, sections)
    return entry


def _grade_result(result: SignedResult, bundle_files: Sequence[Path], reviews: dict[str, Review],
                  folder: Path | None = None) -> Entry:
    bundle, keys, sealed = _open_bundle(result.bundle_id, result.bundle_hash, bundle_files)
    check = check_result(result, bundle)
    if not check.ok:
        raise ExamError(check.problems[0])
    review = find_review(result, keys, reviews, folder=folder)
    graded = grade_result(result, bundle, sealed, review.overrides if review else (), check=check,
                          with_details=_SHOWN_KINDS, reviewed=review is not None)
    return _entry(graded, len(review.overrides) if review else -1)


def _grade_file(path: Path, bundle_files: Sequence[Path], reviews: dict[str, Review],
                folder: Path | None = None) -> tuple[str, Any]:
    """Grade one file: ("result", content hash, Entry), ("review", data) or ("refused", Refused).

    ``folder`` is the assessor's reviews folder (found for each file when None).
    """
    try:
        data, plain = load_json_document(path, "exam result")
        if isinstance(data, dict) and isinstance(data.get("review"), dict):
            return "review", data
        signed = result_from_json(data, str(path), plain=plain)
        del data
        result = SignedResult(signed.payload, signed.signature, path, signed.digest)
        entry = _grade_result(result, bundle_files, reviews, folder)
        return "result", (_BUNDLES[result.bundle_id][0].assessment["content_hash"], entry)
    except ExamError as exc:
        return "refused", Refused(str(path), exc.message.removeprefix(f"{path}: "))


def _grade_chunk(paths: list[Path], bundle_files: Sequence[Path], reviews: dict[str, Review]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    folder = None
    for path in paths:
        out.append(_grade_file(path, bundle_files, reviews, folder))
        if folder is None and out[-1][0] == "result":  # the assessor folder exists from here on
            folder = reviews_folder()
    return out


def build_report(files: Sequence[Path], bundle_files: Sequence[Path] = (), *, workers: int | None = None) -> Report:
    """Read, check and grade every result among ``files`` (reviews among them are applied).

    Args:
        files: result files, with any review files among them.
        bundle_files: bundles to look in besides the assessor's own copies.
        workers: processes to grade in (default: one per CPU up to four, from 64 files on).

    Raises:
        UsageError: when no file is given.
        ExamError: when no result can be scored, or the results belong to different assessments.
    """
    if not files:
        raise UsageError("no result files given: nothing to report on (e.g. 'relaylab exam report results/*.json "
                         "-o report.html')")
    files = list(files)
    count = workers if workers is not None else (min(4, os.cpu_count() or 1) if len(files) >= PARALLEL_FROM else 1)
    outcomes: list[tuple[str, Any]] = []
    if count > 1:
        # Small chunks: a worker that finishes early takes the next one, so neither waits for the
        # other at the end.
        size = max(8, len(files) // (count * 16))
        chunks = [files[i:i + size] for i in range(0, len(files), size)]
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context(method)) as pool:
            parts = pool.map(_grade_chunk, chunks, [bundle_files] * len(chunks), [{}] * len(chunks))
            _environment().get_template("report.html.j2")  # compiled while the workers grade
            for part in parts:
                outcomes += part
    else:
        outcomes = _grade_chunk(files, bundle_files, {})

    refused: list[Refused] = []
    entries: list[Entry] = []
    assessments: set[str] = set()
    raw_reviews: list[Any] = []
    for kind, value in outcomes:
        if kind == "refused":
            refused.append(value)
        elif kind == "review":
            raw_reviews.append(value)
        else:
            content, entry = value
            assessments.add(content)
            entries.append(entry)
    if len(assessments) > 1:
        raise ExamError(f"the results come from {len(assessments)} different assessments; report each one separately")
    if not entries:
        raise ExamError("no result could be scored: " + "; ".join(f"{r.file}: {r.reason}" for r in refused[:3]))
    # Reviews given on the command line: apply those the workers could not know about.
    bundle, keys, _sealed = _open_bundle(entries[0].result.bundle_id, entries[0].result.bundle_hash, bundle_files)
    reviews: dict[str, Review] = {}
    for data in raw_reviews:
        try:
            checked = review_from_json(data, keys, "review")
        except ExamError as exc:
            refused.append(Refused("review", exc.message))
            continue
        reviews[checked.result_digest] = checked
    for n, entry in enumerate(entries):
        review = reviews.get(entry.result.digest)
        if review is not None and entry.overrides != len(review.overrides) and entry.result.path is not None:
            entries[n] = _grade_result(SignedResult(**_full(entry.result.path)), bundle_files, reviews)
    return analyse(entries, refused, bundle)


def _full(path: Path) -> dict[str, Any]:
    data, plain = load_json_document(path, "exam result")
    signed = result_from_json(data, str(path), plain=plain)
    return {"payload": signed.payload, "signature": signed.signature, "path": path, "known_digest": signed.digest}


def analyse(entries: list[Entry], refused: list[Refused], bundle: Bundle) -> Report:
    """Item statistics, reliability and the distribution over graded candidates."""
    sections = [s["title"] for s in bundle.sections]
    info: dict[str, ItemInfo] = {}
    max_points: dict[str, float] = {}
    matrix: list[dict[str, float]] = []
    for entry in entries:
        row = {}
        for item in entry.score.items:
            row[item.item] = item.points
            if item.item not in max_points:
                max_points[item.item] = item.max_points
                if item.kind == "lab":
                    title = str(bundle.labs[item.item.removeprefix("lab:")]["title"])
                else:
                    title = _title(bundle.questions[item.item]["prompt"])
                info[item.item] = ItemInfo(item.item, item.kind, item.level, item.tags, title,
                                           sections[item.section] if item.section < len(sections) else str(item.section))
        matrix.append(row)
    rank = {title: i for i, title in enumerate(sections)}
    first_seen = {item: n for n, item in enumerate(max_points)}
    ordered = dict(sorted(max_points.items(), key=lambda kv: (rank.get(info[kv[0]].section, 0),
                                                               info[kv[0]].kind == "lab", first_seen[kv[0]])))
    warnings = []
    seen: dict[tuple[str, int], str] = {}
    for entry in entries:
        key = (normalise_candidate(entry.candidate), int(entry.result.payload["attempt"]))
        if key in seen:
            warnings.append(f"two results for {entry.candidate}, attempt {key[1]}: {seen[key]} and {entry.result.path}")
        seen[key] = str(entry.result.path)
    entries.sort(key=lambda e: (-e.score.percent, normalise_candidate(e.candidate)))
    return Report(bundle.assessment, sections, entries, refused, item_statistics(matrix, ordered), info,
                  reliability(matrix, ordered), histogram([e.score.percent for e in entries]), warnings)


# -- output ------------------------------------------------------------------------------------------------

_ENV: Any = None


def _ratios(table: dict[Any, tuple[float, float]], names: Sequence[str] | None = None) -> str:
    """``name got/max · ...`` for a breakdown (section indexes are named by ``names``)."""
    return " · ".join(f"{names[k] if names is not None and isinstance(k, int) and k < len(names) else k} "
                      f"{got:g}/{out_of:g}" for k, (got, out_of) in table.items())


def _environment() -> Any:
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                          autoescape=select_autoescape(default=True, default_for_string=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          auto_reload=False)  # the package's templates do not change while it runs
        env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
        env.filters["pts"] = lambda v: f"{v:g}"
        env.filters["clock"] = lambda s: f"{int(s) // 60}:{int(s) % 60:02d}"
        env.filters["ratios"] = _ratios
        _ENV = env
    return _ENV


def render(template: str, **context: Any) -> str:
    """Render one of the package's templates (autoescaped)."""
    return str(_environment().get_template(template).render(**context))


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    from markupsafe import Markup

    from engine import __version__
    from engine.store import utcnow

    peak = max(report.bins) or 1
    blocks = [Markup(entry.block) for entry in report.candidates]  # rendered (escaped) by candidate.html.j2
    return render("report.html.j2", r=report, summary=report.summary(), rel=report.reliability, blocks=blocks,
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
                report.json_text() + "\n"]
    for path, text in zip(files, contents, strict=True):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return files
