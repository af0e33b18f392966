"""The assessor's grading: every kind of item against the sealed keys, labs from their captures,
free-text overrides with notes, signed reviews; a result with a problem is never scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.errors import ExamError, UsageError
from engine.exam._codec import b64e
from engine.exam.bundle import Bundle
from engine.exam.crypto import sign
from engine.exam.keys import AssessorKeys
from engine.exam.result import SignedResult, result_from_json
from engine.exam.review import grade_result, load_review, make_override, make_review, write_review
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import take

assessor = helpers.assessor
keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


@pytest.fixture(scope="module")
def good(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> SignedResult:
    out = tmp_path_factory.mktemp("good") / "good.json"
    return take(l2_bundle, l2_sealed, "Alice Good", out=out)


@pytest.fixture(scope="module")
def bad(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> SignedResult:
    out = tmp_path_factory.mktemp("bad") / "bad.json"
    return take(l2_bundle, l2_sealed, "Bob Bad", good=False, out=out)


def test_right_answers_and_the_reference_solution_score_everything(good: SignedResult, l2_bundle: Bundle,
                                                                   l2_sealed: dict[str, Any]) -> None:
    graded = grade_result(good, l2_bundle, l2_sealed)
    kinds = {i.kind for i in graded.score.items}
    assert {"single", "multiple", "free", "lab"} <= kinds
    assert all(i.correct for i in graded.score.items), [(i.item, i.detail) for i in graded.score.items if not i.correct]
    assert graded.score.percent == 100 and graded.score.passed
    lab = graded.details["lab:l2-portal-secret-id"].lab
    assert lab is not None and lab.passed and all(c.passed for c in lab.checks)


def test_wrong_answers_and_the_starting_config_fail(bad: SignedResult, l2_bundle: Bundle,
                                                    l2_sealed: dict[str, Any]) -> None:
    graded = grade_result(bad, l2_bundle, l2_sealed)
    assert not graded.score.passed
    questions = [i for i in graded.score.items if i.kind not in ("lab", "free")]
    assert not any(i.correct for i in questions)
    lab = next(i for i in graded.score.items if i.kind == "lab")
    assert not lab.correct and lab.points < lab.max_points
    free = next(i for i in graded.score.items if i.kind == "free")
    assert "<script>" in graded.details[free.item].shown  # kept as typed; escaped when shown


def test_details_of_some_kinds_only_and_scores_given_again_are_the_same(good: SignedResult, bad: SignedResult,
                                                                       l2_bundle: Bundle,
                                                                       l2_sealed: dict[str, Any]) -> None:
    for result in (good, bad):
        full = grade_result(result, l2_bundle, l2_sealed)
        again = grade_result(result, l2_bundle, l2_sealed)
        some = grade_result(result, l2_bundle, l2_sealed, with_details={"free", "lab"})
        none = grade_result(result, l2_bundle, l2_sealed, with_details=False)
        assert full.score == again.score == some.score == none.score and full.details == again.details
        assert not none.details
        assert some.details == {k: d for k, d in full.details.items()
                                if next(i.kind for i in full.score.items if i.item == k) in ("free", "lab")}
        assert {i.kind for i in full.score.items if i.item in some.details} == {"free", "lab"}


def test_overrides_need_a_free_text_item_points_in_range_and_a_note(bad: SignedResult, l2_bundle: Bundle,
                                                                    l2_sealed: dict[str, Any]) -> None:
    graded = grade_result(bad, l2_bundle, l2_sealed)
    free = next(i for i in graded.score.items if i.kind == "free")
    single = next(i for i in graded.score.items if i.kind == "single")
    override = make_override(graded, free.item, 2.5, "Right diagnosis, no next step")
    assert override.auto == free.points and override.note.startswith("Right")
    again = grade_result(bad, l2_bundle, l2_sealed, [override])
    changed = next(i for i in again.score.items if i.item == free.item)
    assert changed.points == 2.5 and changed.overridden and again.reviewed
    assert again.score.score == pytest.approx(graded.score.score - free.points + 2.5)
    with pytest.raises(UsageError, match="only free-text"):
        make_override(graded, single.item, 1, "no")
    with pytest.raises(UsageError, match="worth 0 to 3"):
        make_override(graded, free.item, 4, "too many")
    with pytest.raises(UsageError, match="needs a note"):
        make_override(graded, free.item, 1, "  ")
    with pytest.raises(UsageError, match="not an item"):
        make_override(graded, "nope", 1, "x")


def test_reviews_are_signed_and_kept(bad: SignedResult, l2_bundle: Bundle, l2_sealed: dict[str, Any],
                                     assessor: AssessorKeys) -> None:
    graded = grade_result(bad, l2_bundle, l2_sealed)
    free = next(i for i in graded.score.items if i.kind == "free")
    graded = grade_result(bad, l2_bundle, l2_sealed, [make_override(graded, free.item, 1, "Partly")])
    review = make_review(graded, assessor)
    files = write_review(review, bad.path)
    assert files[0].name == "bad.review.json" and files[1].parent.name == "reviews"
    loaded = load_review(files[0], assessor)
    assert loaded.overrides[0].note == "Partly" and loaded.result_digest == bad.digest
    doc = json.loads(files[0].read_text())
    doc["review"]["overrides"][0]["points"] = 3
    files[0].write_text(json.dumps(doc))
    with pytest.raises(ExamError, match="altered"):
        load_review(files[0], assessor)
    with pytest.raises(ExamError, match="altered|another assessor"):
        load_review(files[1], AssessorKeys.generate())


def test_a_result_with_a_problem_is_never_scored(good: SignedResult, l2_bundle: Bundle,
                                                 l2_sealed: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    payload = json.loads(json.dumps(good.payload))
    payload["items"][0], payload["items"][1] = payload["items"][1], payload["items"][0]
    key = Ed25519PrivateKey.generate()
    payload["attempt_key"] = b64e(key.public_key().public_bytes_raw())
    forged = result_from_json({"result": payload, "signature": sign(key, payload)})
    with pytest.raises(ExamError, match="not graded"):
        grade_result(forged, l2_bundle, l2_sealed)


def test_review_command(bad: SignedResult, assessor: AssessorKeys, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert bad.path is not None
    copy = tmp_path / "bob.json"
    copy.write_bytes(bad.path.read_bytes())
    assert main(["exam", "review", str(copy), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    free = next(i["item"] for i in first["items"] if i["kind"] == "free")
    assert main(["exam", "review", str(copy), "--override", free, "3", "Good reasoning, checked by hand",
                 "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["overrides"][0]["note"] == "Good reasoning, checked by hand"
    assert second["score"] == pytest.approx(first["score"] - next(i["points"] for i in first["items"]
                                                                  if i["item"] == free) + 3)
    assert (tmp_path / "bob.review.json").is_file()
    assert main(["exam", "review", str(copy)]) == 0  # the stored review is applied again
    assert "(override)" in capsys.readouterr().out
    assert main(["exam", "review", str(copy), "--override", free, "lots", "x"]) == 2
    assert main(["exam", "review", str(copy), "--override", "lab:l2-portal-secret-id", "1", "x"]) == 2
    assert "only free-text" in capsys.readouterr().err
    copy.write_text(copy.read_text().replace('"Bob Bad"', '"Bob Good"'))
    assert main(["exam", "review", str(copy)]) == 1
    assert "altered after it was signed" in capsys.readouterr().err


def test_review_needs_the_bundle_and_the_key(bad: SignedResult, capsys: pytest.CaptureFixture[str]) -> None:
    assert bad.path is not None
    assert main(["exam", "review", str(bad.path)]) == 1  # this test's machine packed nothing
    assert "did not pack" in capsys.readouterr().err
