"""Provides the assessor's keys: an Ed25519 key that signs bundles, reviews and credentials, and an
X25519 key that bundles are sealed to.

They live in ``<RELAYLAB_HOME>/assessor/`` (folder 0700, private keys 0600), are created by
``relaylab exam keys init`` or on the first ``exam pack``, and move to a second machine with
``exam keys export`` / ``exam keys import`` (optionally protected by a passphrase, using the PEM
``BestAvailableEncryption`` of ``cryptography``).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from engine.errors import ExamError
from engine.exam._codec import b64e, read_json_document, write_private
from engine.exam.crypto import did_key, fingerprint
from engine.paths import data_home

__all__ = ["AssessorKeys", "assessor_home", "export_keys", "import_keys", "init_keys", "keys_for", "load_keys"]

EXPORT_FORMAT = "relaylab-assessor-keys"


def assessor_home() -> Path:
    """Return (and create, 0700) the assessor folder."""
    path = data_home() / "assessor"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


@dataclass(frozen=True)
class AssessorKeys:
    """The assessor's two key pairs."""

    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @property
    def signing_public(self) -> Ed25519PublicKey:
        """The public signing key."""
        return self.signing.public_key()

    @property
    def encryption_public(self) -> X25519PublicKey:
        """The public encryption key."""
        return self.encryption.public_key()

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the signing key (what candidates and verifiers compare)."""
        return fingerprint(self.signing_public)

    @property
    def did(self) -> str:
        """The signing key as a ``did:key``."""
        return did_key(self.signing_public)

    def public_json(self) -> dict[str, str]:
        """The public halves as JSON (embedded in every bundle)."""
        return {"signing_key": b64e(self.signing_public.public_bytes_raw()),
                "encryption_key": b64e(self.encryption_public.public_bytes_raw()),
                "fingerprint": self.fingerprint, "did": self.did}

    @classmethod
    def generate(cls) -> AssessorKeys:
        """New random keys."""
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())


def _pem(key: Ed25519PrivateKey | X25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _load_pem(data: bytes, kind: type[Any], what: str, passphrase: bytes | None = None) -> Any:
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise ExamError(f"{what} is protected by a passphrase: set RELAYLAB_KEY_PASSPHRASE") from None
        raise ExamError(f"{what} is not protected by a passphrase, but one was given") from None
    except ValueError:
        hint = " (wrong passphrase?)" if passphrase else ""
        raise ExamError(f"{what} is not a readable private key{hint}") from None
    if not isinstance(key, kind):
        raise ExamError(f"{what} is not an {kind.__name__.removesuffix('PrivateKey')} private key")
    return key


def _files(home: Path) -> tuple[Path, Path]:
    return home / "signing.pem", home / "encryption.pem"


def load_keys(home: Path | None = None, *, create: bool = False) -> AssessorKeys:
    """Load the assessor keys.

    Args:
        home: the assessor folder (default: ``<RELAYLAB_HOME>/assessor``).
        create: create them when there are none yet.

    Raises:
        ExamError: when there are none (and ``create`` is False) or they cannot be read.
    """
    home = home or assessor_home()
    signing_file, encryption_file = _files(home)
    if not signing_file.exists() and not encryption_file.exists():
        if not create:
            raise ExamError("no assessor keys on this machine: run 'relaylab exam keys init' "
                            "(or 'exam keys import FILE' to use the keys of another machine)")
        return init_keys(home)
    try:
        signing = _load_pem(signing_file.read_bytes(), Ed25519PrivateKey, str(signing_file))
        encryption = _load_pem(encryption_file.read_bytes(), X25519PrivateKey, str(encryption_file))
    except FileNotFoundError as exc:
        raise ExamError(f"the assessor keys are incomplete: {exc.filename} is missing") from None
    return AssessorKeys(signing, encryption)


def _save(home: Path, keys: AssessorKeys) -> None:
    signing_file, encryption_file = _files(home)
    write_private(signing_file, _pem(keys.signing))
    write_private(encryption_file, _pem(keys.encryption))
    (home / "public.json").write_text(json.dumps(keys.public_json(), indent=2) + "\n")


def init_keys(home: Path | None = None) -> AssessorKeys:
    """Create the assessor keys.

    Raises:
        ExamError: when keys already exist (they are never replaced silently).
    """
    home = home or assessor_home()
    if any(f.exists() for f in _files(home)):
        raise ExamError(f"assessor keys already exist in {home} (fingerprint {load_keys(home).fingerprint}); "
                        "bundles packed with them could no longer be reviewed if they were replaced")
    keys = AssessorKeys.generate()
    _save(home, keys)
    return keys


def export_keys(keys: AssessorKeys, passphrase: bytes | None) -> dict[str, Any]:
    """The keys as a JSON document for another machine (PEM, encrypted when a passphrase is given)."""
    return {"format": EXPORT_FORMAT, "version": 1, "fingerprint": keys.fingerprint,
            "encrypted": passphrase is not None,
            "signing_key": _pem(keys.signing, passphrase).decode("ascii"),
            "encryption_key": _pem(keys.encryption, passphrase).decode("ascii")}


def import_keys(path: Path, passphrase: bytes | None, *, force: bool = False, home: Path | None = None) -> AssessorKeys:
    """Install exported keys on this machine.

    Args:
        path: a file written by :func:`export_keys`.
        passphrase: its passphrase, when it has one.
        force: replace different existing keys (they are moved to ``replaced-<fingerprint>/``).
        home: the assessor folder.

    Raises:
        ExamError: when the file is not an export, the passphrase is wrong, or other keys exist.
    """
    home = home or assessor_home()
    data = read_json_document(path, "assessor key export")
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ExamError(f"{path}: not an assessor key export (written by 'relaylab exam keys export')")
    if data.get("encrypted") and passphrase is None:
        raise ExamError(f"{path}: the keys are protected by a passphrase: set RELAYLAB_KEY_PASSPHRASE")
    use = passphrase if data.get("encrypted") else None
    signing = _load_pem(str(data.get("signing_key", "")).encode(), Ed25519PrivateKey, "the signing key", use)
    encryption = _load_pem(str(data.get("encryption_key", "")).encode(), X25519PrivateKey, "the encryption key", use)
    keys = AssessorKeys(signing, encryption)
    if data.get("fingerprint") not in (None, keys.fingerprint):
        raise ExamError(f"{path}: the keys do not match the fingerprint the file states")
    if any(f.exists() for f in _files(home)):
        current = load_keys(home)
        if current.fingerprint == keys.fingerprint:
            return current
        if not force:
            raise ExamError(f"other assessor keys exist here (fingerprint {current.fingerprint}); "
                            "pass --force to replace them (they are kept in a replaced-<fingerprint> folder)")
        backup = home / f"replaced-{current.fingerprint}"
        backup.mkdir(mode=0o700, exist_ok=True)
        for f in _files(home):
            shutil.move(str(f), backup / f.name)
    _save(home, keys)
    return keys


def keys_for(fingerprint_wanted: str, home: Path | None = None) -> AssessorKeys:
    """Return the assessor keys with this fingerprint: the current ones or ones replaced by an import.

    Raises:
        ExamError: when this machine has no such keys.
    """
    home = home or assessor_home()
    current = load_keys(home)
    if current.fingerprint == fingerprint_wanted:
        return current
    old = home / f"replaced-{fingerprint_wanted}"
    if old.is_dir():
        return load_keys(old)
    raise ExamError(f"this was packed by assessor key {fingerprint_wanted}, but this machine holds key "
                    f"{current.fingerprint}: review it where that key is, or import it with 'relaylab exam keys import'")
