"""MX endpoint rules: attribution order and the exact reply each recipient gets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labs.records import CertInfo
from labs.tenant.policy import replies as R
from labs.tenant.policy.facts import ConnFacts
from labs.tenant.policy.mx import attribute, certificate_matches, mx_rcpt
from labs.tenant.scenario import TenantScenario, mx_host_for, validate_certificate_name, validate_sender_ip
from tests.labs.conftest import load_contoso

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HQ = "203.0.113.10"
DATACENTER = "203.0.113.25"


def conn(ip: str, *, tls: bool = False, cert: CertInfo | None = None, endpoint: str = "mx") -> ConnFacts:
    return ConnFacts(endpoint=endpoint, public_ip=ip, site=None, tls=tls, client_cert=cert, now=NOW)  # type: ignore[arg-type]


def cert(cn: str, *san: str, trusted: bool = True) -> CertInfo:
    return CertInfo(cn, tuple(san), "relaylab Local CA", "2026-01-01", "2027-01-01", trusted)


def rcpt(state: TenantScenario, c: ConnFacts, mail_from: str, to: str) -> str:
    attribution = attribute(state, c, mail_from)
    return mx_rcpt(state, c, attribution, mail_from, to, 0).reply.text


def test_mx_host_names() -> None:
    assert mx_host_for("contoso.com") == "contoso-com.mail.protection.outlook.com"
    assert mx_host_for("contoso-ltd.co.uk") == "contosoltd-co-uk.mail.protection.outlook.com"


@pytest.mark.parametrize(
    ("case", "ip", "mail_from", "to", "expected"),
    [
        # Direct Send to an existing internal mailbox is accepted
        ("direct send internal", HQ, "scanner@contoso.com", "adele.vance@contoso.com", "250 2.1.5 Recipient OK"),
        # ...and to an external domain is refused: no attribution
        ("direct send external", HQ, "scanner@contoso.com", "buyer@fabrikam.com",
         "550 5.7.64 TenantAttribution; Relay Access Denied"),
        # DBEB: unknown recipient of an Authoritative domain
        ("dbeb", HQ, "scanner@contoso.com", "nobody@contoso.com",
         "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"),
        # InternalRelay domains pass unknown recipients on
        ("internal relay", HQ, "scanner@contoso.com", "old.user@legacy.contoso.com", "250 2.1.5 Recipient OK"),
        # the connector's IP relays to the internet (TLS is required by that connector: see below)
        ("connector relay", DATACENTER, "alerts@contoso.com", "buyer@fabrikam.com",
         "451 5.7.3 STARTTLS is required to send mail"),
        # IP matches but the sender domain is not accepted: no attribution
        ("ip without accepted domain", DATACENTER, "alerts@monitoring.example", "buyer@fabrikam.com",
         "550 5.7.64 TenantAttribution; Relay Access Denied"),
        # banned and low-reputation sources
        ("banned", "192.0.2.66", "x@contoso.com", "adele.vance@contoso.com", "550 5.7.606 Access denied, banned sending IP [192.0.2.66]"),
        ("low reputation", "192.0.2.77", "x@contoso.com", "adele.vance@contoso.com", "550 5.7.708 Service unavailable."),
    ],
)
def test_recipient_replies(case: str, ip: str, mail_from: str, to: str, expected: str) -> None:
    assert rcpt(load_contoso(), conn(ip), mail_from, to).startswith(expected), case


def test_connector_relay_with_tls_reaches_the_internet() -> None:
    state = load_contoso()
    c = conn(DATACENTER, tls=True)
    a = attribute(state, c, "alerts@contoso.com")
    assert (a.kind, a.connector, a.via, a.directionality) == ("connector", "Datacenter relay", "ip", "Originating")
    decision = mx_rcpt(state, c, a, "alerts@contoso.com", "buyer@fabrikam.com", 0)
    assert decision.accepted and decision.route == "external"


def test_changed_ip_no_longer_matches() -> None:
    state = load_contoso(inbound_connectors=[{"name": "Datacenter relay", "sender_ip_addresses": ["203.0.113.99"]}])
    assert rcpt(state, conn(DATACENTER, tls=True), "alerts@contoso.com", "buyer@fabrikam.com").startswith("550 5.7.64")


def test_cidr_range_covers_the_source() -> None:
    state = load_contoso(inbound_connectors=[{"name": "Datacenter relay", "sender_ip_addresses": ["203.0.113.0/24"]}])
    assert rcpt(state, conn(HQ, tls=True), "scanner@contoso.com", "buyer@fabrikam.com") == "250 2.1.5 Recipient OK"


def test_certificate_connector_relays_any_sender_domain() -> None:
    state = load_contoso(inbound_connectors=[{"name": "Branch cert", "connector_type": "OnPremises",
                                              "tls_sender_certificate_name": "*.contoso.com", "require_tls": True}])
    good = conn("192.0.2.44", tls=True, cert=cert("relay.contoso.com", "relay.contoso.com"))
    a = attribute(state, good, "noreply@partner-app.example")
    assert (a.kind, a.via) == ("connector", "certificate")
    assert rcpt(state, good, "noreply@partner-app.example", "buyer@fabrikam.com") == "250 2.1.5 Recipient OK"
    # a certificate that names another organisation, or one not issued by a trusted CA, does not match
    other = conn("192.0.2.44", tls=True, cert=cert("relay.fabrikam.com"))
    assert rcpt(state, other, "printer@contoso.com", "buyer@fabrikam.com").startswith("550 5.7.64")
    untrusted = conn("192.0.2.44", tls=True, cert=cert("relay.contoso.com", trusted=False))
    assert rcpt(state, untrusted, "printer@contoso.com", "buyer@fabrikam.com").startswith("550 5.7.64")


def test_reject_direct_send_and_partner_exemption() -> None:
    state = load_contoso(organization_config={"reject_direct_send": True})
    assert rcpt(state, conn(HQ), "scanner@contoso.com", "adele.vance@contoso.com") == (
        "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources")
    # senders from other domains are not affected (P1 MAIL FROM decides)
    assert rcpt(state, conn("198.51.100.9"), "news@northwindtraders.com", "adele.vance@contoso.com") == "250 2.1.5 Recipient OK"
    # a Partner connector for the printer's IP exempts it
    exempt = load_contoso(organization_config={"reject_direct_send": True},
                          inbound_connectors=[{"name": "HQ printers", "connector_type": "Partner",
                                               "sender_ip_addresses": [HQ], "sender_domains": ["*"]}])
    assert rcpt(exempt, conn(HQ), "scanner@contoso.com", "adele.vance@contoso.com") == "250 2.1.5 Recipient OK"
    # ...but a Partner connector never relays to the internet
    assert rcpt(exempt, conn(HQ), "scanner@contoso.com", "buyer@fabrikam.com").startswith("550 5.7.64")


def test_partner_restrict_domains_to_ip() -> None:
    state = load_contoso(inbound_connectors=[{"name": "Fabrikam", "connector_type": "Partner",
                                              "sender_domains": ["fabrikam.com"], "sender_ip_addresses": ["192.0.2.10"],
                                              "restrict_domains_to_ip_addresses": True}])
    assert rcpt(state, conn("192.0.2.10"), "orders@fabrikam.com", "finance@contoso.com") == "250 2.1.5 Recipient OK"
    assert rcpt(state, conn("198.51.100.200"), "orders@fabrikam.com", "finance@contoso.com").startswith(
        "550 5.7.51 TenantInboundAttribution; There is a partner connector configured that matched the message's "
        "recipient domain. The connector had either the RestrictDomainsToIPAddresses or RestrictDomainsToCertificate set")


def test_legacy_smart_hosts_answer_attr35() -> None:
    state = load_contoso()
    assert rcpt(state, conn(HQ, endpoint="mx-legacy"), "scanner@contoso.com", "adele.vance@contoso.com") == (
        "451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35. For more information go to "
        "https://go.microsoft.com/fwlink/p/?linkid=865268.")


def test_disabled_connector_matches_nothing() -> None:
    state = load_contoso(inbound_connectors=[{"name": "Datacenter relay", "enabled": False}])
    assert rcpt(state, conn(DATACENTER, tls=True), "alerts@contoso.com", "buyer@fabrikam.com").startswith("550 5.7.64")


def test_recipient_limit_per_message() -> None:
    state = load_contoso(transport_config={"max_recipient_envelope_limit": 2})
    c = conn(HQ)
    a = attribute(state, c, "scanner@contoso.com")
    assert mx_rcpt(state, c, a, "scanner@contoso.com", "adele.vance@contoso.com", 2).reply.text == "452 4.5.3 Too many recipients"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("203.0.113.10", True), ("203.0.113.0/24", True), ("203.0.113.0/23", False), ("2001:db8::1", False),
     ("10.0.0.0/8", False), ("not-an-ip", False)],
)
def test_sender_ip_validation(value: str, ok: bool) -> None:
    if ok:
        validate_sender_ip(value)
    else:
        with pytest.raises(ValueError):
            validate_sender_ip(value)


@pytest.mark.parametrize(("value", "ok"), [("*.contoso.com", True), ("relay.contoso.com", True),
                                           ("relay.*.contoso.com", False), ("*contoso.com", False)])
def test_certificate_name_validation(value: str, ok: bool) -> None:
    if ok:
        validate_certificate_name(value)
    else:
        with pytest.raises(ValueError):
            validate_certificate_name(value)


def test_wildcard_matches_one_level_or_more_but_not_the_apex() -> None:
    assert certificate_matches("*.contoso.com", cert("mfp.contoso.com"))
    assert certificate_matches("*.contoso.com", cert("x", "a.b.contoso.com"))
    assert not certificate_matches("*.contoso.com", cert("contoso.com"))
    assert not certificate_matches("*.contoso.com", cert("evilcontoso.com"))


def test_replies_reference_texts() -> None:
    assert R.RELAY_DENIED.render("HOST", NOW, "08DE0000AAAABBBB") == (
        "550 5.7.64 TenantAttribution; Relay Access Denied [HOST 2026-11-26T12:00:00.000Z 08DE0000AAAABBBB]")
    assert R.ehlo_lines("H", "1.2.3.4", 157286400, starttls=True, auth=None) == [
        "250-H Hello [1.2.3.4]", "250-SIZE 157286400", "250-PIPELINING", "250-DSN", "250-ENHANCEDSTATUSCODES",
        "250-STARTTLS", "250-8BITMIME", "250-BINARYMIME", "250-CHUNKING", "250 SMTPUTF8"]
