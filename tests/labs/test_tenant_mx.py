"""The MX endpoint on real loopback sockets, driven by Python's smtplib: the dialogue line for line,
attribution, delivery, capture and message trace."""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from labs.records import SessionRecord
from labs.tenant.scenario import TenantScenario
from tests.labs.conftest import load_contoso
from tests.labs.tenant_thread import TenantThread

HQ = "127.0.0.10"
DATACENTER = "127.0.0.11"
BRANCH = "127.0.0.13"
MESSAGE = "From: scanner@contoso.com\r\nTo: adele.vance@contoso.com\r\nSubject: Scan to email\r\n\r\nscanned page\r\n"


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[TenantThread]:
    with TenantThread(load_contoso(), tmp_path) as running:
        yield running


def client(t: TenantThread, source: str = HQ, name: str = "mx") -> smtplib.SMTP:
    host, port = t.endpoint(name)
    return smtplib.SMTP(host, port, local_hostname="mfp-2nd-floor", source_address=(source, 0), timeout=10)


def tls_context(t: TenantThread) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(t.tenant.pki.ca_cert_path))
    ctx.check_hostname = False
    return ctx


def only(records: list[SessionRecord]) -> SessionRecord:
    assert len(records) == 1, records
    return records[0]


def test_banner_and_ehlo_are_exchange_online_s(tenant: TenantThread) -> None:
    smtp = client(tenant)
    smtp.ehlo()
    smtp.quit()
    record = only(tenant.records())
    lines = [line.text for line in record.transcript if line.dir == "S"]
    assert re.fullmatch(r"220 CH3PEPF00000015\.mail\.protection\.outlook\.com Microsoft ESMTP MAIL Service ready at "
                        r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000 \[08DE[0-9A-F]{12}\]", lines[0])
    assert lines[0].endswith(f"[{record.id}]")
    assert lines[1:11] == [
        "250-CH3PEPF00000015.mail.protection.outlook.com Hello [203.0.113.10]", "250-SIZE 157286400",
        "250-PIPELINING", "250-DSN", "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-8BITMIME", "250-BINARYMIME",
        "250-CHUNKING", "250 SMTPUTF8"]
    assert lines[-1] == "221 2.0.0 Service closing transmission channel"
    assert (record.endpoint, record.site, record.public_ip, record.close) == ("mx", "hq-office", "203.0.113.10", "quit")


def test_direct_send_reaches_an_internal_mailbox(tenant: TenantThread) -> None:
    with client(tenant) as smtp:
        smtp.ehlo()
        assert smtp.mail("scanner@contoso.com") == (250, b"2.1.0 Sender OK")
        assert smtp.rcpt("adele.vance@contoso.com") == (250, b"2.1.5 Recipient OK")
        code, reply = smtp.data(MESSAGE)
    assert code == 250
    assert re.fullmatch(rb"2\.6\.0 <[0-9a-f-]+@contoso\.com> \[InternalId=\d+, Hostname=CH3PEPF00000015\.mail\.protection"
                        rb"\.outlook\.com\] \d+ bytes in [\d.]+, [\d.]+ KB/sec Queued mail for delivery", reply)
    record = only(tenant.records())
    txn = record.transactions[0]
    assert (txn.attribution, txn.directionality, txn.connector) == ("anonymous", "Incoming", None)
    assert txn.recipients[0].disposition == "delivered" and txn.recipients[0].folder == "Inbox"
    assert txn.auth_results["spf"] == "pass" and txn.auth_results["compauth"] == "pass"
    inbox = tenant.mailbox("adele.vance@contoso.com", "Inbox")
    assert len(inbox) == 1 and inbox[0].subject == "Scan to email"
    text = inbox[0].raw().decode()
    for header in ("X-MS-Exchange-Organization-MessageDirectionality: Incoming",
                   "X-MS-Exchange-Organization-AuthAs: Anonymous",
                   "X-MS-Exchange-Organization-SCL: 1",
                   "Authentication-Results: spf=pass (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com;",
                   "compauth=pass reason=100", "X-EOPTenantAttributedMessage: 8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f:0"):
        assert header in text
    trace = tenant.trace()
    assert [(e.recipient_address, e.status) for e in trace] == [("adele.vance@contoso.com", "Delivered")]
    assert [e.action for e in trace[0].events] == ["RECEIVE", "DELIVER"]


def test_direct_send_to_an_external_address_is_relay_denied(tenant: TenantThread) -> None:
    with client(tenant) as smtp:
        smtp.ehlo()
        smtp.mail("scanner@contoso.com")
        code, reply = smtp.rcpt("buyer@fabrikam.com")
    assert code == 550
    assert re.fullmatch(rb"5\.7\.64 TenantAttribution; Relay Access Denied \[CH3PEPF00000015\.mail\.protection\.outlook"
                        rb"\.com \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 08DE[0-9A-F]{12}\]", reply)
    record = only(tenant.records())
    assert record.transactions[0].recipients[0].disposition == "rejected"
    # protocol-level rejections never reach message trace
    assert tenant.trace() == []


def test_connector_relay_needs_tls_then_reaches_the_internet(tenant: TenantThread) -> None:
    with client(tenant, DATACENTER) as smtp:
        smtp.ehlo()
        smtp.mail("alerts@contoso.com")
        code, reply = smtp.rcpt("buyer@fabrikam.com")
        assert code == 451 and reply.startswith(b"5.7.3 STARTTLS is required to send mail")
    with client(tenant, DATACENTER) as smtp:
        smtp.starttls(context=tls_context(tenant))
        smtp.ehlo()
        smtp.mail("alerts@contoso.com")
        assert smtp.rcpt("buyer@fabrikam.com") == (250, b"2.1.5 Recipient OK")
        code, _ = smtp.data("From: alerts@contoso.com\r\nTo: buyer@fabrikam.com\r\nSubject: disk full\r\n\r\nalert\r\n")
        assert code == 250
    relayed = tenant.records()[-1]
    assert relayed.tls is not None and relayed.tls.version in ("TLSv1.2", "TLSv1.3") and not relayed.tls.implicit
    txn = relayed.transactions[0]
    assert (txn.attribution, txn.connector, txn.directionality) == ("connector", "Datacenter relay", "Originating")
    assert txn.dkim_signed == "contoso.com"
    assert txn.auth_results["remote_spf"] == "pass" and txn.auth_results["remote_dkim"] == "pass"
    assert txn.auth_results["remote_dmarc"] == "pass"
    sink = tenant.mailbox("buyer@fabrikam.com", external=True)
    assert len(sink) == 1 and "dkim=pass" in sink[0].authentication_results
    trace = tenant.trace()
    assert [(e.recipient_address, e.status, e.connector, e.direction) for e in trace] == [
        ("buyer@fabrikam.com", "Delivered", "Datacenter relay", "Outbound")]


def test_state_changes_apply_to_the_next_session(tenant: TenantThread) -> None:
    tenant.apply(organization_config={"reject_direct_send": True})
    with client(tenant) as smtp:
        smtp.ehlo()
        smtp.mail("scanner@contoso.com")
        code, reply = smtp.rcpt("adele.vance@contoso.com")
    assert (code, reply.split(b" [")[0]) == (
        550, b"5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources")


def test_spoofed_ceo_mail_lands_in_junk(tenant: TenantThread) -> None:
    with client(tenant, "127.0.0.99") as smtp:
        smtp.sendmail("diego.siciliani@contoso.com", ["megan.bowen@contoso.com"],
                      "From: diego.siciliani@contoso.com\r\nSubject: urgent wire\r\n\r\npay now\r\n")
    junk = tenant.mailbox("megan.bowen@contoso.com", "Junk Email")
    assert len(junk) == 1
    assert "compauth=fail reason=601" in junk[0].authentication_results
    assert [e.status for e in tenant.trace()] == ["FilteredAsSpam"]


def test_dmarc_reject_refuses_after_the_dot(tmp_path: Path) -> None:
    state: TenantScenario = load_contoso(dns=[{"name": "_dmarc.contoso.com", "type": "TXT", "value": "v=DMARC1; p=reject"}])
    with TenantThread(state, tmp_path) as t, client(t, "127.0.0.99") as smtp:
        smtp.ehlo()
        smtp.mail("diego.siciliani@contoso.com")
        smtp.rcpt("megan.bowen@contoso.com")
        code, reply = smtp.data("From: diego.siciliani@contoso.com\r\nSubject: x\r\n\r\nx\r\n")
    assert code == 550 and reply.startswith(
        b"5.7.509 Access denied, sending domain CONTOSO.COM does not pass DMARC verification and has a DMARC policy "
        b"of reject.")


def test_distribution_group_is_expanded(tenant: TenantThread) -> None:
    with client(tenant) as smtp:
        smtp.sendmail("scanner@contoso.com", ["it-alerts@contoso.com"], MESSAGE)
    statuses = sorted((e.recipient_address, e.status) for e in tenant.trace())
    assert statuses == [("alex.wilber@contoso.com", "Delivered"), ("it-alerts@contoso.com", "Expanded"),
                        ("megan.bowen@contoso.com", "Delivered")]


def test_firewall_blocked_port_never_answers(tmp_path: Path) -> None:
    with TenantThread(load_contoso(), tmp_path) as t:
        host, port = t.endpoint("mx")
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected, OSError)):
            smtplib.SMTP(host, port, source_address=(BRANCH, 0), timeout=0.5)
        t.call(lambda: None)
    record = [r for r in t.tenant.reader().sessions() if r.site == "branch-leeds"][0]
    assert record.firewall_blocked and record.close in ("blocked", "client-closed")
    assert not [line for line in record.transcript if line.dir == "S"]


def test_legacy_host_gets_attr35(tenant: TenantThread) -> None:
    with client(tenant, name="mx-legacy") as smtp:
        smtp.ehlo()
        smtp.mail("scanner@contoso.com")
        code, reply = smtp.rcpt("adele.vance@contoso.com")
    assert code == 451 and reply.startswith(b"4.4.62 Mail sent to the wrong Office 365 region. ATTR35.")


def test_size_is_advertised_and_enforced(tenant: TenantThread) -> None:
    with client(tenant) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail("scanner@contoso.com", options=["SIZE=200000000"])
    assert code == 552 and reply.startswith(b"5.3.4 Message size exceeds fixed maximum message size")


def test_chunking_bdat_is_accepted(tenant: TenantThread) -> None:
    with client(tenant) as smtp:
        smtp.ehlo()
        smtp.mail("scanner@contoso.com")
        smtp.rcpt("adele.vance@contoso.com")
        body = MESSAGE.encode()
        smtp.send(b"BDAT %d\r\n" % 10 + body[:10])
        assert smtp.getreply()[0] == 250
        rest = body[10:]
        smtp.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
        code, reply = smtp.getreply()
    assert code == 250 and b"Queued mail for delivery" in reply
    inbox = tenant.mailbox("adele.vance@contoso.com", "Inbox")
    assert len(inbox) == 1 and inbox[0].raw().endswith(body)


def test_dot_stuffing_is_undone(tenant: TenantThread) -> None:
    with client(tenant) as smtp:
        smtp.sendmail("scanner@contoso.com", ["adele.vance@contoso.com"],
                      "Subject: dots\r\n\r\n.leading dot\r\n..two\r\nend\r\n")
    text = tenant.mailbox("adele.vance@contoso.com", "Inbox")[0].raw()
    assert text.endswith(b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nend\r\n")


async def test_a_second_tenant_on_the_same_state_folder_is_refused(tmp_path: Path) -> None:
    from labs.tenant.server import Tenant, TenantStartError

    first = Tenant(load_contoso(), state_dir=tmp_path / "s", pki_dir=tmp_path / "pki")
    await first.start()
    try:
        second = Tenant(load_contoso(), state_dir=tmp_path / "s", pki_dir=tmp_path / "pki")
        with pytest.raises(TenantStartError, match="already running"):
            await second.start()
        assert first.records(this_run=False) == []  # the first tenant's capture was not disturbed
    finally:
        await first.stop()


def test_group_copies_in_junk_count_as_junk_for_the_group(tenant: TenantThread) -> None:
    with client(tenant, "127.0.0.99") as smtp:
        smtp.sendmail("ceo@contoso.com", ["it-alerts@contoso.com"], "From: ceo@contoso.com\r\nSubject: x\r\n\r\nx\r\n")
    group = tenant.records()[-1].transactions[0].recipients[0]
    assert (group.address, group.disposition, group.folder) == ("it-alerts@contoso.com", "junk", "expanded")


def test_default_signing_with_the_initial_domain_verifies(tmp_path: Path) -> None:
    state = load_contoso(dkim=[{"domain": "contoso.com", "enabled": False}])
    with TenantThread(state, tmp_path) as t:
        with client(t, DATACENTER) as smtp:
            smtp.starttls(context=tls_context(t))
            smtp.ehlo()
            smtp.sendmail("alerts@contoso.com", ["buyer@fabrikam.com"],
                          "From: alerts@contoso.com\r\nSubject: x\r\n\r\nx\r\n")
        txn = t.records()[-1].transactions[0]
    assert txn.dkim_signed == "contoso.onmicrosoft.com"
    assert txn.auth_results["remote_dkim"] == "pass"  # verifies, but is not aligned with contoso.com
