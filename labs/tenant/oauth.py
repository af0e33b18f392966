"""Provides the mock Microsoft identity platform: an aiohttp application on loopback that issues tokens.

Routes, shaped like ``login.microsoftonline.com``:

* ``POST /{tenant}/oauth2/v2.0/token``: client credentials and resource-owner password grants
  (form-encoded; the client secret may also come as HTTP Basic). Anything but POST gets
  AADSTS900561.
* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and the v1
  ``/{tenant}/.well-known/openid-configuration``: discovery documents whose endpoints point back
  at this listener (as the client reached it: scheme and Host of the request).
* ``GET /{tenant}/discovery/v2.0/keys`` (and the v1 ``/discovery/keys``): the signing keys (JWKS).
* ``GET /common/discovery/instance``: instance discovery, for OAuth libraries that ask.

Rules live in :mod:`labs.tenant.policy.identity`; the scenario is read through the provider on
every request, so admin changes apply at once. Bodies over 64 KiB get 413; bodies that are not
UTF-8 form data get a JSON 400; no request ever produces a traceback. Nothing is logged (the
access log is off) and no secret, password or token is echoed in an error.

The listener serves plain HTTP by default. MSAL only accepts ``https`` authorities, so
``TokenIssuer(..., tls_context=pki.server_context("login"))`` serves HTTPS with a certificate from
the local CA (``127.0.0.1``, ``localhost`` and ``login.microsoftonline.com``).
"""

from __future__ import annotations

import base64
import binascii
import collections
import ipaddress
import logging
import re
import secrets
import ssl
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from labs.tenant.clock import Clock, iso
from labs.tenant.pki import Pki
from labs.tenant.policy.identity import (
    AppGrant,
    TokenDecision,
    TokenError,
    UserGrant,
    aadsts_error,
    request_error,
    tenant_error,
    token_request,
)
from labs.tenant.scenario import TenantScenario
from labs.tenant.tokens import mint_app_token, mint_user_token

__all__ = ["MAX_BODY_BYTES", "IssuerEvent", "TokenIssuer"]

MAX_BODY_BYTES = 64 * 1024
"""Largest token request body accepted."""

_QUIET = logging.getLogger("labs.tenant.oauth.http")
"""aiohttp's protocol logger for the issuer: silenced. aiohttp logs a malformed request at ERROR with
the offending bytes (a header line can hold a client secret), so nothing of it may reach a log."""
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
_QUIET.disabled = True

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


@dataclass(frozen=True)
class IssuerEvent:
    """One token request, as the issuer saw it (no secret, password or token)."""

    at: str
    """ISO 8601 UTC (tenant clock)."""
    grant_type: str | None
    client_id: str | None
    username: str | None
    status: int
    code: int | None
    """The AADSTS code of an error, None when a token was issued."""
    reason: str
    """``issued`` or the error's reason word (see :class:`labs.tenant.policy.identity.TokenError`)."""
    kind: str
    """app, user or error."""


class TokenIssuer:
    """The token endpoint of one tenant, listening on loopback.

    Args:
        scenario_provider: returns the tenant's current state (called on every request).
        pki: signs tokens and publishes the keys.
        clock: the tenant clock (token times, secret expiry).
        tls_context: serve HTTPS with this server context instead of plain HTTP.
    """

    def __init__(self, scenario_provider: Callable[[], TenantScenario], pki: Pki, clock: Clock, *,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self._scenario = scenario_provider
        self._pki = pki
        self._clock = clock
        self._tls = tls_context
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        """The address listened on."""
        self.port = 0
        """The bound port (after :meth:`start`)."""
        self.issued = 0
        """Tokens issued since start."""
        self.events: collections.deque[IssuerEvent] = collections.deque(maxlen=1000)
        """The latest token requests (newest last)."""
        self._listeners: list[Callable[[IssuerEvent], None]] = []

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``https`` with a TLS context, else ``http``."""
        return "https" if self._tls is not None else "http"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (or https)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def authority(self) -> str:
        """``<base_url>/<tenant-id>``: what OAuth libraries call the authority."""
        return f"{self.base_url}/{self._scenario().tenant_id}"

    @property
    def token_url(self) -> str:
        """The v2.0 token endpoint of this tenant: ``<base_url>/<tenant-id>/oauth2/v2.0/token``."""
        return f"{self.authority}/oauth2/v2.0/token"

    def on_request(self, callback: Callable[[IssuerEvent], None]) -> None:
        """Call ``callback`` after every token request (on the event loop)."""
        self._listeners.append(callback)

    def app(self) -> web.Application:
        """Build the aiohttp application (also usable with aiohttp's test utilities)."""
        application = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._guard])
        router = application.router
        router.add_route("*", "/{tenant}/oauth2/v2.0/token", self._token)
        router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery_v2)
        router.add_get("/{tenant}/.well-known/openid-configuration", self._discovery_v1)
        router.add_get("/{tenant}/discovery/v2.0/keys", self._keys)
        router.add_get("/{tenant}/discovery/keys", self._keys)
        router.add_get("/common/discovery/instance", self._instance)
        return application

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free port; see :attr:`port`).

        Raises:
            ValueError: when ``host`` is not an address in 127.0.0.0/8.
            OSError: when the port is taken.
        """
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IP address; the issuer listens on 127.0.0.0/8 only") from None
        if address.version != 4 or not address.is_loopback:
            raise ValueError(f"{host} is not a loopback address; the issuer listens on 127.0.0.0/8 only")
        self._pki.jwt_key()  # create the signing key now, not during the first request
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, logger=_QUIET)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=self._tls, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host = host
        bound = [a for a in runner.addresses if isinstance(a, tuple)]
        self.port = int(bound[0][1]) if bound else port

    async def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> TokenIssuer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- plumbing ---------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status == 404:
                return web.json_response({"error": "not_found", "error_description": "No such endpoint."},
                                         status=404, headers=_NO_STORE)
            if exc.status == 405:
                return web.json_response({"error": "invalid_request", "error_description": "Method not allowed."},
                                         status=405, headers=_NO_STORE)
            raise
        except Exception:
            # Never a traceback, never the request: just an opaque server error.
            return web.json_response({"error": "server_error",
                                      "error_description": "The mock identity platform failed to answer."},
                                     status=500, headers=_NO_STORE)

    @staticmethod
    def _ids(request: web.Request) -> tuple[str, str]:
        given = request.headers.get("client-request-id", "")
        correlation = given.lower() if _GUID_RE.match(given) else str(uuid.uuid4())
        return str(uuid.uuid4()), correlation

    @staticmethod
    def _json(status: int, body: dict[str, Any], trace_id: str, correlation_id: str) -> web.Response:
        headers = {**_NO_STORE, "x-ms-request-id": trace_id, "client-request-id": correlation_id}
        return web.json_response(body, status=status, headers=headers)

    def _error(self, request: web.Request, error: TokenError) -> web.Response:
        trace_id, correlation_id = self._ids(request)
        body = error.body(trace_id=trace_id, correlation_id=correlation_id)
        return self._json(error.status, body, trace_id, correlation_id)

    def _origin(self, request: web.Request) -> str:
        try:
            origin = str(request.url.origin())
        except (ValueError, TypeError):
            return self.base_url
        return origin if origin.startswith(("http://", "https://")) else self.base_url

    # -- the token endpoint -----------------------------------------------------------------------

    async def _read_form(self, request: web.Request) -> dict[str, list[str]] | TokenError:
        now = self._clock.now()
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return request_error(now, f"The request body is larger than {MAX_BODY_BYTES} bytes.", "body-too-large",
                                 status=413)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return request_error(now, f"The request body is larger than {MAX_BODY_BYTES} bytes.", "body-too-large",
                                 status=413)
        if request.content_type != "application/x-www-form-urlencoded":
            # Entra reads parameters from a form body only: JSON or multipart bodies have none.
            return {}
        try:
            text = raw.decode("utf-8")
            return urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                                         errors="strict", max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            return request_error(now, "The request body is not valid form data (UTF-8, "
                                 "application/x-www-form-urlencoded, at most 200 parameters).", "body-not-form-data")

    @staticmethod
    def _basic(request: web.Request) -> tuple[str, str] | None | bool:
        """(client_id, secret) from ``Authorization: Basic``; None without one; False when malformed."""
        header = request.headers.get("Authorization", "")
        if not header[:6].lower() == "basic ":
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(":")
        if not sep:
            return False
        # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
        return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)

    async def _token(self, request: web.Request) -> web.Response:
        now = self._clock.now()
        if request.method != "POST":
            return self._error(request, aadsts_error(900561, now, "not-post", method=request.method[:16]))
        scenario = self._scenario()
        bad_tenant = tenant_error(scenario, request.match_info["tenant"], now)
        if bad_tenant is not None:
            self._record(now, None, None, None, bad_tenant.status, bad_tenant.code, bad_tenant.reason, "error")
            return self._error(request, bad_tenant)
        form = await self._read_form(request)
        if isinstance(form, TokenError):
            self._record(now, None, None, None, form.status, form.code, form.reason, "error")
            return self._error(request, form)
        basic = self._basic(request)
        if basic is False:
            bad_basic = request_error(now, "The Authorization header is not valid HTTP Basic client authentication.",
                                      "bad-basic-auth", status=401)
            self._record(now, None, None, None, bad_basic.status, bad_basic.code, bad_basic.reason, "error")
            return self._error(request, bad_basic)
        decision = token_request(scenario, form, request.match_info["tenant"], now,
                                 client_auth=basic if isinstance(basic, tuple) else None)
        first = {k: (v[0] if v else None) for k, v in form.items() if k in ("grant_type", "client_id", "username")}
        client_id = basic[0] if isinstance(basic, tuple) else first.get("client_id")
        error = decision.error
        self._record(now, first.get("grant_type"), client_id, first.get("username"), decision.status,
                     error.code if error else None, decision.reason, decision.kind)
        if error is not None:
            return self._error(request, error)
        trace_id, correlation_id = self._ids(request)
        return self._json(200, self._issue(scenario, decision, now), trace_id, correlation_id)

    def _issue(self, scenario: TenantScenario, decision: TokenDecision, now: datetime) -> dict[str, Any]:
        key, kid = self._pki.jwt_key()
        grant = decision.grant
        if isinstance(grant, AppGrant):
            minted = mint_app_token(key, kid, tenant_id=scenario.tenant_id, app_id=grant.app_id,
                                    object_id=grant.service_principal_id, roles=grant.roles, now=now,
                                    app_name=grant.app_name, audience=grant.audience)
            body: dict[str, Any] = {"token_type": "Bearer"}
        else:
            assert isinstance(grant, UserGrant)
            minted = mint_user_token(key, kid, tenant_id=scenario.tenant_id, app_id=grant.app_id,
                                     address=grant.address, display_name=grant.display_name, scopes=grant.scopes,
                                     now=now, app_name=grant.app_name, audience=grant.audience,
                                     confidential=grant.confidential)
            body = {"token_type": "Bearer", "scope": grant.response_scope}
        # Entra reports one second less than the lifetime (a 60-minute token says 3599).
        expires_in = max(0, minted.expires_in - 1)
        body.update({"expires_in": expires_in, "ext_expires_in": expires_in, "access_token": minted.token})
        if isinstance(grant, UserGrant) and grant.refresh_token:
            body["refresh_token"] = "1.A" + secrets.token_urlsafe(96)  # opaque; no refresh grant is offered
        self.issued += 1
        return body

    def _record(self, now: datetime, grant_type: str | None, client_id: str | None, username: str | None, status: int,
                code: int | None, reason: str, kind: str) -> None:
        def clip(value: str | None) -> str | None:
            return value[:128] if value is not None else None

        event = IssuerEvent(iso(now), clip(grant_type), clip(client_id), clip(username), status, code, reason, kind)
        self.events.append(event)
        for callback in list(self._listeners):
            callback(event)

    # -- discovery --------------------------------------------------------------------------------

    async def _discovery_v2(self, request: web.Request) -> web.Response:
        return self._discovery(request, v2=True)

    async def _discovery_v1(self, request: web.Request) -> web.Response:
        return self._discovery(request, v2=False)

    def _discovery(self, request: web.Request, *, v2: bool) -> web.Response:
        scenario = self._scenario()
        tenant = request.match_info["tenant"]
        error = tenant_error(scenario, tenant, self._clock.now())
        if error is not None:
            # Discovery answers an unknown tenant with error "invalid_tenant".
            return self._error(request, TokenError(error.status, "invalid_tenant", error.code, error.message,
                                                   error.reason, error.timestamp))
        tid = scenario.tenant_id
        base = f"{self._origin(request)}/{tid}"
        version = "/v2.0" if v2 else ""
        trace_id, correlation_id = self._ids(request)
        return self._json(200, {
            "token_endpoint": f"{base}/oauth2{version}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery{version}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"https://login.microsoftonline.com/{tid}/v2.0" if v2 else f"https://sts.windows.net/{tid}/",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2{version}/authorize",
            "device_authorization_endpoint": f"{base}/oauth2{version}/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2{version}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "name", "tid",
                                 "ver", "at_hash", "c_hash", "email"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }, trace_id, correlation_id)

    async def _keys(self, request: web.Request) -> web.Response:
        trace_id, correlation_id = self._ids(request)
        return self._json(200, self._pki.jwks(), trace_id, correlation_id)

    async def _instance(self, request: web.Request) -> web.Response:
        origin = self._origin(request)
        host = origin.split("://", 1)[1]
        trace_id, correlation_id = self._ids(request)
        return self._json(200, {
            "tenant_discovery_endpoint": f"{origin}/{self._scenario().tenant_id}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }, trace_id, correlation_id)
