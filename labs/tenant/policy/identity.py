"""Provides the Microsoft Entra token-endpoint rules of the mock tenant, as pure functions.

:func:`token_request` decides one POST to ``/{tenant}/oauth2/v2.0/token`` from the tenant scenario
(app registrations, their secrets, permissions and consent; users, passwords and MFA) and says
either "issue an app-only token" (client credentials), "issue a delegated token" (resource-owner
password), or which AADSTS error to return, with its HTTP status and the JSON body Entra sends::

    {"error": "invalid_client",
     "error_description": "AADSTS7000215: Invalid client secret provided. ...\\r\\nTrace ID: ...\\r\\n
                           Correlation ID: ...\\r\\nTimestamp: 2026-11-26 09:00:00Z",
     "error_codes": [7000215], "timestamp": "2026-11-26 09:00:00Z", "trace_id": "...",
     "correlation_id": "...", "error_uri": "https://login.microsoftonline.com/error?code=7000215"}

Nothing here does I/O or draws random numbers: trace and correlation ids come from the caller.
Every AADSTS text used is in :data:`AADSTS`.

Order of checks (what a learner with several mistakes sees first): tenant in the path, request
format (POST parameters present, none repeated), grant type, client id, client authentication,
scope, then the user (password grant).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from labs.tenant.scenario import AppRegistration, TenantScenario

__all__ = [
    "AADSTS",
    "EXCHANGE_RESOURCE",
    "GRAPH_RESOURCE",
    "AppGrant",
    "TokenDecision",
    "TokenError",
    "UserGrant",
    "aadsts_error",
    "names_tenant",
    "request_error",
    "tenant_error",
    "token_request",
]

EXCHANGE_RESOURCE = "https://outlook.office.com"
"""The audience of Exchange Online tokens (see :mod:`labs.tenant.tokens`)."""

GRAPH_RESOURCE = "https://graph.microsoft.com"
"""Microsoft Graph: a real resource, but its tokens do not work for SMTP."""

_EXCHANGE_IDS = {"https://outlook.office365.com", "https://outlook.office.com", "00000002-0000-0ff1-ce00-000000000000"}
_GRAPH_IDS = {"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}
_API_OF_RESOURCE = {EXCHANGE_RESOURCE: "Office 365 Exchange Online", GRAPH_RESOURCE: "Microsoft Graph"}
_OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
_MULTI_TENANT_ALIASES = {"common", "organizations", "consumers"}
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DNS_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")

# The one table of AADSTS errors: code -> (HTTP status, OAuth "error", message template).
# Wording: Microsoft Entra's as returned by login.microsoftonline.com and quoted verbatim in many
# public issue threads (reference §5 gives the codes 1002012, 7000215, 700016, 900023 only).
# Entries marked "memory" are Entra's well-known wording reproduced without a stored source.
AADSTS: Mapping[int, tuple[int, str, str]] = {
    900023: (400, "invalid_request",
             "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."),
    90002: (400, "invalid_request",
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
            "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
            "subscriptions for the tenant."),
    50194: (400, "invalid_request",
            "Application '{client_id}'({app_name}) is not configured as a multi-tenant application. Usage of the "
            "/common endpoint is not supported for such applications created after '10/15/2018'. Use a "
            "tenant-specific endpoint or configure the application to be multi-tenant."),
    900144: (400, "invalid_request", "The request body must contain the following parameter: '{parameter}'."),
    9000411: (400, "invalid_request", "The request is not properly formatted. The parameter '{parameter}' is duplicated."),
    # memory: the token endpoint's answer to GET.
    900561: (400, "invalid_request", "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."),
    70003: (400, "unsupported_grant_type", "The app requested an unsupported grant type '{grant_type}'."),
    700016: (400, "unauthorized_client",
             "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can "
             "happen if the application has not been installed by the administrator of the tenant or consented to by "
             "any user in the tenant. You may have sent your authentication request to the wrong tenant."),
    7000218: (401, "invalid_client",
              "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    7000215: (401, "invalid_client",
              "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
              "value, not the client secret ID, for a secret added to app '{client_id}'."),
    7000222: (401, "invalid_client",
              "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new "
              "keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added "
              "security: https://aka.ms/certCreds."),
    1002012: (400, "invalid_scope",
              "The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
              "with /.default suffixed to the resource identifier (application ID URI)."),
    70011: (400, "invalid_scope",
            "The provided request must include a 'scope' input parameter. The provided value for the input parameter "
            "'scope' is not valid. The scope {scope} is not valid."),
    # memory: two resources in one request.
    28000: (400, "invalid_scope",
            "Provided value for the input parameter scope is not valid because it contains more than one resource. "
            "Scope {scope} is not valid."),
    500011: (400, "invalid_resource",
             "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can "
             "happen if the application has not been installed by the administrator of the tenant or consented to by "
             "any user in the tenant. You might have sent your authentication request to the wrong tenant."),
    # Entra hides the address in this message: "{EmailHidden}" is literal.
    50034: (400, "invalid_grant",
            "The user account {{EmailHidden}} does not exist in the '{tenant_id}' directory. To sign into this "
            "application, the account must be added to the directory."),
    50126: (400, "invalid_grant", "Error validating credentials due to invalid username or password."),
    # memory: a shared mailbox's account is disabled for sign-in.
    50057: (400, "invalid_grant", "The user account is disabled."),
    50076: (400, "invalid_grant",
            "Due to a configuration change made by your administrator, or because you moved to a new location, you "
            "must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'."),
    65001: (400, "invalid_grant",
            "The user or administrator has not consented to use the application with ID '{client_id}' named "
            "'{app_name}'. Send an interactive authorization request for this user and resource."),
}
"""Every AADSTS error the mock issuer returns: code -> (HTTP status, error, message template)."""

_SUBERRORS = {50076: "basic_action", 65001: "consent_required"}


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass(frozen=True)
class TokenError:
    """An error answer of the token endpoint."""

    status: int
    """HTTP status (400, or 401 for ``invalid_client``)."""
    error: str
    """The OAuth ``error`` (invalid_request, invalid_client, invalid_scope, invalid_grant, ...)."""
    code: int | None
    """The AADSTS code; None for the few transport errors Entra has no code for here."""
    message: str
    """The message after ``AADSTS<code>: ``."""
    reason: str
    """What was wrong, as a machine word (e.g. ``secret-id-instead-of-value``) for hints and grading."""
    timestamp: str
    """``YYYY-MM-DD HH:MM:SSZ`` of the request."""
    suberror: str | None = None
    """Entra's ``suberror`` (basic_action, consent_required) when it sends one."""

    @property
    def text(self) -> str:
        """``AADSTS<code>: <message>`` (just the message when there is no code)."""
        return f"AADSTS{self.code}: {self.message}" if self.code is not None else self.message

    def body(self, *, trace_id: str, correlation_id: str) -> dict[str, Any]:
        """Return the JSON body Entra sends for this error.

        Args:
            trace_id: the request's trace id (a GUID).
            correlation_id: the client's ``client-request-id`` when it sent one, else a new GUID.
        """
        out: dict[str, Any] = {
            "error": self.error,
            "error_description": f"{self.text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
                                 f"\r\nTimestamp: {self.timestamp}",
            "error_codes": [self.code] if self.code is not None else [],
            "timestamp": self.timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
        if self.code is not None:
            out["error_uri"] = f"https://login.microsoftonline.com/error?code={self.code}"
        if self.suberror:
            out["suberror"] = self.suberror
        return out


def aadsts_error(code: int, now: datetime, reason: str, **values: str) -> TokenError:
    """Build the :class:`TokenError` for AADSTS ``code`` with the template's ``{placeholders}`` filled.

    Raises:
        KeyError: for a code that is not in :data:`AADSTS`.
    """
    status, error, template = AADSTS[code]
    return TokenError(status, error, code, template.format(**values), reason, _stamp(now), _SUBERRORS.get(code))


def request_error(now: datetime, message: str, reason: str, *, status: int = 400) -> TokenError:
    """An ``invalid_request`` error without an AADSTS code (body too large, not UTF-8 form data)."""
    return TokenError(status, "invalid_request", None, message, reason, _stamp(now))


@dataclass(frozen=True)
class AppGrant:
    """Issue an app-only token (client credentials)."""

    app_id: str
    app_name: str
    service_principal_id: str
    """The enterprise application's object id: the token's ``oid``."""
    audience: str
    roles: tuple[str, ...]
    """Application permissions of the resource with admin consent (empty without consent)."""


@dataclass(frozen=True)
class UserGrant:
    """Issue a delegated token (resource-owner password)."""

    app_id: str
    app_name: str
    address: str
    display_name: str
    audience: str
    scopes: tuple[str, ...]
    """Granted delegated permissions (the ``scp`` claim), e.g. ("SMTP.Send",)."""
    response_scope: str
    """The ``scope`` of the token response (resource-qualified, plus offline_access when asked)."""
    refresh_token: bool
    """offline_access was asked: the response carries a refresh token."""
    confidential: bool
    """The client authenticated with a secret."""


@dataclass(frozen=True)
class TokenDecision:
    """What to answer to a token request: a grant, or an error."""

    grant: AppGrant | UserGrant | None = None
    error: TokenError | None = None

    @property
    def kind(self) -> Literal["app", "user", "error"]:
        """app, user or error."""
        if isinstance(self.grant, AppGrant):
            return "app"
        return "user" if isinstance(self.grant, UserGrant) else "error"

    @property
    def status(self) -> int:
        """HTTP status of the answer."""
        return self.error.status if self.error is not None else 200

    @property
    def reason(self) -> str:
        """``issued`` or the error's reason word."""
        return self.error.reason if self.error is not None else "issued"


def _fail(code: int, now: datetime, reason: str, **values: str) -> TokenDecision:
    return TokenDecision(error=aadsts_error(code, now, reason, **values))


def names_tenant(scenario: TenantScenario, tenant: str) -> bool:
    """Whether ``tenant`` names this tenant: its GUID, initial domain, or an accepted domain."""
    wanted = tenant.strip().lower()
    return (wanted == scenario.tenant_id or wanted == scenario.initial_domain
            or any(d.name == wanted for d in scenario.accepted_domains))


def tenant_error(scenario: TenantScenario, tenant: str, now: datetime) -> TokenError | None:
    """Check the tenant segment of a path; None when it names this tenant.

    A malformed identifier (neither a GUID nor a DNS name) is AADSTS900023; a well-formed one that
    is not this tenant is AADSTS90002 ("Tenant ... not found"), as Entra answers for a GUID or
    domain it does not know. ``common``/``organizations``/``consumers`` are accepted here; the
    token endpoint decides what they mean for the app.
    """
    if names_tenant(scenario, tenant) or tenant.lower() in _MULTI_TENANT_ALIASES:
        return None
    shown = tenant[:256]
    if _GUID_RE.match(tenant) or _DNS_RE.match(tenant):
        return aadsts_error(90002, now, "unknown-tenant", tenant=shown)
    return aadsts_error(900023, now, "invalid-tenant", tenant=shown)


def _resource_of(scope: str) -> tuple[str, str] | None:
    """Split a resource-qualified scope into (canonical resource, permission); None when unqualified."""
    text = scope.strip()
    if text.startswith(("https://", "http://", "api://")):
        base, _, permission = text.rstrip().rpartition("/")
    elif "/" in text:
        base, _, permission = text.rpartition("/")
    else:
        return None
    base = base.rstrip("/").lower()
    if base in _EXCHANGE_IDS:
        return EXCHANGE_RESOURCE, permission
    if base in _GRAPH_IDS:
        return GRAPH_RESOURCE, permission
    return base, permission


def _granted(app: AppRegistration, resource: str, kind: Literal["Application", "Delegated"]) -> tuple[str, ...]:
    api = _API_OF_RESOURCE.get(resource)
    if api is None or not app.admin_consent:
        return ()
    return tuple(p.name for p in app.permissions if p.api == api and p.type == kind)


def _check_secret(app: AppRegistration, secret: str, now: datetime) -> TokenDecision | None:
    """None when ``secret`` is a current secret value of ``app``; else the AADSTS error."""
    given = secret.encode("utf-8", "surrogatepass")
    for s in app.secrets:
        if hmac.compare_digest(given, s.value.encode("utf-8")):
            if s.expires is not None and s.expires.astimezone(UTC) <= now.astimezone(UTC):
                return _fail(7000222, now, "secret-expired", client_id=app.app_id)
            return None
    if any(s.id == secret.strip().lower() for s in app.secrets):
        # The portal shows "Secret ID" next to "Value"; people copy the wrong column.
        return _fail(7000215, now, "secret-id-instead-of-value", client_id=app.app_id)
    return _fail(7000215, now, "wrong-secret", client_id=app.app_id)


def token_request(scenario: TenantScenario, form: Mapping[str, Sequence[str]], tenant_in_path: str, now: datetime,
                  *, client_auth: tuple[str, str] | None = None) -> TokenDecision:
    """Decide a POST to ``/{tenant_in_path}/oauth2/v2.0/token``.

    Args:
        scenario: the tenant's current state.
        form: the form-encoded body, every value of every parameter (``parse_qs`` shape).
        tenant_in_path: the tenant segment of the URL.
        now: the tenant clock (secret expiry, timestamps).
        client_auth: (client_id, client_secret) from an HTTP Basic ``Authorization`` header.

    Returns:
        A :class:`TokenDecision`: an :class:`AppGrant`, a :class:`UserGrant`, or a :class:`TokenError`.
    """
    bad_tenant = tenant_error(scenario, tenant_in_path, now)
    if bad_tenant is not None:
        return TokenDecision(error=bad_tenant)
    for name, values in form.items():
        if len(values) > 1:
            return _fail(9000411, now, "repeated-parameter", parameter=name[:64])
    # OAuth 2.0: a parameter sent without a value is treated as omitted.
    params = {k: v[0] for k, v in form.items() if v and v[0] != ""}
    if client_auth is not None:
        basic_id, basic_secret = client_auth
        if "client_secret" in params or params.get("client_id", basic_id) != basic_id:
            return _fail(9000411, now, "repeated-parameter",
                         parameter="client_secret" if "client_secret" in params else "client_id")
        params["client_id"] = basic_id
        params["client_secret"] = basic_secret
    grant_type = params.get("grant_type")
    if grant_type is None:
        return _fail(900144, now, "missing-parameter", parameter="grant_type")
    if grant_type not in ("client_credentials", "password"):
        return _fail(70003, now, "unsupported-grant-type", grant_type=grant_type[:128])
    client_id = params.get("client_id")
    if client_id is None:
        return _fail(900144, now, "missing-parameter", parameter="client_id")
    required = ("scope",) if grant_type == "client_credentials" else ("username", "password", "scope")
    for name in required:
        if name not in params:
            return _fail(900144, now, "missing-parameter", parameter=name)
    app = scenario.app(client_id.strip())
    if app is None:
        directory = scenario.name if names_tenant(scenario, tenant_in_path) else tenant_in_path
        return _fail(700016, now, "unknown-client", client_id=client_id[:128], tenant_name=directory)
    if tenant_in_path.lower() in _MULTI_TENANT_ALIASES:
        return _fail(50194, now, "single-tenant-app-on-common", client_id=app.app_id, app_name=app.display_name)
    secret = params.get("client_secret")
    if secret is not None:
        bad_secret = _check_secret(app, secret, now)
        if bad_secret is not None:
            return bad_secret
    elif grant_type == "client_credentials" or not app.public_client:
        # Client credentials always need a secret; ROPC needs one unless the app is a public client.
        return _fail(7000218, now, "no-client-secret" if grant_type == "client_credentials" else "not-public-client")
    if grant_type == "client_credentials":
        return _client_credentials(scenario, app, params["scope"], now)
    return _password(scenario, app, params, now, confidential=secret is not None)


def _client_credentials(scenario: TenantScenario, app: AppRegistration, scope: str, now: datetime) -> TokenDecision:
    scopes = scope.split()
    # Entra names the offending value, e.g. https://outlook.office365.com/SMTP.SendAsApp.
    offending = next((s for s in scopes if not s.endswith("/.default")), None)
    if offending is not None:
        return _fail(1002012, now, "scope-not-default", scope=offending[:512])
    if len(scopes) != 1:
        return _fail(70011, now, "invalid-scope", scope=scope[:512])
    split = _resource_of(scopes[0])
    resource = split[0] if split else ""
    if resource not in _API_OF_RESOURCE:
        return _fail(500011, now, "unknown-resource", resource=scopes[0][: -len("/.default")][:512],
                     tenant_name=scenario.name)
    # Without admin consent Entra still issues the token, just without the roles: SMTP fails later.
    roles = _granted(app, resource, "Application")
    return TokenDecision(grant=AppGrant(app.app_id, app.display_name, app.enterprise_object_id, resource, roles))


def _password(scenario: TenantScenario, app: AppRegistration, params: Mapping[str, str], now: datetime, *,
              confidential: bool) -> TokenDecision:
    scope = params["scope"]
    words = scope.split()
    resources: dict[str, list[str]] = {}
    for word in words:
        if word in _OIDC_SCOPES:
            continue
        split = _resource_of(word)
        # An unqualified permission (e.g. "SMTP.Send") means Microsoft Graph, as in Entra.
        resource, permission = split if split is not None else (GRAPH_RESOURCE, word)
        resources.setdefault(resource, []).append(permission)
    if len(resources) > 1:
        return _fail(28000, now, "several-resources", scope=scope[:512])
    user = scenario.recipient(params["username"])
    if user is None or user.type == "DistributionGroup":
        return _fail(50034, now, "unknown-user", tenant_id=scenario.tenant_id)
    if user.password is None or not hmac.compare_digest(params["password"].encode("utf-8", "surrogatepass"),
                                                        user.password.encode("utf-8")):
        return _fail(50126, now, "wrong-password")
    if user.type == "SharedMailbox":
        return _fail(50057, now, "account-disabled")
    if user.mfa_required:
        return _fail(50076, now, "mfa-required")
    if not resources:
        return _fail(70011, now, "invalid-scope", scope=scope[:512])
    ((resource, permissions),) = resources.items()
    if resource not in _API_OF_RESOURCE:
        return _fail(500011, now, "unknown-resource", resource=resource[:512], tenant_name=scenario.name)
    granted = _granted(app, resource, "Delegated")
    wanted = tuple(granted) if permissions == [".default"] else tuple(permissions)
    if not wanted or any(p not in granted for p in wanted):
        return _fail(65001, now, "no-consent", client_id=app.app_id, app_name=app.display_name)
    refresh = "offline_access" in words
    response_scope = " ".join([f"{resource}/{p}" for p in wanted] + (["offline_access"] if refresh else []))
    return TokenDecision(grant=UserGrant(app.app_id, app.display_name, user.address, user.display_name, resource,
                                         wanted, response_scope, refresh, confidential))
