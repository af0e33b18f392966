"""Certificates: only for a pass, a printable page, and an Open Badges 3.0-shaped credential anyone
can verify offline; an altered credential or one from another issuer is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.errors import ExamError
from engine.exam.bundle import Bundle
from engine.exam.certificate import credential, issue, verify_credential
from engine.exam.keys import AssessorKeys
from engine.exam.review import grade_result
from tests.engine import test_exam_helpers as helpers
from tests.engine.test_exam_helpers import take

assessor = helpers.assessor
keys = helpers.keys
l2_bundle = helpers.l2_bundle
l2_sealed = helpers.l2_sealed
tree = helpers.tree


@pytest.fixture(scope="module")
def passed(l2_bundle: Bundle, l2_sealed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    result = take(l2_bundle, l2_sealed, "Zoë <Quinn>", out=tmp_path_factory.mktemp("c") / "zoe.json")
    return grade_result(result, l2_bundle, l2_sealed)


def test_a_credential_for_a_pass_verifies_offline(passed: Any, keys: AssessorKeys) -> None:
    assert passed.score.passed
    doc = credential(passed, keys)
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert doc["issuer"]["id"] == keys.did and doc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and subject["identifier"][0]["identityHash"] == "Zoë <Quinn>"
    assert subject["achievement"]["name"] == "Mail-flow support engineer"
    assert doc["evidence"][0]["id"].endswith(passed.result.digest)
    info = verify_credential(json.loads(json.dumps(doc)), issuer=keys.fingerprint)
    assert info["name"] == "Zoë <Quinn>" and info["fingerprint"] == keys.fingerprint
    assert float(info["percent"]) == pytest.approx(passed.score.percent, abs=0.05)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["credentialSubject"]["identifier"][0].__setitem__("identityHash", "Mallory"),
        lambda d: d["credentialSubject"]["result"][0].__setitem__("value", "42.0"),
        lambda d: d["proof"].__setitem__("created", "2020-01-01T00:00:00Z"),
        lambda d: d["proof"].__setitem__("proofValue", "z1111"),
    ],
)
def test_an_altered_credential_is_refused(passed: Any, keys: AssessorKeys, edit: Any) -> None:
    doc = credential(passed, keys)
    edit(doc)
    with pytest.raises(ExamError, match="altered|malformed"):
        verify_credential(doc)


def test_a_credential_from_another_issuer(passed: Any, keys: AssessorKeys) -> None:
    other = AssessorKeys.generate()
    doc = credential(passed, other)
    assert verify_credential(doc)["fingerprint"] == other.fingerprint
    with pytest.raises(ExamError, match="issued by assessor key"):
        verify_credential(doc, issuer=keys.fingerprint)
    doc["issuer"]["id"] = keys.did  # claims another issuer than the one that signed
    with pytest.raises(ExamError, match="not made by the credential's issuer"):
        verify_credential(doc)


def test_the_certificate_page_escapes_the_name(passed: Any, keys: AssessorKeys, tmp_path: Path) -> None:
    html_file, credential_file = issue(passed, keys, tmp_path)
    html = html_file.read_text()
    assert "Zoë &lt;Quinn&gt;" in html and "<Quinn>" not in html
    assert "@page" in html and credential_file.name in html


def test_no_certificate_without_a_pass(l2_bundle: Bundle, l2_sealed: dict[str, Any], keys: AssessorKeys,
                                       tmp_path: Path) -> None:
    failed = grade_result(take(l2_bundle, l2_sealed, "Not Yet", good=False, lab=False, out=tmp_path / "f.json"),
                          l2_bundle, l2_sealed)
    with pytest.raises(ExamError, match="did not pass"):
        issue(failed, keys, tmp_path)
    assert not list(tmp_path.glob("*.credential.json"))


def test_certificate_and_verify_commands(passed: Any, assessor: AssessorKeys, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    result = passed.result.path
    assert main(["exam", "certificate", str(result), "-o", str(tmp_path), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)
    assert main(["exam", "verify", files["credential"], "--issuer", assessor.fingerprint]) == 0
    assert "valid credential" in capsys.readouterr().out
    doc = json.loads(Path(files["credential"]).read_text())
    doc["credentialSubject"]["result"][0]["value"] = "99.9"
    Path(files["credential"]).write_text(json.dumps(doc))
    assert main(["exam", "verify", files["credential"]]) == 1
    assert "altered after it was issued" in capsys.readouterr().err
