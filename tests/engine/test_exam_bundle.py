"""Sealed bundles: what they carry, what they hide, and how a damaged or modified one is refused."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.errors import ExamError, UsageError
from engine.exam.bundle import Bundle, find_bundle, pack
from engine.exam.keys import AssessorKeys
from engine.exam.plan import plan_attempt
from engine.exam.result import provisional_right
from engine.loader import CourseTree, validate_course
from engine.models.question import FreeText, MultipleChoice, Ordering, ShortAnswer, SingleChoice
from engine.paths import bundled_content
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import L2, L3

assessor = helpers.assessor
keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


def test_both_bundled_assessments_pack_quickly(tree: CourseTree, keys: AssessorKeys) -> None:
    for assessment in (L2, L3):
        started = time.perf_counter()
        bundle = pack(tree, assessment, keys)
        assert time.perf_counter() - started < 2.0
        assert Bundle.from_json(json.loads(json.dumps(bundle.to_json()))).hash == bundle.hash


def test_the_bundle_hides_every_sealed_key(tree: CourseTree, l2_bundle: Bundle, keys: AssessorKeys) -> None:
    text = json.dumps(l2_bundle.to_json(), ensure_ascii=False)
    sealed = l2_bundle.unseal(keys)
    for qid, public in l2_bundle.questions.items():
        question = tree.questions[qid]
        assert question.explanation.split("\n")[0][:60] not in text or len(question.explanation) < 30
        if isinstance(question, FreeText):
            assert public["sealed"] and "key_points" not in public and "model_answer" not in public
            assert json.dumps(question.model_answer[:80])[1:-1] not in text
            shown = json.dumps(public)
            for kp in question.key_points:
                assert json.dumps(kp.point)[1:-1] not in shown
        if isinstance(question, ShortAnswer) and question.patterns:
            assert public["sealed"] and "hashes" not in public
            for pattern in question.patterns:
                assert json.dumps(pattern)[1:-1] not in text
        if isinstance(question, Ordering):
            assert public["sealed"]
            assert public["items"] != [i for i in question.items]  # shown in a bundle-specific order
        if isinstance(question, SingleChoice | MultipleChoice):
            assert not public["sealed"] and "correct" not in public and "why" not in json.dumps(public)
            assert sealed["questions"][qid]["correct"]
    for lab_id in l2_bundle.labs:
        rubric = tree.labs[lab_id].rubric
        for check in rubric.checks:
            assert json.dumps(check.fail_message)[1:-1] not in text
        assert "hints" not in l2_bundle.labs[lab_id] and "solution" not in l2_bundle.labs[lab_id]
        assert tree.labs[lab_id].hints[-1] not in text


def test_hashed_keys_check_right_answers_only(l2_bundle: Bundle, l2_sealed: dict[str, Any]) -> None:
    checked = 0
    for qid, public in l2_bundle.questions.items():
        key = l2_sealed["questions"][qid]
        if public["sealed"]:
            assert provisional_right(l2_bundle, qid, "anything") is None
            continue
        checked += 1
        if public["kind"] == "single":
            right = key["correct"][0]
            assert provisional_right(l2_bundle, qid, right) is True
            assert all(provisional_right(l2_bundle, qid, i) is False
                       for i in range(len(public["options"])) if i != right)
        elif public["kind"] == "multiple":
            assert provisional_right(l2_bundle, qid, key["correct"]) is True
            assert provisional_right(l2_bundle, qid, key["correct"][:-1] or [99]) is False
        elif public["kind"] == "short":
            assert provisional_right(l2_bundle, qid, key["accepted"][0].upper() + " ") is True
            assert provisional_right(l2_bundle, qid, "certainly not this") is False
    assert checked > 20


def test_seal_all_leaves_nothing_checkable(tree: CourseTree, keys: AssessorKeys) -> None:
    bundle = pack(tree, L2, keys, seal_all=True)
    assert all(q["sealed"] and "hash" not in q and "hashes" not in q for q in bundle.questions.values())


def test_content_hash_is_stable_while_ids_salts_and_orders_change(tree: CourseTree, keys: AssessorKeys,
                                                                   l2_bundle: Bundle) -> None:
    again = pack(tree, L2, keys)
    assert again.assessment["content_hash"] == l2_bundle.assessment["content_hash"]
    assert again.id != l2_bundle.id and again.hash != l2_bundle.hash and again.salt != l2_bundle.salt


def test_pools_hold_enough_questions_and_never_repeat_fixed_items(l2_bundle: Bundle) -> None:
    for section in l2_bundle.sections:
        for pool in section["pools"]:
            assert len(pool["candidates"]) >= pool["draw"]
            assert not set(pool["candidates"]) & set(section["fixed"])
    plan = plan_attempt(l2_bundle.payload, "a" * 64)
    ids = [i.id for i in plan.items]
    assert len(ids) == len(set(ids))
    assert ids[-1] == "lab:l2-portal-secret-id"


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda doc: doc["bundle"]["questions"].__setitem__(next(iter(doc["bundle"]["questions"])), {"kind": "free"}),
         "modified after the assessor signed it"),
        (lambda doc: doc["bundle"]["assessment"].__setitem__("pass_percent", 1), "modified after the assessor signed"),
        (lambda doc: doc.__setitem__("signature", "A" * 86), "modified after the assessor signed"),
        (lambda doc: doc["bundle"].__setitem__("version", 99), "not supported"),
        (lambda doc: doc["bundle"].__setitem__("format", "zip"), "not a relaylab exam bundle"),
        (lambda doc: doc["bundle"]["assessor"].__setitem__("signing_key", "xyz"), "not an Ed25519"),
    ],
)
def test_a_modified_bundle_is_refused(tmp_path: Path, l2_bundle: Bundle, damage: Any, message: str) -> None:
    doc = json.loads(json.dumps(l2_bundle.to_json()))
    damage(doc)
    with pytest.raises(ExamError, match=message):
        Bundle.load(_write(tmp_path / "exam.rlx", doc))


def test_a_bundle_re_signed_by_someone_else_is_refused_by_the_assessor(tmp_path: Path, l2_bundle: Bundle,
                                                                        assessor: AssessorKeys) -> None:
    from engine.exam.crypto import sign

    forger = AssessorKeys.generate()
    payload = json.loads(json.dumps(l2_bundle.payload))
    payload["assessment"]["pass_percent"] = 1
    payload["assessor"] = forger.public_json()
    forged = Bundle.from_json({"bundle": payload, "signature": sign(forger.signing, payload)})
    assert forged.fingerprint != l2_bundle.fingerprint  # a candidate sees another fingerprint at the start
    with pytest.raises(ExamError, match="altered bundle"):
        find_bundle(l2_bundle.id, forged.hash)
    with pytest.raises(ExamError, match="another assessor key|packed for assessor key"):
        forged.unseal(assessor)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe garbage", "not UTF-8"),
        (b'{"bundle": {"format": "relaylab-exam-bundle"', "ends too early"),
        (b"[1, 2, 3]", "not a relaylab exam bundle"),
    ],
)
def test_unreadable_bundles_get_one_clear_message(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "exam.rlx"
    path.write_bytes(content)
    with pytest.raises(ExamError, match=message):
        Bundle.load(path)


def test_a_truncated_bundle_is_refused(tmp_path: Path, l2_bundle: Bundle) -> None:
    full = l2_bundle.write(tmp_path / "full.rlx").read_bytes()
    cut = tmp_path / "cut.rlx"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(ExamError, match="truncated"):
        Bundle.load(cut)


def test_the_wrong_assessor_key_cannot_open_the_sealed_part(l2_bundle: Bundle) -> None:
    with pytest.raises(ExamError, match="packed for assessor key"):
        l2_bundle.unseal(AssessorKeys.generate())


def test_unknown_assessment(tree: CourseTree, keys: AssessorKeys) -> None:
    with pytest.raises(UsageError, match="l2-mail-flow-support"):
        pack(tree, "l2-mail-flow-suport", keys)


def test_invalid_assessments_get_located_errors(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(bundled_content(), course)
    (course / "assessments" / "broken.yaml").write_text(
        "id: broken\ntitle: Broken\nlevel: L2\ninstructions: x\ntime_limit_minutes: 30\npass_percent: 70\n"
        "sections:\n  - title: One\n    labs: [no-such-lab]\n    pools:\n      - draw: 99\n        tags: [dns]\n"
        "        levels: [L1]\n")
    _tree, problems = validate_course(course)
    text = [str(p) for p in problems]
    assert any("broken.yaml:9:" in t and "unknown lab id 'no-such-lab'" in t for t in text), text
    assert any("broken.yaml:11:" in t and "pool draws 99 questions but only 0 match" in t for t in text), text


def test_pack_and_verify_commands(tmp_path: Path, relaylab_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exam.rlx"
    assert main(["exam", "pack", L2, "-o", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["keys_created"] and info["assessment"] == L2 and out.is_file()
    assert (relaylab_home / "assessor" / "bundles" / f"{info['id']}.rlx").is_file()
    assert main(["exam", "verify", str(out)]) == 0
    assert "unchanged" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    doc["bundle"]["assessment"]["time_limit_minutes"] = 600
    out.write_text(json.dumps(doc))
    assert main(["exam", "verify", str(out)]) == 1
    assert "modified after the assessor signed it" in capsys.readouterr().err
    assert main(["exam", "pack", "nope", "-o", str(out)]) == 2
    assert "Known: l2-mail-flow-support" in capsys.readouterr().err
