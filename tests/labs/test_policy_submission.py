"""Client submission rules: the Basic-auth chain, XOAUTH2 checks, the mailbox gate, Send As, limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from labs.tenant.policy.facts import AuthIdentity, ConnFacts
from labs.tenant.policy.submission import (
    basic_auth_state,
    can_send_as,
    login_decision,
    submission_after_data,
    submission_mail,
    xoauth2_decision,
)
from tests.labs.conftest import load_contoso

BEFORE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AFTER = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
TENANT = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
PORTAL_APP = "3e7a91c4-2f6d-4b8e-a1c9-5d0f7e2b6a13"
PORTAL_SP = "c4f2a8e1-7d39-4b6c-9a15-e8d3f0b27c5a"


def conn(now: datetime = BEFORE, auth: AuthIdentity | None = None, tls: bool = True) -> ConnFacts:
    return ConnFacts(endpoint="submission", public_ip="198.51.100.140", site="cloud-app", tls=tls, auth=auth, now=now)


def app_claims(**changes: Any) -> dict[str, Any]:
    claims = {"aud": "https://outlook.office.com", "tid": TENANT, "appid": PORTAL_APP, "oid": PORTAL_SP,
              "roles": ["SMTP.SendAsApp"], "idtyp": "app"}
    claims.update(changes)
    return claims


@pytest.mark.parametrize(
    ("overrides", "now", "user", "password", "expected"),
    [
        # Security Defaults (on in contoso) lock Basic sign-ins even with the right password
        ({}, BEFORE, "erp-notify@contoso.com", "Ledger-Falcon-77",
         "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy."),
        # a wrong password is the plain 5.7.3
        ({}, BEFORE, "erp-notify@contoso.com", "wrong", "535 5.7.3 Authentication unsuccessful"),
        # after December 2026 Basic is disabled by default ('auto' follows the timeline)
        ({}, AFTER, "erp-notify@contoso.com", "Ledger-Falcon-77",
         "535 5.7.139 Authentication unsuccessful, basic authentication is disabled."),
        ({"submission": {"basic_auth": "removed"}}, BEFORE, "erp-notify@contoso.com", "Ledger-Falcon-77",
         "550 5.7.30 Basic authentication is not supported for Client Submission."),
        # without Security Defaults, the SMTP AUTH switches decide
        ({"submission": {"security_defaults": False}}, BEFORE, "erp-notify@contoso.com", "Ledger-Falcon-77",
         "235 2.7.0 Authentication successful"),
        ({"submission": {"security_defaults": False}}, BEFORE, "adele.vance@contoso.com", "Winter-Orchid-42",
         "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."),
        ({"submission": {"security_defaults": False},
          "recipients": [{"address": "erp-notify@contoso.com", "smtp_client_authentication_disabled": True}]},
         BEFORE, "erp-notify@contoso.com", "Ledger-Falcon-77",
         "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."),
        # the mailbox's $false wins over the organisation's $true; $null follows the organisation
        ({"submission": {"security_defaults": False}, "transport_config": {"smtp_client_authentication_disabled": False}},
         BEFORE, "adele.vance@contoso.com", "Winter-Orchid-42", "235 2.7.0 Authentication successful"),
        # an unlicensed mailbox cannot use SMTP AUTH
        ({"submission": {"security_defaults": False}}, BEFORE, "monitoring@contoso.com", "Pulse-Granite-19",
         "535 5.7.3 Authentication unsuccessful"),
        ({"submission": {"security_defaults": False, "legacy_auth_blocked_by_conditional_access": True}}, BEFORE,
         "erp-notify@contoso.com", "Ledger-Falcon-77",
         "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria"),
    ],
)
def test_basic_auth_chain(overrides: dict[str, Any], now: datetime, user: str, password: str, expected: str) -> None:
    decision = login_decision(load_contoso(**overrides), conn(now), user, password)
    assert decision.reply.text.startswith(expected)
    assert decision.success == expected.startswith("235")


def test_basic_auth_timeline() -> None:
    state = load_contoso()
    assert basic_auth_state(state, BEFORE) == "allowed"
    assert basic_auth_state(state, datetime(2027, 1, 1, tzinfo=UTC)) == "disabled_default"
    assert basic_auth_state(load_contoso(submission={"basic_auth": "allowed"}), AFTER) == "allowed"


@pytest.mark.parametrize(
    ("overrides", "user", "claims", "expected"),
    [
        ({}, "notifications@contoso.com", app_claims(), "235 2.7.0 Authentication successful"),
        # the mailbox gate applies even with a valid token
        ({}, "app@contoso.com", app_claims(),
         "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."),
        ({}, "adele.vance@contoso.com", app_claims(), "535 5.7.3 Authentication unsuccessful"),  # no FullAccess
        ({}, "notifications@contoso.com", app_claims(roles=[]), "535 5.7.3"),  # no SMTP.SendAsApp (no consent)
        ({}, "notifications@contoso.com", app_claims(tid="00000000-0000-0000-0000-000000000000"), "535 5.7.3"),
        ({}, "notifications@contoso.com", app_claims(aud="https://graph.microsoft.com"), "535 5.7.3"),
        # New-ServicePrincipal with the app registration's object id instead of the enterprise app's
        ({"service_principals": [{"app_id": PORTAL_APP, "object_id": "9b1d4e72-6c3a-4f85-8e07-2a5c1d9f3b64"}]},
         "notifications@contoso.com", app_claims(), "535 5.7.3"),
        ({"service_principals": [{"app_id": PORTAL_APP, "remove": True}]}, "notifications@contoso.com", app_claims(),
         "535 5.7.3"),
        # Security Defaults do not block OAuth
        ({"submission": {"security_defaults": True}}, "notifications@contoso.com", app_claims(), "235"),
        # a delegated token for the user's own mailbox
        ({}, "erp-notify@contoso.com", {"aud": "https://outlook.office.com", "tid": TENANT, "scp": "SMTP.Send",
                                        "upn": "erp-notify@contoso.com", "appid": "x"}, "235"),
        ({}, "erp-notify@contoso.com", {"aud": "https://outlook.office.com", "tid": TENANT, "scp": "Mail.Read",
                                        "upn": "erp-notify@contoso.com"}, "535 5.7.3"),
    ],
)
def test_xoauth2_checks(overrides: dict[str, Any], user: str, claims: dict[str, Any], expected: str) -> None:
    decision = xoauth2_decision(load_contoso(**overrides), conn(), user, True, "", claims)
    assert decision.reply.text.startswith(expected), decision.reason


def test_a_rejected_token_is_always_5_7_3() -> None:
    decision = xoauth2_decision(load_contoso(), conn(), "notifications@contoso.com", False, "expired", {})
    assert decision.reply.text == "535 5.7.3 Authentication unsuccessful" and "expired" in decision.reason


def test_mail_from_needs_tls_then_auth() -> None:
    state = load_contoso()
    assert submission_mail(state, conn(tls=False), 0).text == "451 5.7.3 STARTTLS is required to send mail"
    assert submission_mail(state, conn(), 0).text == "530 5.7.57 Client not authenticated to send mail."
    me = AuthIdentity("notifications@contoso.com", "oauth", PORTAL_APP, PORTAL_SP)
    assert submission_mail(state, conn(auth=me), 3).text == "250 2.1.0 Sender OK"
    assert submission_mail(state, conn(auth=me), 4).text.startswith("432 4.3.2 Concurrent connections limit exceeded.")


def test_send_as() -> None:
    state = load_contoso(recipient_permissions=[{"identity": "helpdesk@contoso.com", "trustee": "notifications@contoso.com"}])
    me = AuthIdentity("notifications@contoso.com", "oauth", PORTAL_APP, PORTAL_SP)
    assert can_send_as(state, me, "notifications@contoso.com")
    assert can_send_as(state, me, "helpdesk@contoso.com")
    assert not can_send_as(state, me, "diego.siciliani@contoso.com")
    reply, _ = submission_after_data(state, me, "notifications@contoso.com", "diego.siciliani@contoso.com", 1, 0)
    assert reply is not None and reply.text.startswith(
        "554 5.2.252 SendAsDenied; notifications@contoso.com not allowed to send as diego.siciliani@contoso.com; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied")


def test_daily_recipient_quota() -> None:
    state = load_contoso()
    me = AuthIdentity("notifications@contoso.com", "oauth", PORTAL_APP, PORTAL_SP)
    assert submission_after_data(state, me, "notifications@contoso.com", None, 10, 9990)[0] is None
    reply, _ = submission_after_data(state, me, "notifications@contoso.com", None, 11, 9990)
    assert reply is not None and reply.text.startswith("554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException")
