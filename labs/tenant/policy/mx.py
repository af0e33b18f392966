"""Provides the MX endpoint's rules: tenant attribution, and what each recipient gets.

Attribution follows reference §7.2, in this order:

1. certificate match — a trusted client certificate whose CN or SAN names an accepted domain of
   the tenant, and an enabled OnPremises connector whose TlsSenderCertificateName matches it:
   attributed (Originating); may relay to any recipient; any sender domain;
2. IP match — the source IP is in an enabled OnPremises connector's SenderIPAddresses *and* the
   sender (P1 MAIL FROM) domain is an accepted domain: attributed (Originating); may relay;
3. otherwise the message is anonymous, attributed by recipient domain (Direct Send): accepted
   domains only, DBEB for unknown recipients, Reject Direct Send and Partner restrictions apply;
   external recipients get ``550 5.7.64``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from functools import lru_cache

from labs.records import CertInfo
from labs.tenant.policy import replies as R
from labs.tenant.policy.facts import Attribution, ConnFacts, RcptDecision, Route
from labs.tenant.scenario import InboundConnector, TenantScenario

__all__ = [
    "attribute",
    "certificate_matches",
    "domain_of",
    "ip_in_connector",
    "mx_rcpt",
    "recipient_limit",
    "sender_domain_covered",
]


def domain_of(address: str) -> str:
    """Return the lower-cased domain of an address ('' for the null sender)."""
    return address.rpartition("@")[2].lower().strip(">").strip()


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text, strict=False)


def ip_in_connector(ip: str, connector: InboundConnector) -> bool:
    """Whether ``ip`` is covered by the connector's SenderIPAddresses."""
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    return any(addr in _network(entry) for entry in connector.sender_ip_addresses)


def _name_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower(), name.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:]) and name.count(".") >= pattern.count(".")
    return name == pattern


def certificate_matches(pattern: str, cert: CertInfo) -> bool:
    """Whether a certificate's CN or a SAN DNS name matches TlsSenderCertificateName."""
    return any(_name_matches(pattern, n) for n in (cert.subject_cn, *cert.san) if n)


def _cert_names_accepted_domain(state: TenantScenario, cert: CertInfo) -> bool:
    for name in (cert.subject_cn, *cert.san):
        name = (name or "").lower().lstrip("*.")
        for d in [*(a.name for a in state.accepted_domains), state.initial_domain]:
            if name == d or name.endswith("." + d):
                return True
    return False


def sender_domain_covered(connector: InboundConnector, domain: str) -> bool:
    """Whether the connector's SenderDomains cover ``domain`` ('*' covers every domain)."""
    for entry in connector.sender_domains:
        if entry == "*" or fnmatch.fnmatch(domain, entry) or domain == entry:
            return True
    return False


def attribute(state: TenantScenario, conn: ConnFacts, mail_from: str) -> Attribution:
    """Attribute a message on the MX endpoint (see the module docstring for the order)."""
    sender_domain = domain_of(mail_from)
    sender_accepted = state.accepted_domain(sender_domain) is not None
    enabled = [c for c in state.inbound_connectors if c.enabled]
    cert = conn.client_cert if (conn.client_cert is not None and conn.client_cert.trusted) else None

    if cert is not None and _cert_names_accepted_domain(state, cert):
        for c in enabled:
            if c.connector_type == "OnPremises" and c.tls_sender_certificate_name and \
                    certificate_matches(c.tls_sender_certificate_name, cert):
                return Attribution("connector", c.name, "certificate",
                                   f"certificate {cert.subject_cn} matches connector '{c.name}'")

    ip_matches = [c for c in enabled if c.connector_type == "OnPremises" and ip_in_connector(conn.public_ip, c)]
    for c in ip_matches:
        if sender_accepted and sender_domain_covered(c, sender_domain):
            if c.require_tls and not conn.tls:
                return Attribution("connector", c.name, "ip",
                                   f"{conn.public_ip} matches connector '{c.name}', which requires TLS",
                                   reject=R.CONNECTOR_REQUIRES_TLS)
            return Attribution("connector", c.name, "ip", f"{conn.public_ip} matches connector '{c.name}'")
    ip_note = ""
    if ip_matches:
        ip_note = (f"{conn.public_ip} matches connector '{ip_matches[0].name}' but the sender domain "
                   f"'{sender_domain}' is not an accepted domain; ")

    # Partner connectors: matched by source IP or certificate, or by sender domain.
    for c in enabled:
        if c.connector_type != "Partner":
            continue
        by_ip = bool(c.sender_ip_addresses) and ip_in_connector(conn.public_ip, c)
        by_cert = cert is not None and c.tls_sender_certificate_name is not None and \
            certificate_matches(c.tls_sender_certificate_name, cert)
        if by_ip or by_cert:
            if c.require_tls and not conn.tls:
                return Attribution("partner", c.name, "ip" if by_ip else "certificate",
                                   f"partner connector '{c.name}' requires TLS", reject=R.CONNECTOR_REQUIRES_TLS)
            return Attribution("partner", c.name, "ip" if by_ip else "certificate",
                               f"partner connector '{c.name}' matches the source")
    for c in enabled:
        if c.connector_type != "Partner" or not sender_domain or "*" in c.sender_domains:
            continue
        if sender_domain_covered(c, sender_domain):
            ip_ok = not c.restrict_domains_to_ip_addresses or ip_in_connector(conn.public_ip, c)
            cert_ok = not c.restrict_domains_to_certificate or (
                cert is not None and bool(c.tls_sender_certificate_name)
                and certificate_matches(c.tls_sender_certificate_name or "", cert))
            if not (ip_ok and cert_ok):
                return Attribution("anonymous", None, None,
                                   f"partner connector '{c.name}' covers {sender_domain} but restricts it to "
                                   f"{'its IP addresses' if not ip_ok else 'its certificate'}",
                                   restricted_partner=c.name)
            if c.require_tls and not conn.tls:
                return Attribution("partner", c.name, "domain", f"partner connector '{c.name}' requires TLS",
                                   reject=R.CONNECTOR_REQUIRES_TLS)
            return Attribution("partner", c.name, "domain", f"partner connector '{c.name}' covers {sender_domain}")
    return Attribution("anonymous", None, None, ip_note + "no connector matched: anonymous (Direct Send)")


def recipient_limit(state: TenantScenario, mailbox_limit: int | str | None = None) -> int:
    """Recipients allowed per message: the mailbox value, else the organisation's, else the service's."""
    for value in (mailbox_limit, state.transport_config.max_recipient_envelope_limit):
        if isinstance(value, int):
            return value
    return state.limits.service_recipient_limit


def _internal(state: TenantScenario, address: str, accepted_type: str) -> RcptDecision:
    recipient = state.recipient(address)
    if recipient is not None:
        members = tuple(recipient.members) if recipient.type == "DistributionGroup" else ()
        return RcptDecision(R.RECIPIENT_OK, True, "internal", f"{recipient.type} {recipient.address}", members)
    if accepted_type == "InternalRelay":
        return RcptDecision(R.RECIPIENT_OK, True, "internal",
                            "unknown recipient of an InternalRelay domain: passed on, not rejected")
    return RcptDecision(R.DBEB_REJECTED, False, "internal",
                        "no such recipient in an Authoritative domain (Directory Based Edge Blocking)")


def mx_rcpt(state: TenantScenario, conn: ConnFacts, attribution: Attribution, mail_from: str,
            address: str, count: int) -> RcptDecision:
    """Decide one RCPT TO on the MX endpoint.

    Args:
        state: the tenant.
        conn: connection facts.
        attribution: the transaction's attribution (from MAIL FROM).
        mail_from: the P1 sender.
        address: the recipient.
        count: recipients already accepted in this transaction.
    """
    domain = domain_of(address)
    accepted = state.accepted_domain(domain)
    route: Route = "internal" if accepted is not None else "external"
    if conn.public_ip in state.reputation.banned_ips:
        return RcptDecision(R.banned_ip(conn.public_ip, state.servers.mx), False, route,
                            "source IP is on Microsoft's block list")
    if conn.public_ip in state.reputation.low_reputation_ips:
        return RcptDecision(R.LOW_REPUTATION, False, route, "source IP has a low reputation")
    if attribution.reject is not None:
        return RcptDecision(attribution.reject, False, route, attribution.reason)
    if count >= recipient_limit(state):
        return RcptDecision(R.TOO_MANY_RECIPIENTS, False, route, "recipients-per-message limit reached")
    if conn.endpoint == "mx-legacy" and attribution.kind != "connector":
        return RcptDecision(R.WRONG_REGION, False, route,
                            "the device used a raw IP or a retired host instead of the tenant's MX host")
    if attribution.kind == "connector":
        if accepted is not None:
            return _internal(state, address, accepted.type)
        return RcptDecision(R.RECIPIENT_OK, True, "external", f"relayed through connector '{attribution.connector}'")
    if accepted is None:
        return RcptDecision(R.RELAY_DENIED, False, "external",
                            attribution.reason + "; an anonymous message cannot be relayed to a domain the tenant "
                            "does not host")
    if attribution.restricted_partner is not None:
        return RcptDecision(R.PARTNER_RESTRICTED, False, "internal", attribution.reason)
    if attribution.kind == "anonymous" and state.organization_config.reject_direct_send and \
            state.accepted_domain(domain_of(mail_from)) is not None:
        return RcptDecision(R.DIRECT_SEND_REJECTED, False, "internal",
                            "Reject Direct Send is on: anonymous mail from an accepted domain and no connector matched")
    return _internal(state, address, accepted.type)
