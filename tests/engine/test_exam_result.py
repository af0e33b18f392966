"""Signed results: any change is refused before scoring, and a re-signed forgery still has to match
its bundle, its candidate's draw and the time limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.cli import main
from engine.errors import ExamError
from engine.exam._codec import b64e
from engine.exam.bundle import Bundle, pack
from engine.exam.crypto import sign
from engine.exam.keys import AssessorKeys
from engine.exam.result import SignedResult, check_result, load_result, result_from_json
from engine.loader import CourseTree
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import L2, take

assessor = helpers.assessor
keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


@pytest.fixture
def result(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path: Path) -> SignedResult:
    return take(l2_bundle, l2_sealed, "Lin Clark", lab=False, out=tmp_path / "result.json")


def _forge(data: dict[str, Any], change: Any) -> dict[str, Any]:
    """Change a result and sign it again with a new key (what a candidate could do)."""
    payload = json.loads(json.dumps(data["result"]))
    change(payload)
    key = Ed25519PrivateKey.generate()
    payload["attempt_key"] = b64e(key.public_key().public_bytes_raw())
    return {"result": payload, "signature": sign(key, payload)}


def test_a_fresh_result_holds_together(result: SignedResult, l2_bundle: Bundle) -> None:
    assert check_result(result, l2_bundle).ok
    assert check_result(result, None).ok
    p = result.payload
    assert p["bundle"] == {"id": l2_bundle.id, "hash": l2_bundle.hash, "assessor": l2_bundle.fingerprint}
    assert p["assessment"]["content_hash"] == l2_bundle.assessment["content_hash"]
    assert len(p["items"]) == 13 and p["relaylab"] and p["journal"]["head"]
    assert all(len(h["at"]) == 24 for h in p["history"])
    assert len(result.attempt_code) == 19


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p["items"][0].__setitem__("response", "forged"),  # an answer
        lambda p: p["provisional"].__setitem__("points", 999),  # a score
        lambda p: p.__setitem__("candidate", "Someone Else"),
        lambda p: p.__setitem__("elapsed_seconds", 12.5),
    ],
)
def test_any_change_is_refused(result: SignedResult, edit: Any) -> None:
    data = result.to_json()
    payload = json.loads(json.dumps(data["result"]))
    edit(payload)
    with pytest.raises(ExamError, match="altered after it was signed"):
        result_from_json({"result": payload, "signature": data["signature"]})


def test_one_changed_byte_in_the_file_is_refused(result: SignedResult) -> None:
    assert result.path is not None
    text = result.path.read_text()
    index = text.index('"elapsed_seconds": ') + len('"elapsed_seconds": ')
    digit = text[index]
    result.path.write_text(text[:index] + ("1" if digit != "1" else "2") + text[index + 1:])
    with pytest.raises(ExamError, match="altered after it was signed"):
        load_result(result.path)


def test_a_truncated_result_is_refused(result: SignedResult) -> None:
    assert result.path is not None
    result.path.write_bytes(result.path.read_bytes()[:500])
    with pytest.raises(ExamError, match="truncated"):
        load_result(result.path)


def test_a_resigned_result_with_other_items_is_refused(result: SignedResult, l2_bundle: Bundle) -> None:
    swapped = _forge(result.to_json(), lambda p: p["items"].reverse())
    check = check_result(result_from_json(swapped), l2_bundle)
    assert not check.ok and "not the ones" in check.problems[0]


def test_a_resigned_result_with_a_chosen_seed_is_refused(result: SignedResult, l2_bundle: Bundle) -> None:
    forged = _forge(result.to_json(), lambda p: p.__setitem__("seed", "0" * 64))
    check = check_result(result_from_json(forged), l2_bundle)
    assert "not drawn by relaylab" in check.problems[0]


def test_answers_after_the_time_limit_are_refused(result: SignedResult, l2_bundle: Bundle) -> None:
    def late(p: dict[str, Any]) -> None:
        p["history"][-1]["elapsed"] = 45 * 60 + 120
        p["elapsed_seconds"] = 45 * 60 + 120

    check = check_result(result_from_json(_forge(result.to_json(), late)), l2_bundle)
    assert any("over the limit" in problem for problem in check.problems)
    assert any("after the time limit" in problem for problem in check.problems)


def test_a_result_from_another_bundle(result: SignedResult, tree: CourseTree, keys: AssessorKeys) -> None:
    other = pack(tree, L2, keys)
    check = check_result(result, other)
    assert not check.ok and "not with this bundle" in check.problems[0]


def test_the_attempt_code_reported_at_the_start_must_match(result: SignedResult, l2_bundle: Bundle) -> None:
    assert check_result(result, l2_bundle, attempt_code=result.attempt_code.upper()).ok
    check = check_result(result, l2_bundle, attempt_code="aaaa-bbbb-cccc-dddd")
    assert "not by the key" in check.problems[0]


def test_verify_command(result: SignedResult, assessor: AssessorKeys, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert result.path is not None
    assert main(["exam", "verify", str(result.path)]) == 0
    out = capsys.readouterr().out
    assert "OK: result of Lin Clark" in out and "answers exactly the items" in out
    assert main(["exam", "verify", str(result.path), "--json", "--attempt-code", "0000-0000-0000-0000"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_forge(result.to_json(), lambda p: p["items"].reverse())))
    assert main(["exam", "verify", str(forged)]) == 1
    assert "REFUSED" in capsys.readouterr().err
    tampered = tmp_path / "tampered.json"
    tampered.write_text(result.path.read_text().replace('"Lin Clark"', '"Lin Clarke"'))
    assert main(["exam", "verify", str(tampered)]) == 1
    assert "altered after it was signed" in capsys.readouterr().err
    (tmp_path / "note.json").write_text('{"hello": 1}')
    assert main(["exam", "verify", str(tmp_path / "note.json")]) == 1
    assert "not a relaylab result" in capsys.readouterr().err


def test_verify_without_the_bundle_says_what_was_not_checked(result: SignedResult,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert result.path is not None
    assert main(["exam", "verify", str(result.path)]) == 0  # no assessor folder on this machine
    assert "only the signature and the timing were checked" in capsys.readouterr().out
