"""Provides device profiles: what each kind of device or app can do, which makes the choice of
method real (a printer that cannot do OAuth, a legacy app stuck at TLS 1.0, a sensor that can hold
a certificate but no secret).

A config the device cannot do is refused the way its web panel or config file would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass

from labs.devices.config import DeviceConfig

__all__ = ["PROFILES", "DeviceError", "Profile", "check_capabilities", "effective_max_tls"]


class DeviceError(ValueError):
    """The device refuses a config (what its admin panel would say), or failed to send."""


@dataclass(frozen=True)
class Profile:
    """What a device or app supports."""

    id: str
    name: str
    description: str
    security: frozenset[str]
    auth: frozenset[str]
    max_tls: str
    """Highest TLS version of the shipped firmware or runtime."""
    firmware_tls12: bool = False
    """A firmware update that adds TLS 1.2 exists (legacy devices)."""
    client_certificate: bool = False
    oauth_flows: frozenset[str] = frozenset()
    panel: str = "web panel"
    """Where its settings live, for error messages."""


PROFILES: dict[str, Profile] = {p.id: p for p in (
    Profile("mfp", "Multifunction printer (scan to email)",
            "A networked printer/scanner. Scan-to-email with host, port, 'SSL/TLS' or 'STARTTLS', and an optional "
            "user name and password. No OAuth in its firmware.",
            frozenset({"none", "starttls"}), frozenset({"none", "login"}), "1.2", panel="printer web panel"),
    Profile("scanner", "Document scanner",
            "A stand-alone scanner with basic SMTP settings: host, port, STARTTLS on/off. No authentication options.",
            frozenset({"none", "starttls"}), frozenset({"none"}), "1.2", panel="scanner settings page"),
    Profile("monitoring", "Monitoring server",
            "A monitoring tool on a Linux server. Any SMTP setting, client certificates, and OAuth 2.0 client "
            "credentials through its mail plug-in.",
            frozenset({"none", "starttls", "tls"}), frozenset({"none", "login", "xoauth2"}), "1.3",
            client_certificate=True, oauth_flows=frozenset({"client_credentials"}), panel="alerting configuration"),
    Profile("erp", "ERP application",
            "An ERP/CRM server application. SMTP with STARTTLS or implicit TLS, Basic or OAuth 2.0 (client "
            "credentials or a service account's delegated token).",
            frozenset({"none", "starttls", "tls"}), frozenset({"none", "login", "xoauth2"}), "1.3",
            client_certificate=True, oauth_flows=frozenset({"client_credentials", "password"}),
            panel="ERP mail settings"),
    Profile("iot-sensor", "IoT sensor",
            "A small sensor on a dynamic-IP connection. Plain SMTP or STARTTLS with a client certificate; no "
            "user accounts and nowhere to keep a secret.",
            frozenset({"none", "starttls"}), frozenset({"none"}), "1.2", client_certificate=True,
            panel="sensor configuration file"),
    Profile("legacy-lob", "Legacy line-of-business application",
            "An old in-house application. SMTP with STARTTLS and Basic authentication; its TLS library stops at "
            "TLS 1.0 until the vendor's update (firmware_tls12) is installed.",
            frozenset({"none", "starttls"}), frozenset({"none", "login"}), "1.0", firmware_tls12=True,
            panel="application config file"),
    Profile("cloud-app", "Cloud application",
            "A web application on a shared cloud platform. Modern SMTP client: STARTTLS or implicit TLS, OAuth 2.0 "
            "client credentials (it can hold a secret), Basic as a fallback.",
            frozenset({"starttls", "tls"}), frozenset({"login", "xoauth2"}), "1.3", client_certificate=True,
            oauth_flows=frozenset({"client_credentials", "password"}), panel="app settings"),
)}
"""Every profile by id."""

_ORDER = ["1.0", "1.1", "1.2", "1.3"]
_AUTH_NAMES = {"none": "None", "login": "Login (user name and password)", "plain": "Plain",
               "xoauth2": "OAuth 2.0 (XOAUTH2)"}
_SECURITY_NAMES = {"none": "None", "starttls": "STARTTLS", "tls": "SSL/TLS (implicit)"}


def effective_max_tls(profile: Profile, config: DeviceConfig) -> str:
    """The highest TLS version the device will offer with this config."""
    best = "1.2" if (profile.firmware_tls12 and config.firmware_tls12) else profile.max_tls
    if config.tls_version == "auto":
        return best
    return config.tls_version if _ORDER.index(config.tls_version) <= _ORDER.index(best) else best


def check_capabilities(profile: Profile, config: DeviceConfig) -> None:
    """Refuse a config the device cannot do.

    Raises:
        DeviceError: with the device's own kind of message.
    """
    if config.security not in profile.security:
        allowed = ", ".join(_SECURITY_NAMES[s] for s in sorted(profile.security))
        raise DeviceError(f"{profile.panel}: connection security '{_SECURITY_NAMES[config.security]}' is not "
                          f"available on this {profile.name.lower()} (choose {allowed})")
    if config.auth not in profile.auth:
        allowed = ", ".join(_AUTH_NAMES[a] for a in sorted(profile.auth))
        raise DeviceError(f"{profile.panel}: authentication '{_AUTH_NAMES[config.auth]}' is not supported by this "
                          f"{profile.name.lower()} (supported: {allowed})")
    if config.auth == "xoauth2" and config.oauth is not None and config.oauth.flow not in profile.oauth_flows:
        raise DeviceError(f"{profile.panel}: the OAuth flow '{config.oauth.flow}' is not supported")
    if config.client_certificate and not profile.client_certificate:
        raise DeviceError(f"{profile.panel}: this {profile.name.lower()} cannot present a client certificate")
    if config.firmware_tls12 and not profile.firmware_tls12:
        raise DeviceError(f"{profile.panel}: there is no TLS firmware update for this {profile.name.lower()}")
    best = "1.2" if (profile.firmware_tls12 and config.firmware_tls12) else profile.max_tls
    if config.tls_version != "auto" and _ORDER.index(config.tls_version) > _ORDER.index(best):
        hint = "; install the vendor's TLS update first" if profile.firmware_tls12 and not config.firmware_tls12 else ""
        raise DeviceError(f"{profile.panel}: TLS {config.tls_version} is not available (highest: TLS {best}{hint})")
