"""Assessor keys and the cryptographic building blocks of exams: signatures, sealing, answer hashes,
did:key, key files (0600) and their export and import."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import ExamError
from engine.exam._codec import canonical
from engine.exam.crypto import (
    choice_hash,
    did_key,
    fingerprint,
    open_sealed,
    public_from_did_key,
    seal,
    short_hash,
    sign,
    verify,
)
from engine.exam.keys import AssessorKeys, export_keys, import_keys, init_keys, keys_for, load_keys


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical({"b": 1, "a": ["é", None, True]}) == '{"a":["é",null,true],"b":1}'.encode()
    with pytest.raises(ExamError):
        canonical({"x": float("nan")})


def test_signatures_cover_every_value_but_not_formatting() -> None:
    keys = AssessorKeys.generate()
    payload = {"score": 12, "answers": ["a", "b"]}
    signature = sign(keys.signing, payload)
    assert verify(keys.signing_public, json.loads(json.dumps(payload, indent=4)), signature)
    assert not verify(keys.signing_public, {**payload, "score": 13}, signature)
    assert not verify(AssessorKeys.generate().signing_public, payload, signature)
    assert not verify(keys.signing_public, payload, "not base64!")


def test_sealed_data_opens_only_with_the_right_key_and_context() -> None:
    keys = AssessorKeys.generate()
    blob = seal(b"the answer is 587", keys.encryption_public, b"bundle-1")
    assert b"587" not in json.dumps(blob).encode()
    assert open_sealed(blob, keys.encryption, b"bundle-1") == b"the answer is 587"
    with pytest.raises(ExamError, match="another assessor key"):
        open_sealed(blob, AssessorKeys.generate().encryption, b"bundle-1")
    with pytest.raises(ExamError):
        open_sealed(blob, keys.encryption, b"bundle-2")  # moved into another bundle
    tampered = {**blob, "ct": blob["ct"][:-4] + ("AAAA" if not blob["ct"].endswith("AAAA") else "BBBB")}
    with pytest.raises(ExamError):
        open_sealed(tampered, keys.encryption, b"bundle-1")
    with pytest.raises(ExamError):
        open_sealed({"alg": "rot13"}, keys.encryption, b"bundle-1")


def test_answer_hashes_depend_on_salt_item_and_answer() -> None:
    salt = os.urandom(32)
    assert choice_hash(salt, "q1", "0,2") == choice_hash(salt, "q1", "0,2")
    assert choice_hash(salt, "q1", "0,2") != choice_hash(salt, "q2", "0,2")
    assert choice_hash(salt, "q1", "0,2") != choice_hash(os.urandom(32), "q1", "0,2")
    assert short_hash(salt, "q1", "587") != short_hash(salt, "q1", "465")


def test_did_key_round_trip() -> None:
    keys = AssessorKeys.generate()
    did = did_key(keys.signing_public)
    assert did.startswith("did:key:z6Mk")
    assert fingerprint(public_from_did_key(did + "#frag")) == keys.fingerprint
    with pytest.raises(ExamError):
        public_from_did_key("did:web:example.com")
    with pytest.raises(ExamError):
        public_from_did_key("did:key:z0OIl")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_created_once_with_private_files_0600(relaylab_home: Path) -> None:
    keys = init_keys()
    folder = relaylab_home / "assessor"
    assert _mode(folder) == 0o700
    assert _mode(folder / "signing.pem") == 0o600 and _mode(folder / "encryption.pem") == 0o600
    assert load_keys().fingerprint == keys.fingerprint
    with pytest.raises(ExamError, match="already exist"):
        init_keys()


def test_no_keys_is_a_clear_error(relaylab_home: Path) -> None:
    with pytest.raises(ExamError, match="exam keys init"):
        load_keys()


def test_export_and_import_with_a_passphrase(tmp_path: Path, relaylab_home: Path) -> None:
    keys = init_keys()
    exported = export_keys(keys, b"correct horse")
    assert "PRIVATE KEY-----" in exported["signing_key"] and exported["encrypted"]
    file = tmp_path / "keys.json"
    file.write_text(json.dumps(exported))
    other = tmp_path / "other-machine"
    with pytest.raises(ExamError, match="passphrase"):
        import_keys(file, None, home=other)
    with pytest.raises(ExamError, match="wrong passphrase"):
        import_keys(file, b"wrong", home=other)
    assert import_keys(file, b"correct horse", home=other).fingerprint == keys.fingerprint
    # importing different keys over existing ones needs --force; the old ones are kept
    newer = AssessorKeys.generate()
    file.write_text(json.dumps(export_keys(newer, None)))
    with pytest.raises(ExamError, match="--force"):
        import_keys(file, None, home=other)
    assert import_keys(file, None, force=True, home=other).fingerprint == newer.fingerprint
    assert (other / f"replaced-{keys.fingerprint}" / "signing.pem").is_file()
    assert keys_for(keys.fingerprint, home=other).fingerprint == keys.fingerprint
    with pytest.raises(ExamError, match="import it"):
        keys_for("0000-0000-0000-0000", home=other)


def test_keys_commands(tmp_path: Path, relaylab_home: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["exam", "keys", "init", "--json"]) == 0
    fingerprint_ = json.loads(capsys.readouterr().out)["fingerprint"]
    assert main(["exam", "keys", "init"]) == 1
    assert "already exist" in capsys.readouterr().err
    assert main(["exam", "keys", "export", "-o", str(tmp_path / "k.json")]) == 2  # no passphrase, no --no-passphrase
    monkeypatch.setenv("RELAYLAB_KEY_PASSPHRASE", "s3cret")
    assert main(["exam", "keys", "export", "-o", str(tmp_path / "k.json")]) == 0
    assert _mode(tmp_path / "k.json") == 0o600
    monkeypatch.setenv("RELAYLAB_HOME", str(tmp_path / "second"))
    assert main(["exam", "keys", "import", str(tmp_path / "k.json")]) == 0
    assert main(["exam", "keys", "show", "--json"]) == 0
    assert fingerprint_ in capsys.readouterr().out
    assert main(["exam", "keys", "import", str(tmp_path / "missing.json")]) == 1
    assert "no such file" in capsys.readouterr().err
