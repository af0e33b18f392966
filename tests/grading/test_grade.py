"""The grader: pure, deterministic scoring over records, trace, tenant state and audit."""

from __future__ import annotations

from typing import Any

import pytest

from grading import Result, Rubric, grade
from grading.checks import resolve_path
from labs.records import (
    AuditEntry,
    AuthAttempt,
    Line,
    Recipient,
    SessionRecord,
    TlsInfo,
    TraceEntry,
    Transaction,
)


def session(sid: str = "S1", *, endpoint: str = "mx", port: int = 25, tls: bool = False, auth: tuple[AuthAttempt, ...] = (),
            recipients: tuple[Recipient, ...] = (), attribution: str = "anonymous", connector: str | None = None,
            lines: tuple[tuple[str, str], ...] = (), run_id: str = "run1", tenant: str = "contoso",
            auth_results: dict[str, str] | None = None, data_reply: str | None = "250 2.6.0 queued",
            site: str | None = "hq-office", delayed: float = 0.0) -> SessionRecord:
    txn = Transaction("scanner@contoso.com", "250 2.1.0 Sender OK", recipients, data_reply, attribution,
                      "Incoming", connector, auth_results=auth_results or {}, delayed_seconds=delayed)
    return SessionRecord(
        id=sid, run_id=run_id, tenant=tenant, endpoint=endpoint, listen="127.0.0.1:1", peer="127.0.0.10:2",  # type: ignore[arg-type]
        source_ip="127.0.0.10", public_ip="203.0.113.10", site=site, started="2026-11-26T10:00:00.000Z",
        ended="2026-11-26T10:00:01.000Z", ehlo="mfp",
        tls=TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", False, None, None, 3) if tls else None,
        auth=auth, transactions=(txn,) if recipients else (), close="quit", port=port,
        transcript=tuple(Line(float(i), d, t) for i, (d, t) in enumerate(lines)))  # type: ignore[arg-type]


def delivered(address: str, folder: str = "Inbox", route: str = "internal") -> Recipient:
    return Recipient(address, "250 2.1.5 Recipient OK", True, route, "delivered", folder)  # type: ignore[arg-type]


def rejected(address: str, reply: str) -> Recipient:
    return Recipient(address, reply, False, "external", "rejected")


def rubric(*checks: dict[str, Any], pass_percent: int = 100) -> Rubric:
    return Rubric.model_validate({"pass_percent": pass_percent, "checks": list(checks)})


DELIVERED = {"id": "delivered", "check": "delivered", "to": "adele.vance@contoso.com", "title": "Delivered",
             "fail": "It did not arrive.", "points": 3}
ON_MX = {"id": "on-mx", "check": "session", "endpoint": "mx", "port": 25, "title": "MX", "fail": "Use the MX host.",
         "points": 2}
STATE: dict[str, Any] = {"id": "contoso", "organization_config": {"reject_direct_send": True},
                         "recipients": [{"address": "app@contoso.com", "smtp_client_authentication_disabled": False}],
                         "transport_config": {"smtp_client_authentication_disabled": True},
                         "inbound_connectors": [{"name": "HQ", "connector_type": "OnPremises",
                                                 "sender_ip_addresses": ["203.0.113.0/24"], "require_tls": True,
                                                 "enabled": True, "tls_sender_certificate_name": "*.contoso.com"}]}


def test_passing_attempt_scores_every_point() -> None:
    result = grade([session(recipients=(delivered("adele.vance@contoso.com"),))], STATE, rubric(ON_MX, DELIVERED))
    assert (result.gradable, result.score, result.max_score, result.passed) == (True, 5.0, 5.0, True)
    assert [c.status for c in result.checks] == ["pass", "pass"]


def test_failing_check_gives_its_message_and_what_was_seen() -> None:
    rec = session(endpoint="submission", port=587, recipients=(rejected("adele.vance@contoso.com", "530 5.7.57 x"),))
    result = grade([rec], STATE, rubric(ON_MX, DELIVERED))
    on_mx, deliv = result.checks
    assert (on_mx.passed, on_mx.message, on_mx.observed) == (False, "Use the MX host.", "no session delivered any mail")
    assert deliv.observed == "adele.vance@contoso.com: 530 5.7.57 x"
    assert result.score == 0 and not result.passed


def test_requires_skips_instead_of_failing() -> None:
    r = rubric(ON_MX, {**DELIVERED, "requires": ["on-mx"]})
    result = grade([session(endpoint="submission", port=587)], STATE, r)
    assert [c.status for c in result.checks] == ["fail", "skipped"]
    assert result.checks[1].message.startswith("Skipped: needs 'MX' first.")


@pytest.mark.parametrize(
    ("records", "kwargs", "reason"),
    [
        ([], {}, "the tenant captured no SMTP session"),
        ([session(run_id="other")], {"run_id": "run1"}, "belong to another lab or tenant run"),
        ([session(tenant="fabrikam")], {}, "belong to another lab or tenant run"),
        (["not a record"], {}, "corrupted"),
    ],
)
def test_nothing_to_grade_is_not_gradable(records: list[Any], kwargs: dict[str, Any], reason: str) -> None:
    result = grade(records, STATE, rubric(DELIVERED), **kwargs)
    assert not result.gradable and reason in result.reason and result.score == 0 and result.max_score == 3


def test_a_device_that_reached_nothing_is_a_graded_failure() -> None:
    result = grade([], STATE, rubric(DELIVERED), attempted=True)
    assert result.gradable and not result.passed and result.checks[0].observed == "nothing was sent to adele.vance@contoso.com"


def test_reply_check_knows_the_stage() -> None:
    lines = (("S", "220 banner"), ("C", "EHLO x"), ("S", "250 ok"), ("C", "MAIL FROM:<a@b>"), ("S", "250 2.1.0 Sender OK"),
             ("C", "RCPT TO:<x@fabrikam.com>"), ("S", "550 5.7.64 TenantAttribution; Relay Access Denied"))
    rec = session(lines=lines)
    spec = {"id": "c-r", "check": "reply", "code": "550 5.7.64", "title": "tt", "fail": "ff"}
    assert grade([rec], STATE, rubric({**spec, "stage": "RCPT"})).checks[0].passed
    assert not grade([rec], STATE, rubric({**spec, "stage": "MAIL"})).checks[0].passed
    assert not grade([rec], STATE, rubric({**spec, "present": False})).checks[0].passed


def test_session_auth_and_tls_conditions() -> None:
    oauth = AuthAttempt("XOAUTH2", "oauth", "app@contoso.com", True, "235", True, 5, {}, "app-1")
    rec = session(endpoint="submission", port=587, tls=True, auth=(oauth,), recipients=(delivered("x@fabrikam.com", route="external"),))
    spec = {"id": "c-s", "check": "session", "title": "tt", "fail": "ff", "auth": "oauth", "auth_mechanism": "XOAUTH2",
            "starttls_before_auth": True, "tls_min_version": "TLSv1.2", "oauth_app_id": "APP-1"}
    assert grade([rec], STATE, rubric(spec)).passed
    basic = AuthAttempt("LOGIN", "basic", "app@contoso.com", True, "235", True, 5)
    rec2 = session(endpoint="submission", port=587, tls=True, auth=(basic,), recipients=(delivered("x@fabrikam.com"),))
    result = grade([rec2], STATE, rubric(spec, {"id": "nb", "check": "no-basic-auth", "title": "tt", "fail": "ff"}))
    assert [c.passed for c in result.checks] == [False, False]
    assert "authentication was basic" in result.checks[0].observed


def test_tenant_connector_and_audit_checks() -> None:
    audit = [AuditEntry("t", "run1", "admin", "Set-CASMailbox", {"Identity": "app@contoso.com",
                                                                   "SmtpClientAuthenticationDisabled": False},
                        "app@contoso.com", {}, {}, "Set-CASMailbox -Identity app@contoso.com -SmtpClientAuthenticationDisabled $false")]
    checks = [
        {"id": "c-a", "check": "tenant", "path": "organization_config.reject_direct_send", "equals": True, "title": "tt", "fail": "ff"},
        {"id": "c-b", "check": "tenant", "path": "recipients[address=APP@contoso.com].smtp_client_authentication_disabled",
         "equals": "$false", "title": "tt", "fail": "ff"},
        {"id": "c-c", "check": "connector", "sender_ip": "203.0.113.10", "require_tls": True, "title": "tt", "fail": "ff"},
        {"id": "c-d", "check": "connector", "certificate_name": "relay.contoso.com", "title": "tt", "fail": "ff"},
        {"id": "c-e", "check": "audit", "cmdlet": "set-casmailbox", "parameters": {"SmtpClientAuthenticationDisabled": "$false"},
         "title": "tt", "fail": "ff"},
        {"id": "c-f", "check": "audit", "cmdlet": "Set-TransportConfig", "present": False, "title": "tt", "fail": "ff"},
        {"id": "c-g", "check": "connector", "sender_ip": "198.51.100.1", "expect": False, "title": "tt", "fail": "ff"},
    ]
    result = grade([session()], STATE, rubric(*checks), audit=audit)
    assert [c.id for c in result.checks if not c.passed] == []
    assert len(result.checks) == 7
    missing = grade([session()], {**STATE, "inbound_connectors": []}, rubric(checks[2]))
    assert not missing.passed and "no connector qualifies" in missing.checks[0].observed


def test_trace_auth_results_and_messages_checks() -> None:
    trace = [TraceEntry("id1", "2026-11-26T10:00:00Z", "scanner@contoso.com", "it@fabrikam.com", "s", "Delivered",
                        "203.0.113.10", "", 10, "<m>", "S1", "run1", "HQ", "Outbound")]
    rec = session(recipients=(delivered("it@fabrikam.com", route="external"),),
                  auth_results={"remote_spf": "pass", "remote_dkim": "pass", "remote_dmarc": "pass"}, delayed=60.0)
    checks = [
        {"id": "c-t", "check": "trace", "recipient": "*@fabrikam.com", "status": "Delivered", "connector": "HQ",
         "title": "tt", "fail": "ff"},
        {"id": "c-r", "check": "auth-results", "to": "*@fabrikam.com", "dkim": "pass", "dmarc": "pass", "title": "tt", "fail": "ff"},
        {"id": "c-m", "check": "messages", "min": 1, "delayed": True, "title": "tt", "fail": "ff"},
    ]
    assert grade([rec], STATE, rubric(*checks), trace=trace).passed


def test_pass_percent_allows_partial_pass() -> None:
    rec = session(recipients=(delivered("adele.vance@contoso.com"),), endpoint="submission", port=587)
    assert grade([rec], STATE, rubric(ON_MX, DELIVERED, pass_percent=60)).passed
    assert not grade([rec], STATE, rubric(ON_MX, DELIVERED, pass_percent=61)).passed


def test_grading_is_deterministic_and_serialisable() -> None:
    recs = [session(recipients=(delivered("adele.vance@contoso.com"),))]
    a, b = grade(recs, STATE, rubric(ON_MX, DELIVERED)), grade(recs, STATE, rubric(ON_MX, DELIVERED))
    assert a == b
    data = a.to_json()
    assert data["percent"] == 100.0 and data["checks"][0]["status"] == "pass"
    assert Result.not_gradable("x").to_json()["gradable"] is False


def test_resolve_path() -> None:
    assert resolve_path(STATE, "inbound_connectors[name=hq].require_tls") == (True, True)
    assert resolve_path(STATE, "inbound_connectors[name=nope].require_tls") == (False, None)
    assert resolve_path(STATE, "organization_config.missing") == (False, None)


def test_rubric_rejects_bad_dependencies() -> None:
    with pytest.raises(ValueError, match="requires unknown check"):
        rubric({**DELIVERED, "requires": ["nope"]})
    with pytest.raises(ValueError, match="must come before"):
        rubric({**DELIVERED, "requires": ["on-mx"]}, ON_MX)
    with pytest.raises(ValueError, match="duplicate check ids"):
        rubric(DELIVERED, DELIVERED)
