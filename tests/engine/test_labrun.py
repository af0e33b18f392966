"""The lab runner against a real tenant: attempts, grading windows, storage, hints, config errors."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from engine.errors import LabError, UsageError
from engine.labrun import LabRunner, redact_config
from engine.loader import CourseTree, load_course
from engine.paths import bundled_content
from engine.store import Store

LAB = "l1-printer-direct-send"


@pytest.fixture(scope="module")
def tree() -> CourseTree:
    return load_course(bundled_content())


async def test_start_fails_solution_passes_and_attempts_are_stored(tree: CourseTree, tmp_path: Path) -> None:
    with Store(tmp_path / "p.sqlite3") as store:
        learner = store.create_learner("Ann").id
        async with LabRunner(tree, LAB, store=store, learner_id=learner, device_timeout=0.5) as runner:
            first = await runner.check(runner.starting_config())
            second = await runner.check(runner.solution_config())
        assert first.result.gradable and not first.result.passed
        assert second.result.passed and second.result.percent == 100
        # each attempt graded only its own sessions
        assert set(first.result.record_ids).isdisjoint(second.result.record_ids)
        attempts = store.lab_attempts(learner, LAB)
        assert [a.passed for a in attempts] == [False, True]
        assert attempts[1].record_ids == list(second.result.record_ids)


async def test_device_refusal_is_not_gradable(tree: CourseTree) -> None:
    async with LabRunner(tree, LAB, device_timeout=0.5) as runner:
        config = runner.starting_config().model_copy(update={"auth": "xoauth2"})
        outcome = await runner.check(config)
    assert outcome.device_error is not None and "is not supported by this multifunction printer" in outcome.device_error
    assert not outcome.result.gradable and "the device refused the config" in outcome.result.reason


async def test_grade_sessions_of_the_trainees_own_client(tree: CourseTree) -> None:
    import asyncio

    async with LabRunner(tree, LAB) as runner:
        ep = runner.tenant.endpoints.get("mx")

        def send() -> None:
            with smtplib.SMTP(ep.listen_host, ep.listen_port, source_address=("127.0.0.10", 0), timeout=10) as smtp:
                smtp.sendmail("scanner@contoso.com", ["adele.vance@contoso.com"], "Subject: s\r\n\r\nx\r\n")

        await asyncio.to_thread(send)
        outcome = await runner.grade_sessions()
        again = await runner.grade_sessions()
    assert outcome.result.passed and len(outcome.records) == 1
    assert not again.result.gradable  # already graded: nothing new


async def test_two_labs_at_once_do_not_share_sessions(tree: CourseTree) -> None:
    async with LabRunner(tree, LAB) as a, LabRunner(tree, LAB) as b:
        assert a.tenant.run_id != b.tenant.run_id and a.state_dir != b.state_dir
        ok = await a.check(a.solution_config())
        other = await b.grade_sessions()
    assert ok.result.passed and not other.result.gradable


def test_hints_are_progressive_and_recorded(tree: CourseTree, tmp_path: Path) -> None:
    with Store(tmp_path / "p.sqlite3") as store:
        learner = store.create_learner("Ann").id
        runner = LabRunner(tree, LAB, store=store, learner_id=learner)
        shown = [runner.next_hint() for _ in range(len(tree.labs[LAB].hints) + 1)]
        assert [h[0] for h in shown if h] == list(range(1, len(tree.labs[LAB].hints) + 1))
        assert shown[-1] is None
        assert store.hints_shown(learner, LAB) == len(tree.labs[LAB].hints)


def test_config_errors_are_located() -> None:
    with pytest.raises(LabError) as info:
        LabRunner.parse_config("host: smtp.office365.com\nport: lots\nsecurity: starttls\nfrom_address: a@b.com\n"
                               "to: [x@y.com]\nsite: hq-office\nauthh: none\n", "device.yaml")
    message = info.value.message
    assert "device.yaml:2:7: expected a whole number; got 'lots'" in message
    assert "device.yaml:7:1: unknown key 'authh'. Did you mean 'auth'?" in message


def test_unknown_lab_suggests(tree: CourseTree) -> None:
    with pytest.raises(UsageError, match="Did you mean 'l1-printer-direct-send'"):
        LabRunner(tree, "l1-printer-direct-sendd")


def test_stored_configs_have_no_secrets(tree: CourseTree) -> None:
    config = tree.labs[LAB].start_config.model_copy(update={"auth": "login", "username": "a@contoso.com",
                                                            "password": "Winter-Orchid-42"})
    data = redact_config(config)
    assert data["password"] == "<redacted>" and "Winter-Orchid-42" not in str(data)


async def test_a_tls_1_0_device_on_submission_is_a_device_failure(tree: CourseTree) -> None:
    from labs.devices.config import DeviceConfig

    async with LabRunner(tree, "l2-legacy-tls-payroll", device_timeout=2) as runner:
        config = DeviceConfig.model_validate({
            **runner.starting_config().model_dump(mode="json"),
            "host": "smtp.office365.com", "port": 587, "security": "starttls", "auth": "login",
            "username": "erp-notify@contoso.com", "password": "x"})
        outcome = await runner.check(config)
    assert outcome.device is not None and not outcome.device.ok
    assert outcome.device.error is not None and outcome.device.error.startswith("421 4.7.66 TLS 1.0 and 1.1 are not supported")
    assert outcome.result.gradable
