"""Provides the device runner: execute a device config against the tenant with a real SMTP client.

``run_device`` resolves the configured host through the tenant's endpoint table (as DNS would),
binds the site's loopback source address (which the tenant maps to the site's public IP), fetches
an OAuth token from the issuer when the config says so, and talks SMTP with aiosmtplib. A port
that nothing listens on, or that the site's firewall blocks, costs a short, configurable timeout —
never minutes. The device's own log is returned; secrets never appear in it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiohttp
import aiosmtplib

from labs.devices.config import DeviceConfig
from labs.devices.profiles import PROFILES, DeviceError, check_capabilities, effective_max_tls
from labs.devices.tls import client_context
from labs.tenant.clock import Clock
from labs.tenant.pki import Pki
from labs.tenant.scenario import TenantScenario
from labs.tenant.server import EndpointTable

__all__ = ["DeviceRun", "run_device"]


@dataclass
class DeviceRun:
    """What the device did, from its own point of view."""

    ok: bool
    sent: int = 0
    failed: int = 0
    error: str | None = None
    """The first error, as the device would show it."""
    log: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"ok": self.ok, "sent": self.sent, "failed": self.failed, "error": self.error, "log": self.log}


class _Fail(Exception):
    pass


async def _token(config: DeviceConfig, endpoints: EndpointTable, log: list[str], timeout: float) -> str:
    assert config.oauth is not None
    oauth = config.oauth
    if oauth.token_host.lower() != "login.microsoftonline.com" or endpoints.token_endpoint is None:
        raise _Fail(f"cannot resolve {oauth.token_host}: name not found")
    ep = endpoints.token_endpoint
    url = f"http://{ep.listen_host}:{ep.listen_port}/{urllib.parse.quote(oauth.tenant_id, safe='')}/oauth2/v2.0/token"
    form = {"client_id": oauth.client_id, "scope": oauth.scope}
    if oauth.flow == "client_credentials":
        form.update(grant_type="client_credentials", client_secret=oauth.client_secret or "")
    else:
        form.update(grant_type="password", username=config.username or "", password=config.password or "")
    log.append(f"requesting a token from https://{oauth.token_host}/{oauth.tenant_id}/oauth2/v2.0/token "
               f"({oauth.flow}, scope {oauth.scope})")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout + 5)) as session, \
                session.post(url, data=form) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise _Fail(f"token request failed: {type(exc).__name__}") from None
    if "access_token" not in body:
        description = str(body.get("error_description", "")).split(" Trace ID:")[0]
        raise _Fail(f"token request refused: {body.get('error', 'error')}: {description}")
    log.append(f"token received (expires in {body.get('expires_in')} s)")
    return str(body["access_token"])


def _message(config: DeviceConfig, device_id: str, n: int, total: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.header_from or config.from_address
    msg["To"] = ", ".join(config.to)
    msg["Subject"] = config.subject if total == 1 else f"{config.subject} ({n}/{total})"
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=config.from_address.rpartition("@")[2])
    msg["X-Mailer"] = device_id
    msg.set_content(config.body)
    return msg


async def _connection(config: DeviceConfig, *, host: str, port: int, real_host: str, source: str, count: int,
                      offset: int, total: int, tls: ssl.SSLContext, token: str | None, device_id: str,
                      timeout: float, log: list[str]) -> tuple[int, int, str | None]:
    sent = failed = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        sock.bind((source, 0))
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
    except (TimeoutError, OSError) as exc:
        sock.close()
        raise _Fail(f"could not connect to {real_host}:{config.port}: "
                    f"{'connection timed out' if isinstance(exc, TimeoutError) else exc.strerror}") from None
    smtp = aiosmtplib.SMTP(hostname=real_host, sock=sock, use_tls=config.security == "tls", start_tls=False,
                           tls_context=tls if config.security == "tls" else None, timeout=timeout,
                           local_hostname=config.ehlo_name or device_id, validate_certs=config.verify_certificate)
    try:
        try:
            response = await smtp.connect()
        except aiosmtplib.SMTPConnectTimeoutError:
            raise _Fail(f"no reply from {real_host}:{config.port}: timed out waiting for the server") from None
        except aiosmtplib.SMTPConnectError as exc:
            raise _Fail(f"could not connect to {real_host}:{config.port}: {exc}") from None
        except (aiosmtplib.SMTPServerDisconnected, ssl.SSLError) as exc:
            raise _Fail(f"TLS connection to {real_host}:{config.port} failed: {exc}") from None
        except TimeoutError:
            raise _Fail(f"no reply from {real_host}:{config.port}: timed out waiting for the server") from None
        log.append(f"<- {response.code} {response.message}")
        try:
            ehlo = await smtp.ehlo()
        except aiosmtplib.SMTPResponseException as exc:
            raise _Fail(f"{exc.code} {exc.message}") from None
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise _Fail(f"the server closed the connection: {exc}") from None
        log.append(f"<- {ehlo.code} (EHLO)")
        if ehlo.code != 250:
            raise _Fail(f"EHLO refused: {ehlo.code} {ehlo.message}")
        if config.security == "starttls":
            if not smtp.supports_extension("starttls"):
                raise _Fail("the server does not offer STARTTLS")
            try:
                reply = await smtp.starttls(tls_context=tls, server_hostname=real_host)
            except aiosmtplib.SMTPServerDisconnected as exc:
                raise _Fail(f"STARTTLS failed: {exc}") from None
            except (ssl.SSLError, aiosmtplib.SMTPException, OSError) as exc:
                raise _Fail(f"STARTTLS failed: {type(exc).__name__}: {exc}") from None
            log.append(f"<- {reply.code} {reply.message} (TLS started)")
            try:
                ehlo = await smtp.ehlo()
            except aiosmtplib.SMTPServerDisconnected as exc:
                raise _Fail(f"the server closed the connection after TLS: {exc}") from None
            except aiosmtplib.SMTPResponseException as exc:
                raise _Fail(f"{exc.code} {exc.message}") from None
            if ehlo.code != 250:
                raise _Fail(f"{ehlo.code} {ehlo.message}")
        if config.auth != "none":
            try:
                if config.auth == "xoauth2":
                    assert token is not None and config.username
                    reply = await smtp.auth_xoauth2(config.username, token)
                elif config.auth == "plain":
                    reply = await smtp.auth_plain(config.username or "", config.password or "")
                else:
                    reply = await smtp.auth_login(config.username or "", config.password or "")
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise _Fail(f"authentication failed: {exc.code} {exc.message}") from None
            except aiosmtplib.SMTPException as exc:
                raise _Fail(f"authentication failed: {exc}") from None
            log.append(f"-> AUTH {config.auth.upper()} <redacted>")
            log.append(f"<- {reply.code} {reply.message}")
        for i in range(count):
            msg = _message(config, device_id, offset + i + 1, total)
            try:
                errors, reply_text = await smtp.send_message(msg, sender=config.from_address, recipients=config.to)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                failed += 1
                first = exc.recipients[0]
                raise _Fail(f"send failed: {first.code} {first.message}") from None
            except aiosmtplib.SMTPResponseException as exc:
                failed += 1
                raise _Fail(f"send failed: {exc.code} {exc.message}") from None
            except aiosmtplib.SMTPServerDisconnected as exc:
                failed += 1
                raise _Fail(f"the server closed the connection: {exc}") from None
            for rcpt, err in errors.items():
                log.append(f"recipient {rcpt} refused: {err.code} {err.message}")
            log.append(f"<- {reply_text}")
            sent += 1
        try:
            await smtp.quit()
        except aiosmtplib.SMTPException:
            pass
    finally:
        smtp.close()
    return sent, failed, None


async def run_device(config: DeviceConfig, *, endpoints: EndpointTable, scenario: TenantScenario, pki: Pki,
                     profile: str, device_id: str = "device", timeout: float = 3.0,
                     clock: Clock | None = None) -> DeviceRun:
    """Run a device config against a started tenant.

    Args:
        config: the device's SMTP settings.
        endpoints: the tenant's endpoint table (real names → loopback listeners).
        scenario: the tenant's scenario (sites decide the source address).
        pki: the local PKI (CA to trust, client certificates).
        profile: the device profile id (what the device can do).
        device_id: the device's name (EHLO name when the config sets none).
        timeout: seconds before a silent or unreachable server counts as timed out.
        clock: unused by the device; accepted for symmetry with the tenant.

    Raises:
        DeviceError: when the device refuses the config (as its settings page would).
    """
    prof = PROFILES.get(profile)
    if prof is None:
        raise DeviceError(f"unknown device profile {profile!r}")
    check_capabilities(prof, config)
    log: list[str] = []
    site = scenario.site(config.site)
    if site is None:
        raise DeviceError(f"unknown site {config.site!r}")
    endpoint = endpoints.resolve(config.host, config.port)
    known_host = any(config.host in ep.hosts for ep in endpoints.endpoints)
    log.append(f"connecting to {config.host}:{config.port} from {site.name} ({site.public_ip})")
    if endpoint is None:
        if not known_host:
            return DeviceRun(False, error=f"cannot resolve {config.host}: name not found", log=log)
        await asyncio.sleep(timeout)  # nothing listens there: the SYN goes unanswered until the device gives up
        return DeviceRun(False, error=f"could not connect to {config.host}:{config.port}: connection timed out", log=log)
    cert = None
    if config.client_certificate:
        cert = pki.client_certificate(config.client_certificate)
    tls = client_context(max_version=effective_max_tls(prof, config), cafile=pki.ca_cert_path,  # type: ignore[arg-type]
                         verify=config.verify_certificate, cert=cert)
    token = None
    try:
        if config.auth == "xoauth2":
            token = await _token(config, endpoints, log, timeout)
        per = [config.messages // config.connections + (1 if i < config.messages % config.connections else 0)
               for i in range(config.connections)]
        offsets = [sum(per[:i]) for i in range(len(per))]
        results = await asyncio.gather(*(
            _connection(config, host=endpoint.listen_host, port=endpoint.listen_port, real_host=config.host,
                        source=site.source, count=n, offset=off, total=config.messages, tls=tls, token=token,
                        device_id=device_id, timeout=timeout, log=log)
            for n, off in zip(per, offsets, strict=True) if n), return_exceptions=True)
    except _Fail as exc:
        log.append(f"error: {exc}")
        return DeviceRun(False, error=str(exc), log=log)
    sent = sum(r[0] for r in results if isinstance(r, tuple))
    errors = [str(r) for r in results if isinstance(r, BaseException)]
    for e in errors:
        log.append(f"error: {e}")
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, _Fail)]
    if unexpected:
        raise unexpected[0]
    return DeviceRun(not errors and sent == config.messages, sent, config.messages - sent,
                     errors[0] if errors else None, log)
