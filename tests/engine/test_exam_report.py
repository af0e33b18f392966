"""Reports over 0, 1, 2 and many results: scores, refused files, reviews, item statistics, escaping
of everything candidates write, CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.errors import ExamError, UsageError
from engine.exam.bundle import Bundle, pack, register
from engine.exam.keys import AssessorKeys
from engine.exam.report import build_report, write_report
from engine.exam.result import SignedResult
from engine.exam.synthetic import synthetic_assessment, synthetic_results
from engine.loader import CourseTree
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import L3, take

SCRIPT = '<script>alert("pwned")</script>'

assessor = helpers.assessor
keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


@pytest.fixture(scope="module")
def two(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[SignedResult]:
    folder = tmp_path_factory.mktemp("results")
    return [take(l2_bundle, l2_sealed, "Alice Good", out=folder / "alice.json"),
            take(l2_bundle, l2_sealed, "=HYPERLINK(\"http://x\") Bob", good=False, out=folder / "bob.json",
                 free_text=f"{SCRIPT}\nI would check the <b>logs</b> & the trace.")]


def _paths(results: list[SignedResult]) -> list[Path]:
    return [r.path for r in results if r.path is not None]


def test_no_results_is_a_usage_error(assessor: AssessorKeys, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="nothing to report"):
        build_report([])
    assert main(["exam", "report", "-o", str(tmp_path / "r.html")]) == 2
    assert "no result files given" in capsys.readouterr().err


def test_one_result_gets_the_small_sample_caveat(two: list[SignedResult], assessor: AssessorKeys,
                                                 tmp_path: Path) -> None:
    report = build_report(_paths(two)[:1])
    assert len(report.candidates) == 1 and report.small_sample
    assert report.reliability.alpha is None and all(s.discrimination is None for s in report.items)
    html = write_report(report, tmp_path / "one.html")[0].read_text()
    assert "Fewer than 30 candidates" in html and "cannot be computed at all" in html


def test_two_results_scores_escaping_and_the_other_formats(two: list[SignedResult], assessor: AssessorKeys,
                                                           tmp_path: Path) -> None:
    report = build_report(_paths(two))
    assert [c.score.passed for c in report.candidates] == [True, False]
    files = write_report(report, tmp_path / "out" / "report.html")
    html, table, items, data = (f.read_text() for f in files)
    assert SCRIPT not in html and "<b>logs</b>" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html and "&lt;b&gt;logs&lt;/b&gt;" in html
    assert "PASS" in html and "FAIL" in html and "<svg" in html and "@media print" in html
    assert "http://" not in html.split("<body>")[0]  # self-contained: no external stylesheet or script
    rows = list(csv.DictReader(table.splitlines()))
    assert rows[1]["candidate"].startswith("'=HYPERLINK")  # a spreadsheet will not run it
    assert rows[0]["passed"] == "True" and float(rows[0]["percent"]) == 100.0
    assert "section 3: Hands-on lab" in rows[0]
    assert len(list(csv.DictReader(items.splitlines()))) == len(report.items)
    parsed = json.loads(data)
    assert parsed["summary"]["candidates"] == 2
    answers = parsed["candidates"][1]["written_answers"]
    assert any(SCRIPT in text for text in answers.values())
    assert parsed["candidates"][0]["labs"]["lab:l2-portal-secret-id"][0]["status"] == "pass"


def test_refused_files_are_listed_and_never_scored(two: list[SignedResult], assessor: AssessorKeys,
                                                   tmp_path: Path) -> None:
    good = _paths(two)[0]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(good.read_text().replace('"Alice Good"', '"Alice Better"'))
    (tmp_path / "truncated.json").write_bytes(good.read_bytes()[:300])
    report = build_report([good, tampered, tmp_path / "truncated.json", tmp_path / "missing.json"])
    assert [c.candidate for c in report.candidates] == ["Alice Good"]
    reasons = {Path(r.file).name: r.reason for r in report.refused}
    assert "altered" in reasons["tampered.json"] and "truncated" in reasons["truncated.json"]
    assert "no such file" in reasons["missing.json"]
    html = write_report(report, tmp_path / "r.html")[0].read_text()
    assert "3 files refused" in html
    with pytest.raises(ExamError, match="no result could be scored"):
        build_report([tampered])


def test_reviews_given_with_the_results_are_applied(two: list[SignedResult], assessor: AssessorKeys,
                                                    tmp_path: Path, relaylab_home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bob = tmp_path / "bob.json"
    bob.write_bytes(_paths(two)[1].read_bytes())
    assert main(["exam", "review", str(bob), "--json"]) == 0
    free = next(i["item"] for i in json.loads(capsys.readouterr().out)["items"] if i["kind"] == "free")
    assert main(["exam", "review", str(bob), "--override", free, "3", "fine"]) == 0
    capsys.readouterr()
    for stored in (relaylab_home / "assessor" / "reviews").glob("*.json"):
        stored.unlink()  # only the review file given with the result is left
    assert not build_report([bob]).candidates[0].reviewed
    report = build_report([bob, tmp_path / "bob.review.json"])
    entry = report.candidates[0]
    assert entry.reviewed and next(i for i in entry.score.items if i.item == free).points == 3


def test_results_of_different_assessments_are_not_mixed(two: list[SignedResult], assessor: AssessorKeys,
                                                        tree: CourseTree, tmp_path: Path) -> None:
    other = pack(tree, L3, assessor)
    register(other)
    sealed = other.unseal(assessor)
    l3 = take(other, sealed, "Carol", lab=False, out=tmp_path / "carol.json")
    with pytest.raises(ExamError, match="different assessments"):
        build_report([_paths(two)[0], l3.path])  # type: ignore[list-item]


def test_many_results_in_worker_processes_match_one_process(tree: CourseTree, assessor: AssessorKeys,
                                                            tmp_path: Path) -> None:
    synthetic_assessment(tree, 30, written=1, assessment_id="synthetic-test")
    try:
        bundle = pack(tree, "synthetic-test", assessor)
    finally:
        del tree.assessments["synthetic-test"]
    register(bundle)
    sealed = bundle.unseal(assessor)
    miskeyed = bundle.sections[0]["fixed"][0]
    files = []
    for n, doc in enumerate(synthetic_results(bundle, sealed, 80, miskeyed=miskeyed)):
        files.append(tmp_path / f"r{n:03d}.json")
        files[-1].write_text(json.dumps(doc))
    one = build_report(files, workers=1)
    many = build_report(files, workers=2)
    assert [(c.candidate, c.score.score) for c in one.candidates] == [(c.candidate, c.score.score)
                                                                       for c in many.candidates]
    assert one.reliability == many.reliability and one.summary() == many.summary()
    assert not one.small_sample and one.reliability.alpha is not None and one.reliability.alpha > 0.5
    flagged = {s.item for s in one.items if s.flagged}
    assert miskeyed in flagged
    html = write_report(many, tmp_path / "many.html")[0].read_text()
    assert "likely miskeyed" in html and "Fewer than 30" not in html
    for report in (one, many):
        assert all(c.encoded for c in report.candidates)
        assert report.json_text() == json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":"))
    assert (tmp_path / "many.json").read_text() == many.json_text() + "\n"


def test_the_json_file_is_the_report_as_data_with_or_without_encoded_entries(two: list[SignedResult],
                                                                               assessor: AssessorKeys,
                                                                               tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.json"
    tampered.write_text(_paths(two)[0].read_text().replace('"Alice Good"', '"Alice Better"'))
    report = build_report([*_paths(two), tampered])
    report.warnings.append("a warning with \"quotes\", <b>markup</b> and é")
    whole = json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":"))
    assert report.json_text() == whole and "<script>alert(" in whole and report.refused
    report.candidates[0].encoded = ""  # an entry made elsewhere is encoded when written
    assert report.json_text() == whole


def test_report_command(two: list[SignedResult], assessor: AssessorKeys, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exam", "report", *map(str, _paths(two)), "-o", str(tmp_path / "r" / "report.html"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["candidates"] == 2 and summary["passed"] == 1 and summary["small_sample"]
    assert sorted(Path(f).name for f in summary["files"]) == ["report-items.csv", "report.csv", "report.html",
                                                              "report.json"]
