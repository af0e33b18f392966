"""Provides the device config model: what a trainee edits to make a device or app send mail."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from labs.tenant.scenario import Email

__all__ = ["DeviceConfig", "OAuthSettings"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _host(value: str) -> str:
    value = value.strip()
    if not value or any(c.isspace() for c in value) or len(value) > 253:
        raise ValueError(f"{value!r} is not a host name or IP address")
    return value.lower().rstrip(".")


Host = Annotated[str, AfterValidator(_host)]


class OAuthSettings(_Model):
    """How the device gets an OAuth 2.0 access token for XOAUTH2."""

    flow: Literal["client_credentials", "password"] = "client_credentials"
    """client_credentials: the app's own identity (SMTP.SendAsApp). password: a user's delegated token (SMTP.Send)."""
    tenant_id: str
    """Directory (tenant) id or a verified domain of the tenant."""
    client_id: str
    """Application (client) id."""
    client_secret: str | None = Field(default=None, repr=False)
    """Client secret value (client_credentials). Never recorded or shown."""
    scope: str = "https://outlook.office365.com/.default"
    """Requested scope."""
    token_host: str = "login.microsoftonline.com"
    """Host of the token endpoint."""


class DeviceConfig(_Model):
    """The SMTP settings of a device or app, as its web panel or config file has them."""

    host: Host
    """SMTP server the device connects to."""
    port: int = Field(ge=1, le=65535)
    """TCP port."""
    security: Literal["none", "starttls", "tls"] = "none"
    """none: plain SMTP; starttls: upgrade with STARTTLS; tls: implicit TLS from the first byte."""
    tls_version: Literal["auto", "1.0", "1.1", "1.2", "1.3"] = "auto"
    """Highest TLS version the device offers ('auto': the best it can)."""
    verify_certificate: bool = True
    """Check the server's certificate and name."""
    auth: Literal["none", "login", "plain", "xoauth2"] = "none"
    """SMTP authentication mechanism."""
    username: str | None = None
    """Account for LOGIN/PLAIN, and the mailbox named in XOAUTH2."""
    password: str | None = Field(default=None, repr=False)
    """Password for LOGIN/PLAIN. Never recorded or shown."""
    oauth: OAuthSettings | None = None
    """Token settings for XOAUTH2."""
    from_address: Email
    """Envelope sender (MAIL FROM) and From header."""
    header_from: Email | None = None
    """A From header different from the envelope sender."""
    to: list[Email] = Field(min_length=1, max_length=2000)
    """Recipients."""
    subject: str = "Test message"
    """Subject line."""
    body: str = "This is a test message."
    """Message text."""
    site: str
    """Network site the device sits at (decides its source address and public IP)."""
    client_certificate: str | None = None
    """Name of a client certificate issued by the local CA, presented during TLS."""
    ehlo_name: str | None = None
    """Name sent in EHLO (default: the device id)."""
    messages: int = Field(default=1, ge=1, le=500)
    """How many messages to send in this run."""
    connections: int = Field(default=1, ge=1, le=10)
    """Parallel connections used for those messages."""
    firmware_tls12: bool = False
    """Legacy devices only: the firmware update that adds TLS 1.2 is installed."""

    @model_validator(mode="after")
    def _auth_needs_settings(self) -> DeviceConfig:
        if self.auth in ("login", "plain") and not (self.username and self.password):
            raise ValueError(f"auth {self.auth} needs username and password")
        if self.auth == "xoauth2":
            if self.oauth is None:
                raise ValueError("auth xoauth2 needs oauth settings (tenant_id, client_id, ...)")
            if not self.username:
                raise ValueError("auth xoauth2 needs username: the mailbox to send from")
        return self
