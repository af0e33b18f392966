"""Provides sealed exam bundles: ``relaylab exam pack`` builds one, ``exam take`` loads and checks it.

A bundle (``.rlx``) is one JSON file::

    {"bundle": PAYLOAD, "signature": Ed25519(assessor signing key, canonical(PAYLOAD))}

The payload holds the assessment's settings, its sections and pools, every question a candidate
may be asked (texts rendered; option, item and right-hand lists shuffled once per bundle so their
order gives nothing away), every lab's public part (texts, tenant scenario, starting config), the
assessor's public keys, a random salt, and the *sealed* part: every key, rubric and reference
solution, encrypted to the assessor's X25519 key (see :mod:`engine.exam.crypto`).

What the candidate's machine can check without the assessor's private key:

* a single- or multiple-choice answer, against a keyed BLAKE2b hash of its key;
* a short answer whose key is a list of exact (normalised) answers, against their scrypt hashes.

Everything else (ordering and matching keys, short answers accepted by a pattern, free-text key
points, lab rubrics and reference solutions) is sealed and graded by the assessor. ``pack
--seal-all`` seals the hashed keys too.

The bundle's *hash* is SHA-256 of its canonical payload; results name it, and the assessor keeps
a copy of every bundle they pack in ``<RELAYLAB_HOME>/assessor/bundles/<id>.rlx``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import __version__
from engine.errors import ExamError, UsageError
from engine.exam._codec import canonical, digest, read_json_document
from engine.exam.crypto import (
    SCRYPT_PARAMS,
    choice_hash,
    load_signing_public,
    open_sealed,
    seal,
    short_hash,
    sign,
    verify,
)
from engine.exam.keys import AssessorKeys, assessor_home
from engine.store import utcnow
from grading.questions import normalise_answer

if TYPE_CHECKING:
    # Packing needs the course models; reading and checking a bundle (what graders and reports
    # do) does not, so they are imported where a bundle is packed.
    from engine.loader import CourseTree
    from engine.models.assessment import Assessment, Pool
    from engine.models.question import Question

__all__ = ["BUNDLE_FORMAT", "Bundle", "find_bundle", "pack", "pool_candidates", "register"]

BUNDLE_FORMAT = "relaylab-exam-bundle"
BUNDLE_VERSION = 1


def pool_candidates(tree: CourseTree, pool: Pool) -> list[str]:
    """The ids of the questions a pool may draw from, in a stable order."""
    return sorted(
        q.id for q in tree.questions.values()
        if (not pool.tags or set(pool.tags) & set(q.tags))
        and (not pool.levels or q.level in pool.levels)
        and (not pool.kinds or q.kind in pool.kinds)
    )


def _render(text: str, variables: Mapping[str, Any]) -> str:
    from engine.render import RenderError, render_markdown

    try:
        return render_markdown(text, variables)
    except RenderError:
        return text


def _shuffled(n: int) -> list[int]:
    """A random permutation of range(n) that is not the identity (when n > 1)."""
    order = list(range(n))
    while n > 1 and order == list(range(n)):
        secrets.SystemRandom().shuffle(order)
    return order


def _question(q: Question, variables: Mapping[str, Any], salt: bytes, seal_all: bool
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public part, sealed key) of one question."""
    from engine.models.question import FreeText, Matching, MultipleChoice, Ordering, ShortAnswer, SingleChoice

    public: dict[str, Any] = {"kind": q.kind, "level": q.level, "tags": list(q.tags), "points": q.points,
                              "prompt": _render(q.prompt, variables), "sealed": True}
    key: dict[str, Any] = {"kind": q.kind, "explanation": _render(q.explanation, variables)}
    if isinstance(q, SingleChoice | MultipleChoice):
        order = _shuffled(len(q.options))
        public["options"] = [_render(q.options[i].text, variables) for i in order]
        correct = sorted(pos for pos, i in enumerate(order) if q.options[i].correct)
        key["correct"] = correct
        if not seal_all:
            public["sealed"] = False
            public["hash"] = choice_hash(salt, q.id, ",".join(map(str, correct)))
    elif isinstance(q, Ordering):
        order = _shuffled(len(q.items))
        public["items"] = [_render(q.items[i], variables) for i in order]
        key["order"] = [order.index(i) for i in range(len(q.items))]
    elif isinstance(q, Matching):
        rights = [p.right for p in q.pairs] + list(q.distractors)
        order = _shuffled(len(rights))
        public["lefts"] = [_render(p.left, variables) for p in q.pairs]
        public["rights"] = [_render(rights[i], variables) for i in order]
        key["pairs"] = [order.index(i) for i in range(len(q.pairs))]
    elif isinstance(q, ShortAnswer):
        key.update(accepted=list(q.accepted), patterns=list(q.patterns), case_sensitive=q.case_sensitive,
                   model_answer=_render(q.model_answer, variables))
        public["case_sensitive"] = q.case_sensitive
        if not q.patterns and not seal_all:
            variants = sorted({normalise_answer(a, q.case_sensitive) for a in q.accepted} - {""})
            public["sealed"] = False
            public["hashes"] = [short_hash(salt, q.id, v) for v in variants]
    elif isinstance(q, FreeText):
        key.update(model_answer=_render(q.model_answer, variables),
                   key_points=[{"point": _render(k.point, variables), "any_of": list(k.any_of)} for k in q.key_points])
    return public, key


def content_hash(tree: CourseTree, assessment: Assessment, question_ids: list[str], lab_ids: list[str]) -> str:
    """SHA-256 of everything the assessment is made of (independent of the bundle's salt and shuffles)."""
    return digest({
        "assessment": assessment.model_dump(mode="json"),
        "questions": {q: tree.questions[q].model_dump(mode="json") for q in sorted(question_ids)},
        "labs": {lab: {"lab": tree.labs[lab].model_dump(mode="json", by_alias=True),
                       "scenario": tree.labs[lab].scenario(tree).model_dump(mode="json")} for lab in sorted(lab_ids)},
    })


def pack(tree: CourseTree, assessment_id: str, keys: AssessorKeys, *, seal_all: bool = False) -> Bundle:
    """Build and sign a bundle for one assessment of ``tree``.

    Args:
        tree: the loaded course (validated: pools can be filled, labs exist).
        assessment_id: the assessment to pack.
        keys: the assessor's keys (the bundle is signed with them and sealed to them).
        seal_all: seal the keys that would otherwise be hashed (no candidate-side checking at all).

    Raises:
        UsageError: when there is no such assessment.
        ExamError: when a pool cannot be filled.
    """
    from engine.exam.labitem import public_lab, sealed_lab
    from engine.problems import did_you_mean

    if assessment_id not in tree.assessments:
        raise UsageError(f"no assessment {assessment_id!r}.{did_you_mean(assessment_id, list(tree.assessments))} "
                         f"Known: {', '.join(sorted(tree.assessments)) or 'none'}.")
    assessment = tree.assessments[assessment_id]
    bundle_id = uuid.uuid4().hex
    salt = secrets.token_bytes(32)
    variables = tree.template_vars()
    sections: list[dict[str, Any]] = []
    question_ids: list[str] = []
    lab_ids: list[str] = []
    for si, section in enumerate(assessment.sections):
        pools = []
        for pi, pool in enumerate(section.pools):
            candidates = [q for q in pool_candidates(tree, pool) if q not in section.fixed]
            if len(candidates) < pool.draw:
                raise ExamError(f"section {si + 1}, pool {pi + 1} of {assessment_id!r} draws {pool.draw} questions "
                                f"but only {len(candidates)} match")
            pools.append({"draw": pool.draw, "points": pool.points, "candidates": candidates})
            question_ids += candidates
        question_ids += section.fixed
        labs = list(dict.fromkeys(section.labs))
        lab_ids += labs
        sections.append({"title": section.title, "fixed": list(section.fixed), "pools": pools, "labs": labs,
                         "lab_points": section.lab_points})
    question_ids = list(dict.fromkeys(question_ids))
    lab_ids = list(dict.fromkeys(lab_ids))
    questions: dict[str, Any] = {}
    keys_clear: dict[str, Any] = {}
    for qid in question_ids:
        questions[qid], keys_clear[qid] = _question(tree.questions[qid], variables, salt, seal_all)
    sealed_plain = {"bundle_id": bundle_id, "questions": keys_clear,
                    "labs": {lab: sealed_lab(tree, lab) for lab in lab_ids}}
    payload = {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "id": bundle_id, "created": utcnow(),
        "relaylab": __version__, "assessor": keys.public_json(),
        "assessment": {
            "id": assessment.id, "title": assessment.title, "level": assessment.level,
            "instructions": _render(assessment.instructions, variables),
            "time_limit_minutes": assessment.time_limit_minutes, "pass_percent": assessment.pass_percent,
            "feedback_at_end": assessment.feedback_at_end, "attempts_allowed": assessment.attempts_allowed,
            "pauses_allowed": assessment.pauses_allowed,
            "content_hash": content_hash(tree, assessment, question_ids, lab_ids),
        },
        "salt": salt.hex(),
        "hashing": {"choice": "blake2b-256 keyed with the salt", "short": {"alg": "scrypt", **SCRYPT_PARAMS}},
        "sections": sections, "questions": questions,
        "labs": {lab: public_lab(tree, lab) for lab in lab_ids},
        "sealed": seal(canonical(sealed_plain), keys.encryption_public, bundle_id.encode()),
    }
    return Bundle(payload, sign(keys.signing, payload))


@dataclass(frozen=True)
class Bundle:
    """A signed exam bundle."""

    payload: dict[str, Any]
    signature: str
    path: Path | None = None

    @property
    def id(self) -> str:
        """Bundle id."""
        return str(self.payload["id"])

    @cached_property
    def hash(self) -> str:
        """SHA-256 of the canonical payload."""
        return digest(self.payload)

    @property
    def assessment(self) -> dict[str, Any]:
        """The assessment's settings (read only)."""
        return dict(self.payload["assessment"])

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the assessor key that signed the bundle."""
        return str(self.payload["assessor"]["fingerprint"])

    @cached_property
    def salt(self) -> bytes:
        """The bundle's answer-hash salt."""
        return bytes.fromhex(self.payload["salt"])

    @property
    def questions(self) -> dict[str, Any]:
        """Public question parts by id (read only)."""
        return self.payload["questions"]  # type: ignore[no-any-return]

    @property
    def labs(self) -> dict[str, Any]:
        """Public lab parts by id (read only)."""
        return self.payload["labs"]  # type: ignore[no-any-return]

    @property
    def sections(self) -> list[dict[str, Any]]:
        """Sections with their pools (read only)."""
        return self.payload["sections"]  # type: ignore[no-any-return]

    @property
    def time_limit_seconds(self) -> float:
        """Time allowed, in seconds."""
        return float(self.assessment["time_limit_minutes"]) * 60.0

    def to_json(self) -> dict[str, Any]:
        """The file's JSON document."""
        return {"bundle": self.payload, "signature": self.signature}

    def write(self, path: Path) -> Path:
        """Write the bundle to ``path`` (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    def unseal(self, keys: AssessorKeys) -> dict[str, Any]:
        """The sealed part in the clear.

        Raises:
            ExamError: when ``keys`` are not the keys the bundle was sealed to.
        """
        if keys.fingerprint != self.fingerprint:
            raise ExamError(f"this bundle was packed for assessor key {self.fingerprint}; this machine's key is "
                            f"{keys.fingerprint}")
        plain = open_sealed(self.payload.get("sealed"), keys.encryption, self.id.encode())
        try:
            data = json.loads(plain)
        except ValueError:
            raise ExamError("the sealed part of the bundle is damaged") from None
        if not isinstance(data, dict) or data.get("bundle_id") != self.id:
            raise ExamError("the sealed part belongs to another bundle")
        return data

    @classmethod
    def from_json(cls, data: Any, shown: str = "bundle") -> Bundle:
        """Check and wrap a bundle document.

        Raises:
            ExamError: when it is not a bundle, is damaged, or was modified after it was signed.
        """
        if not isinstance(data, dict) or not isinstance(data.get("bundle"), dict):
            raise ExamError(f"{shown}: not a relaylab exam bundle")
        payload = data["bundle"]
        if payload.get("format") != BUNDLE_FORMAT:
            raise ExamError(f"{shown}: not a relaylab exam bundle")
        if payload.get("version") != BUNDLE_VERSION:
            raise ExamError(f"{shown}: bundle format version {payload.get('version')!r} is not supported by this "
                            f"relaylab ({__version__}); update relaylab")
        assessor = payload.get("assessor")
        if not isinstance(assessor, dict):
            raise ExamError(f"{shown}: the bundle names no assessor key")
        public = load_signing_public(assessor.get("signing_key"), f"{shown}: the assessor key")
        if not verify(public, payload, data.get("signature")):
            raise ExamError(f"{shown}: the bundle was modified after the assessor signed it (the signature does "
                            "not match); ask the assessor for a fresh copy")
        _check_shape(payload, shown)
        return cls(payload, str(data["signature"]))

    @classmethod
    def load(cls, path: Path) -> Bundle:
        """Read and check a bundle file (see :meth:`from_json`)."""
        bundle = cls.from_json(read_json_document(path, "exam bundle"), str(path))
        return cls(bundle.payload, bundle.signature, path)


def _check_shape(payload: dict[str, Any], shown: str) -> None:
    try:
        questions, labs = payload["questions"], payload["labs"]
        assessment = payload["assessment"]
        for key in ("id", "title", "time_limit_minutes", "pass_percent", "content_hash"):
            assessment[key]  # noqa: B018 - presence check
        bytes.fromhex(payload["salt"])
        for section in payload["sections"]:
            for qid in section["fixed"]:
                questions[qid]["kind"]  # noqa: B018
            for pool in section["pools"]:
                if int(pool["draw"]) > len(pool["candidates"]):
                    raise ValueError("a pool draws more than it holds")
                for qid in pool["candidates"]:
                    questions[qid]["kind"]  # noqa: B018
            for lab in section["labs"]:
                labs[lab]["scenario"]  # noqa: B018
    except (KeyError, TypeError, ValueError) as exc:
        raise ExamError(f"{shown}: the bundle is damaged ({type(exc).__name__}: {exc})") from None


def register(bundle: Bundle) -> Path:
    """Keep a copy of a packed bundle in the assessor folder (review and report find it there)."""
    folder = assessor_home() / "bundles"
    folder.mkdir(parents=True, exist_ok=True)
    return bundle.write(folder / f"{bundle.id}.rlx")


def find_bundle(bundle_id: str, bundle_hash: str | None = None, explicit: list[Path] | None = None) -> Bundle:
    """Find the bundle a result was taken with: among ``explicit`` files, else the assessor's copies.

    Raises:
        ExamError: when no such bundle is known, or the known one has another hash.
    """
    candidates: list[Bundle] = [Bundle.load(p) for p in explicit or []]
    stored = assessor_home() / "bundles" / f"{bundle_id}.rlx"
    if not any(b.id == bundle_id for b in candidates) and stored.is_file():
        candidates.append(Bundle.load(stored))
    for bundle in candidates:
        if bundle.id == bundle_id:
            if bundle_hash is not None and bundle.hash != bundle_hash:
                raise ExamError(f"the result names bundle {bundle_id[:12]} with hash {bundle_hash[:16]}…, but that "
                                f"bundle's hash is {bundle.hash[:16]}…: the result was taken with an altered bundle")
            return bundle
    if explicit:
        given = ", ".join(f"{b.id[:12]}…" for b in candidates)
        raise ExamError(f"the result was taken with bundle {bundle_id[:12]}…, not with the bundle given ({given})")
    raise ExamError(f"the result was taken with bundle {bundle_id[:12]}…, which this machine did not pack; "
                    "pass it with --bundle FILE")
