"""Provides every cryptographic operation of the exam workflow, all through ``cryptography``.

* **Signatures**: Ed25519 over canonical JSON (see :mod:`engine.exam._codec`). Bundles,
  reviews and credentials are signed by the assessor's key; a result by its attempt's key.
* **Sealing** ("encrypted to the assessor's public key"), an ECIES-style hybrid scheme:

  1. an ephemeral X25519 key pair is made for each sealed blob;
  2. ``shared = X25519(ephemeral_private, assessor_public)``;
  3. ``key = HKDF-SHA256(shared, salt = ephemeral_public || assessor_public,
     info = "relaylab exam seal v1" || context, length = 32)``;
  4. ``ciphertext = ChaCha20-Poly1305(key).encrypt(nonce = 12 random bytes, plaintext,
     associated_data = context)``.

  The blob stores the ephemeral public key, the nonce and the ciphertext. ``context`` is the
  bundle id, so a sealed blob cannot be moved into another bundle. Only the holder of the
  assessor's X25519 private key can derive ``key``.
* **Answer hashes** (okpy's idea): a choice key is hashed with keyed BLAKE2b (key = the bundle's
  random salt); a short answer's accepted variants with scrypt (N=2^13, r=8, p=1) over the
  normalised answer, salted with the bundle salt and the item id. The cost of scrypt only slows
  guessing down; it cannot protect a key drawn from a small set (a port number, four options).
* **Identifiers**: key fingerprints (SHA-256 of the raw public key) and ``did:key`` (multicodec
  ``0xed01`` + base58btc) for Open Badges issuers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from engine.errors import ExamError
from engine.exam._codec import b64d, b64e, canonical

__all__ = [
    "SEAL_ALG",
    "SCRYPT_PARAMS",
    "choice_hash",
    "did_key",
    "fingerprint",
    "hashes_equal",
    "load_signing_public",
    "open_sealed",
    "public_from_did_key",
    "seal",
    "short_hash",
    "sign",
    "verify",
]

SEAL_ALG = "X25519-HKDF-SHA256-ChaCha20Poly1305"
SCRYPT_PARAMS = {"n": 2**13, "r": 8, "p": 1}
_INFO = b"relaylab exam seal v1"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def sign(key: Ed25519PrivateKey, payload: Any) -> str:
    """Sign the canonical JSON of ``payload``; return the signature as base64."""
    return b64e(key.sign(canonical(payload)))


def verify(public: Ed25519PublicKey, payload: Any, signature: Any) -> bool:
    """Return whether ``signature`` is ``public``'s signature of the canonical JSON of ``payload``."""
    try:
        raw = b64d(signature, "signature")
        public.verify(raw, canonical(payload))
    except (InvalidSignature, ExamError, ValueError):
        return False
    return True


def load_signing_public(text: Any, what: str) -> Ed25519PublicKey:
    """Return the Ed25519 public key encoded (raw, base64) in ``text``.

    Raises:
        ExamError: when it is not a 32-byte Ed25519 key.
    """
    raw = b64d(text, what)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ExamError(f"{what} is not an Ed25519 public key") from None


def fingerprint(public: Ed25519PublicKey) -> str:
    """A short, readable fingerprint of a signing key: ``xxxx-xxxx-xxxx-xxxx``."""
    h = hashlib.sha256(public.public_bytes_raw()).hexdigest()[:16]
    return "-".join(h[i:i + 4] for i in range(0, 16, 4))


def seal(plaintext: bytes, recipient: X25519PublicKey, context: bytes) -> dict[str, str]:
    """Encrypt ``plaintext`` to ``recipient`` (see the module docstring for the construction)."""
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes_raw()
    key = _derive(ephemeral.exchange(recipient), epk, recipient.public_bytes_raw(), context)
    nonce = os.urandom(12)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, plaintext, context)
    return {"alg": SEAL_ALG, "epk": b64e(epk), "nonce": b64e(nonce), "ct": b64e(ciphertext)}


def open_sealed(blob: Any, private: X25519PrivateKey, context: bytes) -> bytes:
    """Decrypt a sealed blob.

    Raises:
        ExamError: when the blob is malformed, or was sealed to another key or another bundle.
    """
    if not isinstance(blob, dict) or blob.get("alg") != SEAL_ALG:
        raise ExamError(f"the sealed part is missing or not {SEAL_ALG}")
    epk = b64d(blob.get("epk"), "sealed part's ephemeral key")
    nonce = b64d(blob.get("nonce"), "sealed part's nonce")
    ciphertext = b64d(blob.get("ct"), "sealed part's ciphertext")
    try:
        ephemeral = X25519PublicKey.from_public_bytes(epk)
        key = _derive(private.exchange(ephemeral), epk, private.public_key().public_bytes_raw(), context)
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, context)
    except (InvalidTag, ValueError):
        raise ExamError("the sealed part cannot be opened with this assessor key: the bundle was packed "
                        "for another assessor key, or it was altered") from None


def _derive(shared: bytes, epk: bytes, recipient: bytes, context: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=_INFO + context).derive(shared)


def choice_hash(salt: bytes, item_id: str, key: str) -> str:
    """Keyed BLAKE2b of a choice, order or match key (its answer space is small: see the docstring)."""
    h = hashlib.blake2b(key=salt[:64], digest_size=32, person=b"relaylab-choice")
    h.update(item_id.encode() + b"\x00" + key.encode())
    return h.hexdigest()


def short_hash(salt: bytes, item_id: str, normalised: str) -> str:
    """scrypt of a normalised short answer, salted with the bundle salt and the item id."""
    value = hashlib.scrypt(normalised.encode("utf-8"), salt=salt + b"\x00" + item_id.encode(),
                           n=SCRYPT_PARAMS["n"], r=SCRYPT_PARAMS["r"], p=SCRYPT_PARAMS["p"], dklen=32,
                           maxmem=64 * 1024 * 1024)
    return value.hex()


def hashes_equal(a: str, b: str) -> bool:
    """Compare two hex digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def did_key(public: Ed25519PublicKey) -> str:
    """The ``did:key`` identifier of an Ed25519 public key."""
    return "did:key:z" + _b58encode(b"\xed\x01" + public.public_bytes_raw())


def public_from_did_key(did: Any) -> Ed25519PublicKey:
    """Return the Ed25519 key of a ``did:key`` (a verification method's ``#fragment`` is ignored).

    Raises:
        ExamError: when it is not an Ed25519 did:key.
    """
    if not isinstance(did, str) or not did.startswith("did:key:z"):
        raise ExamError("the issuer is not an Ed25519 did:key")
    raw = _b58decode(did.split("#", 1)[0][len("did:key:z"):])
    if raw is None or len(raw) != 34 or raw[:2] != b"\xed\x01":
        raise ExamError("the issuer is not an Ed25519 did:key")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + out


def _b58decode(text: str) -> bytes | None:
    n = 0
    for ch in text:
        index = _B58.find(ch)
        if index < 0:
            return None
        n = n * 58 + index
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body
