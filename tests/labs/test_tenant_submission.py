"""Client submission (smtp.office365.com:587 and 465) on real sockets: STARTTLS, XOAUTH2 with tokens
from the mock issuer, the SMTP AUTH policy, Send As, limits — and no secret in any record."""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest

from labs.devices.tls import client_context
from labs.tenant.clock import FrozenClock
from labs.tenant.sasl import encode_xoauth2
from tests.labs.conftest import load_contoso
from tests.labs.tenant_thread import TenantThread

PORTAL_APP = "3e7a91c4-2f6d-4b8e-a1c9-5d0f7e2b6a13"
PORTAL_SECRET = "Qx7~mP2vR9sL4tW8yZ1cF6hJ3kN5bD0gA"
NOV_2026 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MSG = "From: notifications@contoso.com\r\nTo: adele.vance@contoso.com\r\nSubject: Your order\r\n\r\nshipped\r\n"


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[TenantThread]:
    with TenantThread(load_contoso(), tmp_path, clock=FrozenClock(NOV_2026)) as running:
        yield running


def token(t: TenantThread, **form: str) -> str:
    body = {"grant_type": "client_credentials", "client_id": PORTAL_APP, "client_secret": PORTAL_SECRET,
            "scope": "https://outlook.office365.com/.default", **form}
    request = urllib.request.Request(t.tenant.endpoints.token_url, data=urllib.parse.urlencode(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def tls(t: TenantThread) -> ssl.SSLContext:
    return client_context(cafile=t.tenant.pki.ca_cert_path)


def connect(t: TenantThread, name: str = "submission") -> smtplib.SMTP:
    host, port = t.endpoint(name)
    if name == "smtps":  # dialled by address here: check the chain, not the name
        return smtplib.SMTP_SSL(host, port, context=client_context(cafile=t.tenant.pki.ca_cert_path, verify=True,
                                                                   check_name=False), timeout=10, local_hostname="portal")
    return smtplib.SMTP(host, port, timeout=10, local_hostname="portal")


def secured(t: TenantThread) -> smtplib.SMTP:
    smtp = connect(t)
    smtp.ehlo()
    smtp._host = "smtp.office365.com"  # the name the certificate is checked against, as a real client dials it
    smtp.starttls(context=tls(t))
    smtp.ehlo()
    return smtp


def xoauth2(smtp: smtplib.SMTP, user: str, access_token: str) -> tuple[int, bytes]:
    return smtp.docmd("AUTH", "XOAUTH2 " + encode_xoauth2(user, access_token))


def test_ehlo_before_and_after_starttls(tenant: TenantThread) -> None:
    smtp = connect(tenant)
    code, before = smtp.ehlo()
    assert b"STARTTLS" in before and b"AUTH" not in before
    smtp._host = "smtp.office365.com"
    assert smtp.starttls(context=tls(tenant)) == (220, b"2.0.0 SMTP server ready")
    code, after = smtp.ehlo()
    lines = after.splitlines()
    assert lines[lines.index(b"ENHANCEDSTATUSCODES") + 1] == b"AUTH LOGIN XOAUTH2"
    assert b"STARTTLS" not in after and b"PLAIN" not in after
    smtp.quit()


def test_mail_and_auth_before_tls(tenant: TenantThread) -> None:
    with connect(tenant) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail("notifications@contoso.com")
        assert code == 451 and reply.startswith(b"5.7.3 STARTTLS is required to send mail [SY5P282CA0097.outlook.office365.com ")
        code, reply = smtp.docmd("AUTH", "LOGIN")
        assert code == 504 and reply.startswith(b"5.7.4 Unrecognized authentication type")


def test_hello_is_needed_again_after_starttls(tenant: TenantThread) -> None:
    with connect(tenant) as smtp:
        smtp.ehlo()
        smtp._host = "smtp.office365.com"
        smtp.starttls(context=tls(tenant))
        code, reply = smtp.docmd("AUTH", "XOAUTH2")
        assert code == 503 and reply.startswith(b"5.5.2 Send hello first")


def test_mail_without_auth(tenant: TenantThread) -> None:
    with secured(tenant) as smtp:
        code, reply = smtp.mail("notifications@contoso.com")
    assert code == 530 and reply.startswith(b"5.7.57 Client not authenticated to send mail.")


def test_xoauth2_initial_response_submits_and_keeps_no_secret(tenant: TenantThread) -> None:
    access = token(tenant)
    with secured(tenant) as smtp:
        assert xoauth2(smtp, "notifications@contoso.com", access) == (235, b"2.7.0 Authentication successful")
        smtp.mail("notifications@contoso.com")
        smtp.rcpt("adele.vance@contoso.com")
        smtp.rcpt("buyer@fabrikam.com")
        code, reply = smtp.data(MSG)
    assert code == 250 and reply.startswith(b"2.0.0 OK <") and reply.endswith(
        b"> [Hostname=SYBP282MB2635.AUSP282.PROD.OUTLOOK.COM]")
    record = tenant.records()[-1]
    attempt = record.auth[0]
    assert (attempt.mechanism, attempt.kind, attempt.identity, attempt.success, attempt.tls) == (
        "XOAUTH2", "oauth", "notifications@contoso.com", True, True)
    assert attempt.app_id == PORTAL_APP and attempt.claims["roles"] == ["SMTP.SendAsApp"]
    assert record.tls is not None and record.tls.at_line < attempt.at_line  # STARTTLS came before AUTH
    assert any(line.text == "AUTH XOAUTH2 <redacted>" for line in record.transcript)
    txn = record.transactions[0]
    assert (txn.attribution, txn.directionality) == ("authenticated", "Originating")
    assert txn.dkim_signed == "contoso.com"
    assert [r.disposition for r in txn.recipients] == ["delivered", "delivered"]
    assert len(tenant.mailbox("notifications@contoso.com", "Sent Items")) == 1
    trace = tenant.trace()
    assert {(e.sender_address, e.recipient_address, e.status) for e in trace} == {
        ("notifications@contoso.com", "adele.vance@contoso.com", "Delivered"),
        ("notifications@contoso.com", "buyer@fabrikam.com", "Delivered")}
    # the token appears in no file the tenant wrote
    secret_bits = [access.encode(), access.split(".")[2].encode(), PORTAL_SECRET.encode()]
    for path in tenant.tenant.state_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(bit in data for bit in secret_bits), path


def test_xoauth2_two_step(tenant: TenantThread) -> None:
    access = token(tenant)
    with secured(tenant) as smtp:
        assert smtp.docmd("AUTH", "XOAUTH2") == (334, b"")
        assert smtp.docmd(encode_xoauth2("notifications@contoso.com", access)) == (235, b"2.7.0 Authentication successful")


def test_mailbox_switch_gates_a_valid_token_until_changed(tenant: TenantThread) -> None:
    access = token(tenant)
    with secured(tenant) as smtp:
        code, reply = xoauth2(smtp, "app@contoso.com", access)
    assert code == 535 and reply.startswith(
        b"5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
        b"Visit https://aka.ms/smtp_auth_disabled for more information. [")
    tenant.apply(recipients=[{"address": "app@contoso.com", "smtp_client_authentication_disabled": False}])
    with secured(tenant) as smtp:
        assert xoauth2(smtp, "app@contoso.com", access)[0] == 235


def test_send_as_denied_after_the_dot(tenant: TenantThread) -> None:
    with secured(tenant) as smtp:
        xoauth2(smtp, "notifications@contoso.com", token(tenant))
        assert smtp.mail("notifications@contoso.com")[0] == 250
        assert smtp.rcpt("adele.vance@contoso.com")[0] == 250
        code, reply = smtp.data(MSG.replace("From: notifications@", "From: diego.siciliani@"))
    assert code == 554 and reply.startswith(
        b"5.2.252 SendAsDenied; notifications@contoso.com not allowed to send as diego.siciliani@contoso.com; "
        b"STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message "
        b"due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.")
    assert tenant.mailbox("adele.vance@contoso.com") == []


@pytest.mark.parametrize(
    ("clock", "expected"),
    [(NOV_2026, b"5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy."),
     (datetime(2027, 2, 1, tzinfo=UTC), b"5.7.139 Authentication unsuccessful, basic authentication is disabled.")],
)
def test_basic_auth_follows_the_scenario_date(tmp_path: Path, clock: datetime, expected: bytes) -> None:
    with TenantThread(load_contoso(), tmp_path, clock=FrozenClock(clock)) as t:
        with secured(t) as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as info:
            smtp.login("erp-notify@contoso.com", "Ledger-Falcon-77")
        assert info.value.smtp_code == 535 and info.value.smtp_error.startswith(expected)
        record_lines = [line.text for line in t.records()[-1].transcript]
    assert "Ledger-Falcon-77" not in " ".join(record_lines)
    assert base64.b64encode(b"Ledger-Falcon-77").decode() not in " ".join(record_lines)


def test_plain_is_not_offered(tenant: TenantThread) -> None:
    with secured(tenant) as smtp:
        code, reply = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0erp-notify@contoso.com\0x").decode())
    assert code == 504 and reply.startswith(b"5.7.4 Unrecognized authentication type")


@pytest.mark.parametrize(
    "blob",
    ["not base64!!", base64.b64encode(b"user=x\x01auth=Basic abc\x01\x01").decode(),
     base64.b64encode(b"user=x\x01").decode(), base64.b64encode(b"\xff\xfe\x01\x01").decode(),
     "A" * 60000],
)
def test_malformed_xoauth2_is_5_7_3_and_the_session_goes_on(tenant: TenantThread, blob: str) -> None:
    with secured(tenant) as smtp:
        code, reply = smtp.docmd("AUTH", "XOAUTH2 " + blob)
        assert code == 535 and reply.startswith(b"5.7.3 Authentication unsuccessful")
        assert smtp.noop()[0] == 250


def _forged(claims: dict[str, Any], key: Any, alg: str = "RS256", kid: str = "x") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def test_forged_expired_and_foreign_tokens(tenant: TenantThread, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = token(tenant)
    claims = jwt.decode(good, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _signing, kid = tenant.tenant.pki.jwt_key()
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode() + "." + \
        base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "."
    for bad in (_forged(claims, other_key, kid=kid), unsigned, good[:-10] + "AAAAAAAAAA"):
        with secured(tenant) as smtp:
            assert xoauth2(smtp, "notifications@contoso.com", bad)[0] == 535
    tenant.call(lambda: tenant.tenant.clock.advance(3 * 3600))  # the token expires
    with secured(tenant) as smtp:
        assert xoauth2(smtp, "notifications@contoso.com", good)[0] == 535
    reasons = " ".join(line.text for r in tenant.records() for line in r.transcript if line.dir == "I")
    for reason in ("bad-signature", "alg-none", "expired"):
        assert reason in reasons


def test_implicit_tls_on_465(tenant: TenantThread) -> None:
    with connect(tenant, "smtps") as smtp:
        code, lines = smtp.ehlo()
        assert b"AUTH LOGIN XOAUTH2" in lines and b"STARTTLS" not in lines
        assert xoauth2(smtp, "notifications@contoso.com", token(tenant))[0] == 235
        assert smtp.sendmail("notifications@contoso.com", ["adele.vance@contoso.com"], MSG) == {}
    record = tenant.records()[-1]
    assert record.endpoint == "smtps" and record.tls is not None and record.tls.implicit


def test_tls_1_0_client_gets_421_after_the_handshake(tenant: TenantThread) -> None:
    smtp = connect(tenant)
    smtp.ehlo()
    smtp._host = "smtp.office365.com"
    smtp.starttls(context=client_context(max_version="1.0", cafile=tenant.tenant.pki.ca_cert_path))
    code, reply = smtp.ehlo()
    assert code == 421 and reply == (b"4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to "
                                     b"support TLS 1.2. Visit https://aka.ms/smtp_auth_tls")
    smtp.close()
    record = tenant.records()[-1]
    assert record.tls is not None and record.tls.version == "TLSv1" and record.close == "server"


def test_legacy_endpoint_accepts_tls_1_0_when_allowed(tenant: TenantThread) -> None:
    tenant.apply(transport_config={"allow_legacy_tls_clients": True})
    smtp = connect(tenant)
    smtp.ehlo()
    smtp._host = "smtp-legacy.office365.com"
    smtp.starttls(context=client_context(max_version="1.0", cafile=tenant.tenant.pki.ca_cert_path))
    code, lines = smtp.ehlo()
    assert code == 250 and b"AUTH LOGIN XOAUTH2" in lines
    smtp.quit()


def test_fourth_concurrent_connection_of_a_mailbox(tenant: TenantThread) -> None:
    access = token(tenant)
    sessions = [secured(tenant) for _ in range(4)]
    for s in sessions:
        assert xoauth2(s, "notifications@contoso.com", access)[0] == 235
    replies = [s.mail("notifications@contoso.com") for s in sessions]
    for s in sessions:
        s.close()
    assert [code for code, _ in replies] == [250, 250, 250, 432]
    assert replies[3][1].startswith(b"4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending")


def test_thirty_messages_a_minute_then_delays(tenant: TenantThread) -> None:
    with secured(tenant) as smtp:
        xoauth2(smtp, "notifications@contoso.com", token(tenant))
        for _ in range(33):
            assert smtp.sendmail("notifications@contoso.com", ["adele.vance@contoso.com"], MSG) == {}
    delays = [t.delayed_seconds for r in tenant.records() for t in r.transactions]
    assert delays[:30] == [0.0] * 30 and all(d == 60.0 for d in delays[30:])
    deferred = [e for e in tenant.trace() if any(ev.action == "DEFER" for ev in e.events)]
    assert len(deferred) == 3


def test_many_sessions_in_parallel(tenant: TenantThread) -> None:
    access = token(tenant)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with secured(tenant) as smtp:
                assert xoauth2(smtp, "notifications@contoso.com", access)[0] == 235
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
