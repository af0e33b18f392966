"""Provides the tenant scenario model (``content/tenants/<id>.yaml``): everything a mock tenant is.

A scenario is immutable. The running tenant holds one scenario value as its current state; an
admin cmdlet builds a changed copy and swaps it in whole, so a failing command changes nothing.
Names follow the YAML (snake_case); the cmdlets show the same settings under Exchange's names.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "AcceptedDomain",
    "ApiPermission",
    "AppRegistration",
    "ClientSecret",
    "Device",
    "DkimConfig",
    "DnsRecord",
    "ExchangeServicePrincipal",
    "ExternalDomain",
    "Firewall",
    "FirewallRule",
    "InboundConnector",
    "Limits",
    "MailboxPermission",
    "OrganizationConfig",
    "Recipient",
    "RecipientPermission",
    "Reputation",
    "Servers",
    "Site",
    "Submission",
    "TenantScenario",
    "TransportConfig",
    "mx_host_for",
    "validate_certificate_name",
    "validate_sender_ip",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not _DOMAIN_RE.match(value):
        raise ValueError(f"{value!r} is not a domain name (expected e.g. contoso.com)")
    return value


_DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _dns_name(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not _DNS_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a DNS name (expected e.g. _dmarc.contoso.com)")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not an email address (expected e.g. printer@contoso.com)")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _guid(value: str) -> str:
    value = value.strip().lower()
    if not _GUID_RE.match(value):
        raise ValueError(f"{value!r} is not a GUID (expected 8-4-4-4-12 hex digits)")
    return value


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _loopback(value: str) -> str:
    ip = ipaddress.IPv4Address(_ipv4(value))
    if not ip.is_loopback:
        raise ValueError(f"{value!r} is not a loopback address; simulated sites use 127.0.0.0/8")
    return str(ip)


def validate_sender_ip(value: str) -> str:
    """Validate a connector's SenderIPAddresses entry: an IPv4 address or CIDR with a /24–/32 mask.

    Raises:
        ValueError: with Exchange's reason (IPv6 and masks wider than /24 are refused).
    """
    text = value.strip()
    if ":" in text:
        raise ValueError(f"{text!r}: IPv6 addresses are not supported in SenderIPAddresses")
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 address or CIDR range") from None
    if net.prefixlen < 24:
        raise ValueError(f"{text!r}: CIDR masks from /24 to /32 are allowed, not /{net.prefixlen}")
    return str(net.network_address) if net.prefixlen == 32 and "/" not in text else str(net)


def validate_certificate_name(value: str) -> str:
    """Validate TlsSenderCertificateName: a domain, optionally with one wildcard label at the left."""
    text = value.strip().lower()
    body = text[2:] if text.startswith("*.") else text
    if "*" in body:
        raise ValueError(f"{value!r}: a wildcard is allowed only as the leftmost label (*.contoso.com)")
    _domain(body)
    return text


def _sender_domain(value: str) -> str:
    text = value.strip().lower()
    if text == "*":
        return text
    body = text[2:] if text.startswith("*.") else text
    if "*" in body:
        raise ValueError(f"{value!r}: wildcards are allowed only at the left (*.contoso.com) or alone (*)")
    _domain(body)
    return text


Domain = Annotated[str, AfterValidator(_domain)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
Email = Annotated[str, AfterValidator(_email)]
Guid = Annotated[str, AfterValidator(_guid)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
Loopback = Annotated[str, AfterValidator(_loopback)]
SenderIp = Annotated[str, AfterValidator(validate_sender_ip)]
CertName = Annotated[str, AfterValidator(validate_certificate_name)]
SenderDomain = Annotated[str, AfterValidator(_sender_domain)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=2, max_length=64)]


_INDEXES: dict[int, tuple[list[Any], dict[str, Any]]] = {}


def _recipient_index(recipients: list[Any]) -> dict[str, Any]:
    """Address → recipient for one recipients list (lookups run on every RCPT).

    Keyed by the list object itself: a changed state (``model_copy``) has a new list, so an index
    is never stale; keeping a reference to the list keeps its id from being reused.
    """
    hit = _INDEXES.get(id(recipients))
    if hit is not None and hit[0] is recipients:
        return hit[1]
    index: dict[str, Any] = {}
    for r in recipients:
        for addr in (r.address, *r.aliases):
            index.setdefault(addr.lower(), r)
    if len(_INDEXES) >= 32:
        _INDEXES.clear()
    _INDEXES[id(recipients)] = (recipients, index)
    return index


def mx_host_for(domain: str) -> str:
    """Return the Exchange Online MX host of ``domain`` (dots become dashes, dashes are dropped)."""
    labels = domain.lower().rstrip(".").split(".")
    return "-".join(label.replace("-", "") for label in labels) + ".mail.protection.outlook.com"


class AcceptedDomain(_Model):
    """A domain the tenant accepts mail for."""

    name: Domain
    """The domain, e.g. contoso.com."""
    type: Literal["Authoritative", "InternalRelay"] = "Authoritative"
    """Authoritative: every recipient lives in this tenant (unknown ones are rejected by DBEB).
    InternalRelay: unknown recipients are passed on (hybrid, migrations)."""
    default: bool = False
    """The default domain of the tenant."""


class Recipient(_Model):
    """A mail recipient of the tenant: a mailbox, shared mailbox or distribution group."""

    address: Email
    """Primary SMTP address."""
    display_name: Name
    """Display name."""
    type: Literal["UserMailbox", "SharedMailbox", "DistributionGroup"] = "UserMailbox"
    """Recipient type."""
    licensed: bool = True
    """Holds an Exchange Online licence (SMTP AUTH needs one)."""
    aliases: list[Email] = Field(default_factory=list)
    """Secondary addresses (proxy addresses)."""
    members: list[Email] = Field(default_factory=list)
    """Members of a distribution group."""
    smtp_client_authentication_disabled: bool | None = None
    """Set-CASMailbox -SmtpClientAuthenticationDisabled: True off, False on, None follows the organisation."""
    password: str | None = Field(default=None, repr=False)
    """Password for Basic-auth (AUTH LOGIN) and delegated token labs. Never recorded or shown."""
    mfa_required: bool = False
    """Sign-ins need MFA (a password-only token request fails as it would with Conditional Access)."""
    restricted: bool = False
    """On the Restricted entities list for outbound spam (sending fails with 5.1.8)."""
    mailbox_full: bool = False
    """Over its storage quota (submissions fail with 5.2.2)."""
    recipient_limit: int | Literal["Unlimited"] = 500
    """Maximum recipients per message (RecipientLimits)."""

    @model_validator(mode="after")
    def _members_only_for_groups(self) -> Recipient:
        if self.members and self.type != "DistributionGroup":
            raise ValueError("only a DistributionGroup has members")
        return self


class InboundConnector(_Model):
    """An inbound connector (New-InboundConnector)."""

    name: Name
    """Connector name, unique in the tenant."""
    connector_type: Literal["OnPremises", "Partner"] = "OnPremises"
    """OnPremises: mail from your own organisation's servers and devices (may relay to the internet).
    Partner: mail from a partner organisation or service (cannot relay)."""
    sender_ip_addresses: list[SenderIp] = Field(default_factory=list)
    """Source IPv4 addresses or CIDR ranges (/24 to /32) that identify the sender."""
    tls_sender_certificate_name: CertName | None = None
    """Domain expected in the sender's TLS certificate (CN or SAN); *.contoso.com allowed."""
    sender_domains: list[SenderDomain] = Field(default_factory=lambda: ["*"])
    """Sender domains the connector covers; '*' for any."""
    require_tls: bool = False
    """Reject messages not sent over TLS."""
    restrict_domains_to_ip_addresses: bool = False
    """Partner: reject mail from SenderDomains when the source IP is not in SenderIPAddresses."""
    restrict_domains_to_certificate: bool = False
    """Partner: reject mail from SenderDomains unless the certificate matches TlsSenderCertificateName."""
    enabled: bool = True
    """A disabled connector matches nothing."""
    treat_messages_as_internal: bool = False
    """OnPremises only: treat mail as internal to the organisation (bypasses anti-spam)."""
    cloud_services_mail_enabled: bool = False
    """Hybrid: carry X-MS-Exchange-Organization headers across premises."""
    comment: str = ""
    """Free text."""

    @model_validator(mode="after")
    def _identifies_sender(self) -> InboundConnector:
        if self.connector_type == "OnPremises" and not self.sender_ip_addresses and not self.tls_sender_certificate_name:
            raise ValueError("an OnPremises connector needs sender_ip_addresses or tls_sender_certificate_name")
        if self.treat_messages_as_internal and self.connector_type != "OnPremises":
            raise ValueError("treat_messages_as_internal is only valid on OnPremises connectors")
        if not self.sender_domains:
            raise ValueError("sender_domains is required ('*' for any domain)")
        return self


class TransportConfig(_Model):
    """Organisation transport settings (Set-TransportConfig)."""

    smtp_client_authentication_disabled: bool = True
    """SMTP AUTH off for the whole organisation (True for tenants created after January 2020)."""
    allow_legacy_tls_clients: bool = False
    """Allow TLS 1.0/1.1 clients on smtp-legacy.office365.com."""
    max_recipient_envelope_limit: int | Literal["Unlimited"] = 500
    """Organisation recipients-per-message limit."""


class OrganizationConfig(_Model):
    """Organisation settings (Set-OrganizationConfig)."""

    reject_direct_send: bool = False
    """Reject anonymous mail from accepted-domain senders that no connector matches."""


class Submission(_Model):
    """Client submission (smtp.office365.com) behaviour of this scenario."""

    smtps_465: bool = True
    """Listen for implicit TLS on port 465 (undocumented by Microsoft; on in the bundled course)."""
    basic_auth: Literal["auto", "allowed", "disabled_default", "removed"] = "auto"
    """Basic authentication (AUTH LOGIN) state. 'auto' follows Microsoft's published timeline
    against the scenario clock: allowed until the end of December 2026, disabled by default after."""
    security_defaults: bool = True
    """Microsoft Entra security defaults are on (block Basic authentication, not OAuth)."""
    legacy_auth_blocked_by_conditional_access: bool = False
    """A Conditional Access policy blocks legacy authentication for every user."""


class ClientSecret(_Model):
    """A client secret of an app registration."""

    id: Guid
    """Secret ID (what people paste by mistake)."""
    value: str = Field(min_length=8, repr=False)
    """Secret value. Never recorded or shown."""
    description: str = ""
    """Description shown in the portal."""
    expires: datetime | None = None
    """Expiry; an expired secret fails with AADSTS7000222."""


class ApiPermission(_Model):
    """An API permission of an app registration."""

    api: Literal["Office 365 Exchange Online", "Microsoft Graph"] = "Office 365 Exchange Online"
    """The API."""
    name: Literal["SMTP.SendAsApp", "SMTP.Send", "Mail.Send", "User.Read", "full_access_as_app"]
    """The permission."""
    type: Literal["Application", "Delegated"] = "Application"
    """Application (app-only, roles claim) or Delegated (scp claim)."""


class AppRegistration(_Model):
    """An app registration in Microsoft Entra ID."""

    display_name: Name
    """Name in the portal."""
    app_id: Guid
    """Application (client) ID."""
    object_id: Guid
    """Object ID of the app registration."""
    enterprise_object_id: Guid
    """Object ID of its enterprise application (service principal): the one New-ServicePrincipal needs."""
    secrets: list[ClientSecret] = Field(default_factory=list)
    """Client secrets."""
    permissions: list[ApiPermission] = Field(default_factory=list)
    """Configured API permissions."""
    admin_consent: bool = False
    """Admin consent granted for the application permissions."""
    public_client: bool = False
    """Allow public client flows (resource-owner password, device code)."""


class ExchangeServicePrincipal(_Model):
    """A service principal registered in Exchange Online (New-ServicePrincipal)."""

    app_id: Guid
    """-AppId."""
    object_id: Guid
    """-ObjectId as given (must be the enterprise application's object id)."""
    display_name: str = ""
    """-DisplayName."""


class MailboxPermission(_Model):
    """Add-MailboxPermission."""

    identity: Email
    """The mailbox."""
    user: str
    """Who gets the right: a user's address or a service principal's object id."""
    access_rights: Literal["FullAccess", "ReadPermission"] = "FullAccess"
    """Access right."""


class RecipientPermission(_Model):
    """Add-RecipientPermission (Send As)."""

    identity: Email
    """The address that may be sent as."""
    trustee: str
    """Who may send as it: a user's address or a service principal's object id."""
    access_rights: Literal["SendAs"] = "SendAs"
    """Access right."""


class DnsRecord(_Model):
    """A record on the simulated DNS (the tenant's domains and the simulated internet)."""

    name: DnsName
    """Owner name, e.g. _dmarc.contoso.com."""
    type: Literal["MX", "TXT", "CNAME", "A"]
    """Record type."""
    value: str = Field(min_length=1)
    """Record data: a host for MX and CNAME, text for TXT, an IPv4 address for A."""
    priority: int = Field(default=0, ge=0, le=65535)
    """MX preference."""


class DkimConfig(_Model):
    """DKIM signing for a domain (New-/Set-DkimSigningConfig)."""

    domain: Domain
    """The signing domain."""
    enabled: bool = False
    """Sign outbound mail from this domain."""
    active_selector: Literal["selector1", "selector2"] = "selector1"
    """Selector in use."""


class Site(_Model):
    """A network site of the organisation: a public IP, simulated by a loopback source address."""

    name: Slug
    """Site id, e.g. hq-office."""
    description: str = ""
    """What is there."""
    public_ip: IPv4
    """The public IP the site's traffic comes from, as Exchange Online sees it."""
    source: Loopback
    """Loopback address a client binds to send from this site (127.0.0.10 and up)."""
    dynamic_ip: bool = False
    """The ISP may change the public IP (no IP-based connector will hold)."""


class FirewallRule(_Model):
    """An outbound port blocked on the way to the internet."""

    port: int = Field(ge=1, le=65535)
    """Destination port."""
    sites: list[str] = Field(default_factory=lambda: ["*"])
    """Sites the block applies to ('*' for all)."""
    reason: str = ""
    """Who blocks it and why (shown in hints, not to the device)."""


class Firewall(_Model):
    """The firewall between the organisation's sites and the internet."""

    blocked: list[FirewallRule] = Field(default_factory=list)
    """Blocked destination ports."""


class Reputation(_Model):
    """How Exchange Online Protection sees source IPs."""

    banned_ips: list[IPv4] = Field(default_factory=list)
    """On Microsoft's block list (5.7.606)."""
    low_reputation_ips: list[IPv4] = Field(default_factory=list)
    """Low reputation (5.7.708)."""


class ExternalDomain(_Model):
    """A domain on the simulated internet that can receive mail."""

    name: Domain
    """The domain."""
    description: str = ""
    """Who it is (a partner, a consumer mail service)."""


class Device(_Model):
    """A device or application of the organisation that sends mail."""

    id: Slug
    """Device id, e.g. mfp-2nd-floor."""
    name: Name
    """What people call it."""
    profile: Slug
    """Device profile (what it can do): mfp, scanner, monitoring, erp, iot-sensor, legacy-lob, cloud-app."""
    site: Slug
    """Site it sends from."""
    from_address: Email
    """The From address it uses."""
    description: str = ""
    """Notes."""


class Limits(_Model):
    """Service limits (values from Microsoft's published limits)."""

    message_rate_per_minute: int = Field(default=30, ge=1)
    """SMTP AUTH: messages per minute per mailbox before submissions are delayed."""
    concurrent_connections: int = Field(default=3, ge=1)
    """SMTP AUTH: concurrent connections per mailbox."""
    recipients_per_day: int = Field(default=10_000, ge=1)
    """Recipients per rolling 24 hours per mailbox."""
    service_recipient_limit: int = Field(default=1000, ge=1)
    """Recipients per message when every other limit says Unlimited."""
    max_receive_size: int = Field(default=36 * 1024 * 1024, ge=1024)
    """Default maximum message size received by a mailbox, in bytes."""
    max_send_size: int = Field(default=35 * 1024 * 1024, ge=1024)
    """Default maximum message size sent by a mailbox, in bytes."""
    advertised_size: int = Field(default=157_286_400, ge=1024)
    """SIZE advertised in EHLO and enforced for the whole message."""
    idle_timeout_seconds: float = Field(default=600, gt=0)
    """Close a connection that sends nothing for this long."""


class Servers(_Model):
    """Front-end server names that appear in banners and reply suffixes."""

    mx: str = "CH3PEPF00000015.mail.protection.outlook.com"
    """MX front end."""
    submission: str = "SY5P282CA0097.outlook.office365.com"
    """Client submission front end."""
    mailbox: str = "SYBP282MB2635.AUSP282.PROD.OUTLOOK.COM"
    """Mailbox server named in submission success replies."""


class TenantScenario(_Model):
    """A mock Exchange Online tenant: organisation, directory, mail flow, network and DNS."""

    format_version: Literal[1] = 1
    """Version of the scenario format."""
    id: Slug
    """Scenario id (file name without .yaml)."""
    name: Name
    """Organisation name."""
    tenant_id: Guid
    """Microsoft Entra tenant id."""
    initial_domain: Domain
    """The tenant's initial domain, e.g. contoso.onmicrosoft.com."""
    clock: datetime | None = None
    """The scenario's 'now' (UTC). Decides dated behaviour such as the Basic-auth timeline. None: real time."""
    accepted_domains: list[AcceptedDomain] = Field(min_length=1)
    """Accepted domains (the initial domain is added automatically)."""
    recipients: list[Recipient] = Field(default_factory=list)
    """Mailboxes, shared mailboxes and distribution groups."""
    inbound_connectors: list[InboundConnector] = Field(default_factory=list)
    """Inbound connectors."""
    transport_config: TransportConfig = Field(default_factory=TransportConfig)
    """Set-TransportConfig settings."""
    organization_config: OrganizationConfig = Field(default_factory=OrganizationConfig)
    """Set-OrganizationConfig settings."""
    submission: Submission = Field(default_factory=Submission)
    """Client submission and authentication behaviour."""
    app_registrations: list[AppRegistration] = Field(default_factory=list)
    """Microsoft Entra app registrations."""
    service_principals: list[ExchangeServicePrincipal] = Field(default_factory=list)
    """Service principals registered in Exchange Online."""
    mailbox_permissions: list[MailboxPermission] = Field(default_factory=list)
    """FullAccess grants."""
    recipient_permissions: list[RecipientPermission] = Field(default_factory=list)
    """Send As grants."""
    dns: list[DnsRecord] = Field(default_factory=list)
    """DNS records of the tenant's domains and of external domains."""
    dkim: list[DkimConfig] = Field(default_factory=list)
    """DKIM signing configuration per domain."""
    sites: list[Site] = Field(default_factory=list)
    """Network sites (public IP ↔ loopback source address)."""
    firewall: Firewall = Field(default_factory=Firewall)
    """Blocked outbound ports."""
    reputation: Reputation = Field(default_factory=Reputation)
    """Source IP reputation."""
    internet: list[ExternalDomain] = Field(default_factory=list)
    """External domains that exist on the simulated internet."""
    devices: list[Device] = Field(default_factory=list)
    """Devices and applications that send mail."""
    limits: Limits = Field(default_factory=Limits)
    """Service limits."""
    servers: Servers = Field(default_factory=Servers)
    """Front-end server names."""
    default_public_ip: IPv4 = "198.51.100.23"
    """Public IP of a client that binds no site address (e.g. a trainee's own swaks)."""

    @model_validator(mode="after")
    def _consistent(self) -> TenantScenario:
        problems: list[str] = []

        def unique(label: str, values: list[str]) -> None:
            seen: set[str] = set()
            for v in values:
                if v.lower() in seen:
                    problems.append(f"duplicate {label} {v!r}")
                seen.add(v.lower())

        unique("accepted domain", [d.name for d in self.accepted_domains])
        addresses = [r.address for r in self.recipients] + [a for r in self.recipients for a in r.aliases]
        unique("recipient address", addresses)
        unique("connector name", [c.name for c in self.inbound_connectors])
        unique("site name", [s.name for s in self.sites])
        unique("site source address", [s.source for s in self.sites])
        unique("app id", [a.app_id for a in self.app_registrations])
        unique("device id", [d.id for d in self.devices])
        domains = {d.name for d in self.accepted_domains} | {self.initial_domain}
        for r in self.recipients:
            for addr in [r.address, *r.aliases]:
                if addr.rpartition("@")[2] not in domains:
                    problems.append(f"recipient {addr!r} is not in an accepted domain")
        sites = {s.name for s in self.sites}
        for d in self.devices:
            if d.site not in sites:
                problems.append(f"device {d.id!r} names unknown site {d.site!r}")
        for rule in self.firewall.blocked:
            for s in rule.sites:
                if s != "*" and s not in sites:
                    problems.append(f"firewall rule for port {rule.port} names unknown site {s!r}")
        if sum(d.default for d in self.accepted_domains) > 1:
            problems.append("more than one accepted domain is marked default")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- derived facts (pure) -------------------------------------------------------------

    @property
    def default_domain(self) -> str:
        """The default accepted domain (or the first one)."""
        for d in self.accepted_domains:
            if d.default:
                return d.name
        return self.accepted_domains[0].name

    @property
    def mx_host(self) -> str:
        """MX host of the default domain."""
        return mx_host_for(self.default_domain)

    @property
    def fallback_mx_host(self) -> str:
        """``<tenant>.mail.protection.outlook.com`` of the initial domain."""
        return self.initial_domain.split(".")[0] + ".mail.protection.outlook.com"

    def accepted_domain(self, domain: str) -> AcceptedDomain | None:
        """Return the accepted domain ``domain`` (the initial domain counts as Authoritative)."""
        domain = domain.lower()
        for d in self.accepted_domains:
            if d.name == domain:
                return d
        if domain == self.initial_domain:
            return AcceptedDomain(name=domain)
        return None

    def recipient(self, address: str) -> Recipient | None:
        """Return the recipient with ``address`` as primary address or alias (case-insensitive)."""
        return _recipient_index(self.recipients).get(address.lower())

    def site_by_source(self, source: str) -> Site | None:
        """Return the site whose loopback source address is ``source``."""
        for s in self.sites:
            if s.source == source:
                return s
        return None

    def site(self, name: str) -> Site | None:
        """Return the site called ``name``."""
        for s in self.sites:
            if s.name == name:
                return s
        return None

    def connector(self, name: str) -> InboundConnector | None:
        """Return the inbound connector called ``name`` (case-insensitive)."""
        for c in self.inbound_connectors:
            if c.name.lower() == name.lower():
                return c
        return None

    def app(self, app_id: str) -> AppRegistration | None:
        """Return the app registration with client id ``app_id``."""
        for a in self.app_registrations:
            if a.app_id == app_id.lower():
                return a
        return None

    def template_vars(self) -> dict[str, Any]:
        """Return the facts lessons and labs may use as ``{{ tenant.* }}``."""
        return {
            "id": self.id,
            "name": self.name,
            "tenant_id": self.tenant_id,
            "domain": self.default_domain,
            "domains": [d.name for d in self.accepted_domains],
            "initial_domain": self.initial_domain,
            "mx_host": self.mx_host,
            "fallback_mx_host": self.fallback_mx_host,
            "smtp_host": "smtp.office365.com",
            "legacy_smtp_host": "smtp-legacy.office365.com",
            "token_host": "login.microsoftonline.com",
            "token_url": f"https://login.microsoftonline.com/{self.tenant_id}/oauth2/v2.0/token",
            "sites": {s.name: {"public_ip": s.public_ip, "source": s.source, "description": s.description}
                      for s in self.sites},
            "mailboxes": {r.address.split("@")[0]: r.address for r in self.recipients},
            "devices": {d.id: {"name": d.name, "from": d.from_address, "site": d.site} for d in self.devices},
            "connectors": [c.name for c in self.inbound_connectors],
            "apps": {a.display_name: {"client_id": a.app_id} for a in self.app_registrations},
            "external_domains": [d.name for d in self.internet],
        }
