"""Sender authentication over the scenario's DNS: SPF (pyspf), DMARC alignment, compauth, folders."""

from __future__ import annotations

from typing import Any

import pytest

from labs.tenant.dns import ScenarioDns
from labs.tenant.policy.content import authentication_results, evaluate, organizational_domain, parse_dmarc
from tests.labs.conftest import load_contoso

MSG = b"From: scanner@contoso.com\r\nTo: adele.vance@contoso.com\r\nSubject: scan\r\n\r\nhello\r\n"
ACCEPTED = {"contoso.com", "legacy.contoso.com", "contoso.onmicrosoft.com"}


def verdict(ip: str, mail_from: str, header_from: str | None = None, **overrides: Any) -> Any:
    dns = ScenarioDns(load_contoso(**overrides))
    return evaluate(dns, ip=ip, mail_from=mail_from, helo="printer", header_from=header_from, message=MSG,
                    accepted_domains=ACCEPTED)


def test_printer_in_spf_passes_and_lands_in_the_inbox() -> None:
    v = verdict("203.0.113.25", "alerts@contoso.com")
    assert (v.spf, v.dmarc, v.compauth, v.folder) == ("pass", "pass", "pass", "Inbox")


def test_spoof_of_own_domain_goes_to_junk_with_an_implicit_fail() -> None:
    v = verdict("192.0.2.200", "ceo@contoso.com")
    assert (v.spf, v.dmarc, v.dmarc_action, v.compauth, v.reason, v.folder) == (
        "fail", "fail", "none", "fail", 601, "Junk Email")


def test_dmarc_reject_refuses_the_spoof() -> None:
    dns_override = {"dns": [{"name": "_dmarc.contoso.com", "type": "TXT", "value": "v=DMARC1; p=reject"}]}
    v = verdict("192.0.2.200", "ceo@contoso.com", **dns_override)
    assert v.folder == "reject"
    assert v.reject is not None and v.reject.text == (
        "550 5.7.509 Access denied, sending domain CONTOSO.COM does not pass DMARC verification and has a DMARC "
        "policy of reject.")


def test_quarantine_policy_sends_failures_to_junk() -> None:
    v = verdict("192.0.2.200", "ceo@contoso.com",
                dns=[{"name": "_dmarc.contoso.com", "type": "TXT", "value": "v=DMARC1; p=quarantine"}])
    assert (v.dmarc, v.dmarc_action, v.folder) == ("fail", "quarantine", "Junk Email")


def test_spf_include_of_microsoft_passes_for_exchange_online_ips() -> None:
    v = verdict("40.107.22.133", "alerts@contoso.com")
    assert v.spf == "pass"


def test_external_sender_with_a_broken_include_is_delivered() -> None:
    # northwindtraders.com includes a name that does not exist on the simulated internet
    v = verdict("198.51.100.9", "news@northwindtraders.com")
    assert (v.spf, v.dmarc, v.compauth, v.folder) == ("permerror", "none", "none", "Inbox")


@pytest.mark.parametrize(
    ("text", "policy"),
    [("v=DMARC1; p=reject", "reject"), ("v=DMARC1;p=quarantine;pct=50", "quarantine"), ("v=DMARC1; p=none", "none"),
     ("v=spf1 -all", None), ("v=DMARC1; p=bogus", None)],
)
def test_parse_dmarc(text: str, policy: str | None) -> None:
    record = parse_dmarc(text)
    assert (record.policy if record else None) == policy


def test_organizational_domain() -> None:
    assert organizational_domain("mail.contoso.co.uk") == "contoso.co.uk"
    assert organizational_domain("a.b.contoso.com") == "contoso.com"


def test_authentication_results_header() -> None:
    v = verdict("203.0.113.25", "alerts@contoso.com")
    assert authentication_results(v, "203.0.113.25") == (
        "spf=pass (sender IP is 203.0.113.25) smtp.mailfrom=contoso.com; dkim=none (message not signed) "
        "header.d=none;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100")
