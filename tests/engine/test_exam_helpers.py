"""Shared fixtures and helpers of the exam tests: a packed L2 bundle, the assessor's keys installed
in each test's RELAYLAB_HOME, right and wrong answers from the sealed keys, and attempts taken
through the engine's API."""

from __future__ import annotations

import asyncio
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest

from engine.exam.attempt import Attempt, ExamClock
from engine.exam.bundle import Bundle, pack, register
from engine.exam.keys import AssessorKeys, _save, assessor_home
from engine.exam.labitem import build_exam_lab, run_capture, start_runner
from engine.exam.plan import Plan, PlannedItem, derive_seed, plan_attempt
from engine.exam.result import SignedResult, load_result
from engine.loader import CourseTree, load_course
from engine.paths import bundled_content

L2 = "l2-mail-flow-support"
L3 = "l3-messaging-architect"


@pytest.fixture(scope="session")
def tree() -> CourseTree:
    """The bundled course."""
    return load_course(bundled_content())


@pytest.fixture(scope="session")
def keys() -> AssessorKeys:
    """One assessor's keys for the whole session."""
    return AssessorKeys.generate()


@pytest.fixture(scope="session")
def l2_bundle(tree: CourseTree, keys: AssessorKeys) -> Bundle:
    """The L2 assessment, packed once."""
    return pack(tree, L2, keys)


@pytest.fixture(scope="session")
def l2_sealed(l2_bundle: Bundle, keys: AssessorKeys) -> dict[str, Any]:
    """The L2 bundle's sealed part in the clear."""
    return l2_bundle.unseal(keys)


@pytest.fixture
def assessor(keys: AssessorKeys, l2_bundle: Bundle, relaylab_home: Path) -> AssessorKeys:
    """This test's machine is the assessor's: keys installed, the L2 bundle registered."""
    _save(assessor_home(), keys)
    register(l2_bundle)
    return keys


def response_for(item: PlannedItem, key: dict[str, Any], good: bool) -> Any:
    """A right (or wrong) response in the exam's form."""
    if item.kind == "single":
        return key["correct"][0] if good else next(i for i in item.order if i not in key["correct"])
    if item.kind == "multiple":
        return sorted(key["correct"]) if good else [next(i for i in item.order if i not in key["correct"])]
    if item.kind == "order":
        return list(key["order"]) if good else list(reversed(key["order"]))
    if item.kind == "match":
        return list(key["pairs"]) if good else key["pairs"][1:] + key["pairs"][:1]
    if item.kind == "short":
        return (key["accepted"] or [key["model_answer"]])[0] if good else "no idea at all"
    return key["model_answer"] if good else '<script>alert("pwned")</script> I would reboot it.'


def plain_line(item: PlannedItem, response: Any) -> list[str]:
    """What a candidate types in ``exam take --plain`` to give ``response``."""
    if item.kind == "single":
        return [str(item.order.index(response) + 1)]
    if item.kind in ("multiple", "order"):
        return [" ".join(str(item.order.index(i) + 1) for i in response)]
    if item.kind == "match":
        return [" ".join(string.ascii_lowercase[item.order.index(r)] for r in response)]
    if item.kind == "short":
        return [response]
    return [*str(response).splitlines(), "."]


def capture_for(bundle: Bundle, sealed: dict[str, Any], seed: str, lab_id: str, good: bool) -> dict[str, Any]:
    """Run a lab of the bundle for a seed (its reference solution, or the starting config) and capture it."""
    exam_lab = build_exam_lab(bundle.labs[lab_id], seed, sealed["labs"][lab_id])

    async def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            runner = start_runner(exam_lab, Path(tmp), device_timeout=1.0)
            await runner.start()
            try:
                config = exam_lab.solution_config if good else exam_lab.lab.start_config
                admin = exam_lab.lab.solution.admin if good else []
                return (await run_capture(runner, config, admin)).to_json()
            finally:
                await runner.stop()

    return asyncio.run(run())


def plan_of(bundle: Bundle, candidate: str, attempt: int = 1) -> Plan:
    """The plan the bundle gives a candidate."""
    return plan_attempt(bundle.payload, derive_seed(bundle.id, candidate, attempt))


def take(bundle: Bundle, sealed: dict[str, Any], candidate: str, *, good: bool = True, lab: bool = True,
         clock: ExamClock | None = None, out: Path | None = None, free_text: str | None = None) -> SignedResult:
    """Take a whole exam through the API (labs run for real when ``lab``) and return the signed result."""
    with Attempt.open(bundle, candidate, clock=clock) as attempt:
        attempt.start()
        for item in attempt.plan.items:
            if item.is_lab:
                if lab:
                    attempt.record_lab(item.id, capture_for(bundle, sealed, attempt.seed, item.lab_id, good))
                continue
            response = response_for(item, sealed["questions"][item.id], good)
            if item.kind == "free" and free_text is not None:
                response = free_text
            attempt.answer(item.id, response)
        attempt.submit()
        path = attempt.result_path
        if out is not None:
            out.write_bytes(path.read_bytes())
            path = out
    return load_result(path)
