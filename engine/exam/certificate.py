"""Provides certificates for a passing result: a printable HTML page and an Open Badges 3.0-shaped
credential signed by the assessor's key, which anyone can check offline with ``relaylab exam verify``.

The credential is an ``OpenBadgeCredential`` (W3C Verifiable Credentials 2.0 shape) whose issuer is
the assessor's Ed25519 key as a ``did:key``, so no network is needed to find the key. Its proof is
a ``DataIntegrityProof`` built as the ``eddsa-jcs-2022`` cryptosuite describes: Ed25519 over
``SHA-256(canonical(proof options)) || SHA-256(canonical(credential without proof))``. The
canonical JSON used (:mod:`engine.exam._codec`) equals JCS (RFC 8785) for the credential's data,
which holds only strings, integers, lists and ASCII keys. The candidate is named in an
``IdentityObject`` (``identityType: name``, not hashed), and the signed result's digest is given
as evidence.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from engine.errors import ExamError
from engine.exam._codec import canonical
from engine.exam.attempt import _slug
from engine.exam.crypto import _b58decode, _b58encode, fingerprint, public_from_did_key
from engine.exam.keys import AssessorKeys
from engine.exam.review import GradedResult
from engine.store import utcnow

__all__ = ["credential", "issue", "verify_credential"]

CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical(options)).digest() + hashlib.sha256(canonical(document)).digest()


def credential(graded: GradedResult, keys: AssessorKeys) -> dict[str, Any]:
    """The signed credential for a passing result.

    Raises:
        ExamError: when the result did not pass.
    """
    s = graded.score
    a = graded.bundle.assessment
    if not s.passed:
        raise ExamError(f"{graded.candidate} did not pass ({s.percent:.1f} % < {a['pass_percent']} %): no certificate")
    p = graded.result.payload
    did = keys.did
    percent = f"{s.percent:.1f}"
    document: dict[str, Any] = {
        "@context": CONTEXTS,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{a['title']} (relaylab assessment)",
        "issuer": {"id": did, "type": ["Profile"], "name": f"relaylab assessor {keys.fingerprint}"},
        "validFrom": utcnow().split(".")[0] + "Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": ["IdentityObject"], "identityType": "name", "hashed": False,
                            "identityHash": graded.candidate}],
            "activityStartDate": p["started"].split(".")[0] + "Z",
            "activityEndDate": p["finished"].split(".")[0] + "Z",
            "achievement": {
                "id": f"urn:relaylab:assessment:{a['id']}:{a['content_hash'][:16]}",
                "type": ["Achievement"], "achievementType": "Assessment", "name": a["title"],
                "description": f"Passed the relaylab {a['level']} assessment '{a['title']}': a timed, sealed exam on "
                               "Microsoft 365 / Exchange Online SMTP relay with hands-on labs.",
                "criteria": {"narrative": f"Score at least {a['pass_percent']} % within {a['time_limit_minutes']} "
                                          "minutes, graded by the assessor."},
                "resultDescription": [{"id": "urn:relaylab:result:percent", "type": ["ResultDescription"],
                                       "name": "Score", "resultType": "Percent"}],
            },
            "result": [{"type": ["Result"], "resultDescription": "urn:relaylab:result:percent", "value": percent}],
        },
        "evidence": [{"id": f"urn:relaylab:result:sha256:{graded.result.digest}", "type": ["Evidence"],
                      "name": "Signed exam result",
                      "description": f"SHA-256 of the signed result of attempt {p['attempt']} "
                                     f"(attempt key {graded.result.attempt_code})"}],
    }
    options = {"@context": CONTEXTS, "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
               "created": document["validFrom"], "verificationMethod": f"{did}#{did.removeprefix('did:key:')}",
               "proofPurpose": "assertionMethod"}
    signature = keys.signing.sign(_hash_data(document, options))
    proof = {k: v for k, v in options.items() if k != "@context"}
    return {**document, "proof": {**proof, "proofValue": "z" + _b58encode(signature)}}


def verify_credential(data: Any, *, issuer: str | None = None) -> dict[str, Any]:
    """Check a credential's proof offline.

    Args:
        data: the credential document.
        issuer: the assessor fingerprint it must come from (any issuer when None).

    Returns:
        What it says: name, achievement, percent, date, issuer, fingerprint.

    Raises:
        ExamError: when it is not a credential, was altered, or comes from another issuer.
    """
    if not isinstance(data, dict) or "OpenBadgeCredential" not in (data.get("type") or []):
        raise ExamError("not an Open Badges credential")
    proof = data.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022":
        raise ExamError("the credential has no eddsa-jcs-2022 proof")
    issuer_id = data.get("issuer", {}).get("id") if isinstance(data.get("issuer"), dict) else data.get("issuer")
    method = str(proof.get("verificationMethod", ""))
    if method.split("#", 1)[0] != issuer_id:
        raise ExamError("the proof was not made by the credential's issuer")
    public = public_from_did_key(issuer_id)
    value = str(proof.get("proofValue", ""))
    raw = _b58decode(value[1:]) if value.startswith("z") else None
    if raw is None or len(raw) != 64:
        raise ExamError("the credential's proof value is malformed")
    document = {k: v for k, v in data.items() if k != "proof"}
    options = {"@context": data.get("@context"), **{k: v for k, v in proof.items() if k != "proofValue"}}
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(raw, _hash_data(document, options))
    except InvalidSignature:
        raise ExamError("the credential was altered after it was issued (the proof does not match)") from None
    found = fingerprint(public)
    if issuer is not None and issuer.strip().lower() != found:
        raise ExamError(f"the credential was issued by assessor key {found}, not {issuer.strip()}")
    subject = data.get("credentialSubject", {})
    names = [i.get("identityHash") for i in subject.get("identifier", []) if isinstance(i, dict)]
    results = [r.get("value") for r in subject.get("result", []) if isinstance(r, dict)]
    return {"name": names[0] if names else "?", "achievement": subject.get("achievement", {}).get("name", "?"),
            "percent": results[0] if results else "?", "date": str(subject.get("activityEndDate", "?"))[:10],
            "issuer": issuer_id, "fingerprint": found, "id": data.get("id")}


def issue(graded: GradedResult, keys: AssessorKeys, folder: Path) -> tuple[Path, Path]:
    """Write the HTML certificate and the credential for a passing result.

    Raises:
        ExamError: when the result did not pass.
    """
    from engine.exam.report import render

    signed = credential(graded, keys)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{graded.bundle.assessment['id']}-{_slug(graded.candidate)}"
    credential_file = folder / f"{stem}.credential.json"
    html_file = folder / f"{stem}.certificate.html"
    credential_file.write_text(json.dumps(signed, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    html_file.write_text(render("certificate.html.j2", g=graded, a=graded.bundle.assessment, c=signed,
                                fingerprint=keys.fingerprint, credential_file=credential_file.name), encoding="utf-8")
    return html_file, credential_file
