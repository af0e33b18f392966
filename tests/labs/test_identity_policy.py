"""Microsoft Entra token-endpoint rules (pure): grants, and the exact AADSTS answer for each mistake."""

from __future__ import annotations

import copy
import re
import string
from datetime import UTC, datetime
from typing import Any

import pytest

from labs.tenant.policy.identity import (
    AADSTS,
    AppGrant,
    TokenDecision,
    TokenError,
    UserGrant,
    aadsts_error,
    names_tenant,
    request_error,
    tenant_error,
    token_request,
)
from labs.tenant.scenario import TenantScenario
from tests.labs.conftest import load_contoso

TID = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
PORTAL = "3e7a91c4-2f6d-4b8e-a1c9-5d0f7e2b6a13"
PORTAL_SECRET = "Qx7~mP2vR9sL4tW8yZ1cF6hJ3kN5bD0gA"
PORTAL_SECRET_ID = "5a8c3e1f-9d27-4b64-8f0a-7c2e6d1b4a93"
PORTAL_SP = "c4f2a8e1-7d39-4b6c-9a15-e8d3f0b27c5a"
ERP = "7c2b5d8e-1a4f-4e93-b6c0-3d9f8a2e5b71"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EXO_DEFAULT = "https://outlook.office365.com/.default"
SMTP_SEND = "https://outlook.office.com/SMTP.Send"


@pytest.fixture(scope="module")
def contoso() -> TenantScenario:
    return load_contoso()


def cc(**fields: str) -> dict[str, list[str]]:
    """A client-credentials form for the portal app, with fields replaced or removed (value None)."""
    base = {"grant_type": "client_credentials", "client_id": PORTAL, "client_secret": PORTAL_SECRET,
            "scope": EXO_DEFAULT}
    base.update(fields)
    return {k: [v] for k, v in base.items() if v is not None}


def ropc(**fields: str | None) -> dict[str, list[str]]:
    """A password-grant form for the ERP app and its service mailbox."""
    base: dict[str, str | None] = {"grant_type": "password", "client_id": ERP, "username": "erp-notify@contoso.com",
                                   "password": "Ledger-Falcon-77", "scope": SMTP_SEND}
    base.update(fields)
    return {k: [v] for k, v in base.items() if v is not None}


def decide(scenario: TenantScenario, form: dict[str, list[str]], tenant: str = TID, now: datetime = NOW,
           **kw: Any) -> TokenDecision:
    return token_request(scenario, form, tenant, now, **kw)


def error_of(decision: TokenDecision) -> TokenError:
    assert decision.error is not None, f"expected an error, got {decision.grant}"
    assert decision.grant is None and decision.kind == "error"
    return decision.error


def with_changes(scenario: TenantScenario, **changes: Any) -> TenantScenario:
    return load_contoso(**changes) if changes else scenario


# -- client credentials: success ---------------------------------------------------------------------

@pytest.mark.parametrize("tenant", [
    TID,                              # the tenant GUID
    TID.upper(),                      # GUIDs are case-insensitive
    "contoso.onmicrosoft.com",        # the initial domain
    "contoso.com",                    # an accepted domain
    "Legacy.Contoso.com",             # another accepted domain, any case
])
def test_client_credentials_issue_an_app_token_for_every_name_of_the_tenant(contoso: TenantScenario,
                                                                            tenant: str) -> None:
    decision = decide(contoso, cc(), tenant)
    assert decision.kind == "app" and decision.status == 200 and decision.reason == "issued"
    assert decision.grant == AppGrant(app_id=PORTAL, app_name="Contoso Portal Mailer", service_principal_id=PORTAL_SP,
                                      audience="https://outlook.office.com", roles=("SMTP.SendAsApp",))


@pytest.mark.parametrize("scope", [
    "https://outlook.office365.com/.default",
    "https://outlook.office.com/.default",
    "00000002-0000-0ff1-ce00-000000000000/.default",
    "HTTPS://OUTLOOK.OFFICE365.COM/.default",
])
def test_every_exchange_online_resource_identifier_is_accepted(contoso: TenantScenario, scope: str) -> None:
    grant = decide(contoso, cc(scope=scope)).grant
    assert isinstance(grant, AppGrant) and grant.audience == "https://outlook.office.com"


def test_without_admin_consent_the_token_is_issued_without_roles(contoso: TenantScenario) -> None:
    scenario = with_changes(contoso, app_registrations=[{"app_id": PORTAL, "admin_consent": False}])
    grant = decide(scenario, cc()).grant
    assert isinstance(grant, AppGrant) and grant.roles == ()


def test_a_graph_scope_gets_a_graph_token_that_smtp_will_refuse(contoso: TenantScenario) -> None:
    grant = decide(contoso, cc(scope="https://graph.microsoft.com/.default")).grant
    assert isinstance(grant, AppGrant)
    assert grant.audience == "https://graph.microsoft.com" and grant.roles == ()


def test_graph_application_permissions_become_graph_roles(contoso: TenantScenario) -> None:
    perms = [{"api": "Office 365 Exchange Online", "name": "SMTP.SendAsApp", "type": "Application"},
             {"api": "Microsoft Graph", "name": "Mail.Send", "type": "Application"}]
    scenario = with_changes(contoso, app_registrations=[{"app_id": PORTAL, "permissions": perms}])
    assert decide(scenario, cc(scope="https://graph.microsoft.com/.default")).grant.roles == ("Mail.Send",)  # type: ignore[union-attr]
    assert decide(scenario, cc()).grant.roles == ("SMTP.SendAsApp",)  # type: ignore[union-attr]


def test_client_secret_in_http_basic_is_accepted(contoso: TenantScenario) -> None:
    form = cc(client_id=None, client_secret=None)  # type: ignore[arg-type]
    decision = decide(contoso, form, client_auth=(PORTAL, PORTAL_SECRET))
    assert decision.kind == "app"


def test_unknown_parameters_are_ignored(contoso: TenantScenario) -> None:
    form = {**cc(), "client_info": ["1"], "x-client-SKU": ["MSAL.Python"]}
    assert decide(contoso, form).kind == "app"


# -- client credentials: errors ---------------------------------------------------------------------

SECRET_MSG = ("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
              f"not the client secret ID, for a secret added to app '{PORTAL}'.")


@pytest.mark.parametrize("form, tenant, code, status, error, reason, message", [
    # tenant in the path
    (cc(), "not a tenant", 900023, 400, "invalid_request", "invalid-tenant",
     "Specified tenant identifier 'not a tenant' is neither a valid DNS name, nor a valid external domain."),
    (cc(), "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5", 900023, 400, "invalid_request", "invalid-tenant",
     "Specified tenant identifier '8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5' is neither a valid DNS name, nor a valid "
     "external domain."),                                  # one digit short: not a GUID
    (cc(), "11111111-2222-3333-4444-555555555555", 90002, 400, "invalid_request", "unknown-tenant", None),
    (cc(), "fabrikam.com", 90002, 400, "invalid_request", "unknown-tenant", None),
    (cc(), "common", 50194, 400, "invalid_request", "single-tenant-app-on-common", None),
    (cc(), "organizations", 50194, 400, "invalid_request", "single-tenant-app-on-common", None),
    # request format
    (cc(grant_type=None), TID, 900144, 400, "invalid_request", "missing-parameter",  # type: ignore[arg-type]
     "The request body must contain the following parameter: 'grant_type'."),
    (cc(client_id=None), TID, 900144, 400, "invalid_request", "missing-parameter",  # type: ignore[arg-type]
     "The request body must contain the following parameter: 'client_id'."),
    (cc(scope=None), TID, 900144, 400, "invalid_request", "missing-parameter",  # type: ignore[arg-type]
     "The request body must contain the following parameter: 'scope'."),
    (cc(scope=""), TID, 900144, 400, "invalid_request", "missing-parameter",  # an empty value counts as missing
     "The request body must contain the following parameter: 'scope'."),
    (cc(grant_type="authorization_code"), TID, 70003, 400, "unsupported_grant_type", "unsupported-grant-type",
     "The app requested an unsupported grant type 'authorization_code'."),
    # the client
    (cc(client_id="00000000-1111-2222-3333-444444444444"), TID, 700016, 400, "unauthorized_client", "unknown-client",
     "Application with identifier '00000000-1111-2222-3333-444444444444' was not found in the directory 'Contoso "
     "Ltd'. This can happen if the application has not been installed by the administrator of the tenant or "
     "consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
    (cc(client_secret=None), TID, 7000218, 401, "invalid_client", "no-client-secret",  # type: ignore[arg-type]
     "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    (cc(client_secret="not-the-secret"), TID, 7000215, 401, "invalid_client", "wrong-secret", SECRET_MSG),
    (cc(client_secret=PORTAL_SECRET_ID), TID, 7000215, 401, "invalid_client", "secret-id-instead-of-value",
     SECRET_MSG),
    (cc(client_secret=PORTAL_SECRET + " "), TID, 7000215, 401, "invalid_client", "wrong-secret", SECRET_MSG),
    # the scope
    (cc(scope="https://outlook.office365.com/SMTP.SendAsApp"), TID, 1002012, 400, "invalid_scope",
     "scope-not-default",
     "The provided value for scope https://outlook.office365.com/SMTP.SendAsApp is not valid. Client credential "
     "flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
    (cc(scope="SMTP.SendAsApp"), TID, 1002012, 400, "invalid_scope", "scope-not-default", None),
    (cc(scope=f"{EXO_DEFAULT} offline_access"), TID, 1002012, 400, "invalid_scope", "scope-not-default", None),
    (cc(scope=f"{EXO_DEFAULT} https://graph.microsoft.com/.default"), TID, 70011, 400, "invalid_scope",
     "invalid-scope", None),
    (cc(scope="https://smtp.office365.com/.default"), TID, 500011, 400, "invalid_resource", "unknown-resource",
     "The resource principal named https://smtp.office365.com was not found in the tenant named Contoso Ltd. This "
     "can happen if the application has not been installed by the administrator of the tenant or consented to by any "
     "user in the tenant. You might have sent your authentication request to the wrong tenant."),
])
def test_client_credentials_errors(contoso: TenantScenario, form: dict[str, list[str]], tenant: str, code: int,
                                   status: int, error: str, reason: str, message: str | None) -> None:
    err = error_of(decide(contoso, form, tenant))
    assert (err.code, err.status, err.error, err.reason) == (code, status, error, reason)
    if message is not None:
        assert err.message == message
    assert err.text.startswith(f"AADSTS{code}: ")


def test_unknown_tenant_message_names_the_tenant_asked_for(contoso: TenantScenario) -> None:
    err = error_of(decide(contoso, cc(), "11111111-2222-3333-4444-555555555555"))
    assert err.message.startswith("Tenant '11111111-2222-3333-4444-555555555555' not found. Check to make sure you "
                                  "have the correct tenant ID and are signing into the correct cloud.")


def test_an_expired_secret_is_aadsts7000222(contoso: TenantScenario) -> None:
    after_expiry = datetime(2027, 7, 1, tzinfo=UTC)
    err = error_of(decide(contoso, cc(), now=after_expiry))
    assert (err.code, err.status, err.error, err.reason) == (7000222, 401, "invalid_client", "secret-expired")
    assert err.message.startswith(f"The provided client secret keys for app '{PORTAL}' are expired.")
    assert decide(contoso, cc(), now=datetime(2027, 6, 29, tzinfo=UTC)).kind == "app"


def test_a_second_current_secret_still_works_when_the_first_expired(contoso: TenantScenario) -> None:
    secrets = [{"id": PORTAL_SECRET_ID, "value": PORTAL_SECRET, "expires": "2026-01-01T00:00:00Z"},
               {"id": "6b9d4f20-0e38-4c75-9a1b-8d3f7e2c5b04", "value": "New~Secret~Value~1234", "expires": None}]
    scenario = with_changes(contoso, app_registrations=[{"app_id": PORTAL, "secrets": secrets}])
    assert error_of(decide(scenario, cc())).code == 7000222
    assert decide(scenario, cc(client_secret="New~Secret~Value~1234")).kind == "app"


@pytest.mark.parametrize("name", ["client_id", "client_secret", "scope", "grant_type"])
def test_a_repeated_parameter_is_aadsts9000411(contoso: TenantScenario, name: str) -> None:
    form = cc()
    form[name] = form[name] * 2
    err = error_of(decide(contoso, form))
    assert (err.code, err.error, err.reason) == (9000411, "invalid_request", "repeated-parameter")
    assert err.message == f"The request is not properly formatted. The parameter '{name}' is duplicated."


def test_secret_both_in_basic_and_in_the_body_is_refused(contoso: TenantScenario) -> None:
    err = error_of(decide(contoso, cc(), client_auth=(PORTAL, PORTAL_SECRET)))
    assert err.code == 9000411


def test_basic_auth_with_a_wrong_secret_is_7000215(contoso: TenantScenario) -> None:
    form = cc(client_secret=None)  # type: ignore[arg-type]
    assert error_of(decide(contoso, form, client_auth=(PORTAL, "wrong"))).code == 7000215


def test_unknown_client_id_on_another_tenant_name_shows_that_name(contoso: TenantScenario) -> None:
    err = error_of(decide(contoso, cc(client_id="nope"), "contoso.com"))
    assert "was not found in the directory 'Contoso Ltd'" in err.message


# -- resource-owner password (delegated SMTP.Send) ---------------------------------------------------------

def test_password_grant_issues_a_delegated_smtp_send_token(contoso: TenantScenario) -> None:
    decision = decide(contoso, ropc())
    assert decision.kind == "user"
    assert decision.grant == UserGrant(app_id=ERP, app_name="Contoso ERP Connector", address="erp-notify@contoso.com",
                                       display_name="ERP notifications", audience="https://outlook.office.com",
                                       scopes=("SMTP.Send",), response_scope=SMTP_SEND, refresh_token=False,
                                       confidential=False)


@pytest.mark.parametrize("scope, response_scope, refresh", [
    (SMTP_SEND, SMTP_SEND, False),
    ("https://outlook.office365.com/SMTP.Send", SMTP_SEND, False),
    (f"{SMTP_SEND} offline_access", f"{SMTP_SEND} offline_access", True),
    (f"openid profile offline_access {SMTP_SEND}", f"{SMTP_SEND} offline_access", True),
    ("https://outlook.office365.com/.default", SMTP_SEND, False),
])
def test_password_grant_scopes(contoso: TenantScenario, scope: str, response_scope: str, refresh: bool) -> None:
    grant = decide(contoso, ropc(scope=scope)).grant
    assert isinstance(grant, UserGrant)
    assert (grant.scopes, grant.response_scope, grant.refresh_token) == (("SMTP.Send",), response_scope, refresh)


def test_username_is_matched_case_insensitively_and_by_alias(contoso: TenantScenario) -> None:
    assert decide(contoso, ropc(username="ERP-Notify@Contoso.com")).kind == "user"
    scenario = with_changes(contoso, recipients=[{"address": "erp-notify@contoso.com",
                                                  "aliases": ["erp@contoso.com"]}])
    grant = decide(scenario, ropc(username="erp@contoso.com")).grant
    assert isinstance(grant, UserGrant) and grant.address == "erp-notify@contoso.com"


@pytest.mark.parametrize("changes, form, code, error, reason, suberror", [
    ({}, ropc(password="wrong"), 50126, "invalid_grant", "wrong-password", None),
    ({}, ropc(username="adele.vance@contoso.com", password="Ledger-Falcon-77"), 50126, "invalid_grant",
     "wrong-password", None),
    ({}, ropc(username="alex.wilber@contoso.com"), 50126, "invalid_grant", "wrong-password", None),  # no password set
    ({}, ropc(username="nobody@contoso.com"), 50034, "invalid_grant", "unknown-user", None),
    ({}, ropc(username="it-alerts@contoso.com"), 50034, "invalid_grant", "unknown-user", None),  # a group
    ({"recipients": [{"address": "erp-notify@contoso.com", "mfa_required": True}]}, ropc(), 50076, "invalid_grant",
     "mfa-required", "basic_action"),
    ({"recipients": [{"address": "helpdesk@contoso.com", "password": "Shared-Box-123"}]},
     ropc(username="helpdesk@contoso.com", password="Shared-Box-123"), 50057, "invalid_grant", "account-disabled",
     None),
    ({"app_registrations": [{"app_id": ERP, "public_client": False}]}, ropc(), 7000218, "invalid_client",
     "not-public-client", None),
    ({"app_registrations": [{"app_id": ERP, "admin_consent": False}]}, ropc(), 65001, "invalid_grant", "no-consent",
     "consent_required"),
    ({"app_registrations": [{"app_id": ERP, "permissions": []}]}, ropc(), 65001, "invalid_grant", "no-consent",
     "consent_required"),
    ({}, ropc(scope="SMTP.Send"), 65001, "invalid_grant", "no-consent", "consent_required"),  # bare: Microsoft Graph
    ({}, ropc(scope="openid offline_access"), 70011, "invalid_scope", "invalid-scope", None),
    ({}, ropc(scope=f"{SMTP_SEND} https://graph.microsoft.com/User.Read"), 28000, "invalid_scope",
     "several-resources", None),
    ({}, ropc(scope="api://contoso-erp/Mail.Send"), 500011, "invalid_resource", "unknown-resource", None),
    ({}, ropc(username=None), 900144, "invalid_request", "missing-parameter", None),
    ({}, ropc(password=None), 900144, "invalid_request", "missing-parameter", None),
    ({}, ropc(scope=None), 900144, "invalid_request", "missing-parameter", None),
])
def test_password_grant_errors(contoso: TenantScenario, changes: dict[str, Any], form: dict[str, list[str]],
                               code: int, error: str, reason: str, suberror: str | None) -> None:
    err = error_of(decide(with_changes(contoso, **changes), form))
    assert (err.code, err.error, err.reason, err.suberror) == (code, error, reason, suberror)
    assert err.status == (401 if error == "invalid_client" else 400)


def test_mfa_message_names_exchange_online(contoso: TenantScenario) -> None:
    scenario = with_changes(contoso, recipients=[{"address": "erp-notify@contoso.com", "mfa_required": True}])
    assert error_of(decide(scenario, ropc())).message == (
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must "
        "use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.")


def test_wrong_password_is_checked_before_mfa(contoso: TenantScenario) -> None:
    """Entra asks for MFA only once the password is right: a wrong one stays 50126."""
    scenario = with_changes(contoso, recipients=[{"address": "erp-notify@contoso.com", "mfa_required": True}])
    assert error_of(decide(scenario, ropc(password="wrong"))).code == 50126


def test_unknown_user_message_hides_the_address(contoso: TenantScenario) -> None:
    err = error_of(decide(contoso, ropc(username="nobody@contoso.com")))
    assert err.message == (f"The user account {{EmailHidden}} does not exist in the '{TID}' directory. To sign into "
                           "this application, the account must be added to the directory.")
    assert "nobody" not in err.message


def test_consent_message_names_the_app(contoso: TenantScenario) -> None:
    scenario = with_changes(contoso, app_registrations=[{"app_id": ERP, "admin_consent": False}])
    assert error_of(decide(scenario, ropc())).message == (
        f"The user or administrator has not consented to use the application with ID '{ERP}' named 'Contoso ERP "
        "Connector'. Send an interactive authorization request for this user and resource.")


def test_confidential_client_may_use_the_password_grant_with_its_secret(contoso: TenantScenario) -> None:
    perms = [{"api": "Office 365 Exchange Online", "name": "SMTP.Send", "type": "Delegated"}]
    scenario = with_changes(contoso, app_registrations=[{"app_id": PORTAL, "permissions": perms}])
    grant = decide(scenario, ropc(client_id=PORTAL, client_secret=PORTAL_SECRET)).grant
    assert isinstance(grant, UserGrant) and grant.confidential
    assert error_of(decide(scenario, ropc(client_id=PORTAL, client_secret="wrong"))).code == 7000215
    assert error_of(decide(scenario, ropc(client_id=PORTAL))).code == 7000218


def test_portal_app_has_no_delegated_permission(contoso: TenantScenario) -> None:
    assert error_of(decide(contoso, ropc(client_id=PORTAL, client_secret=PORTAL_SECRET))).code == 65001


# -- the JSON body ------------------------------------------------------------------------------------

def test_error_body_has_entras_exact_shape(contoso: TenantScenario) -> None:
    err = error_of(decide(contoso, cc(client_secret="wrong")))
    trace, corr = "0b8c9d2e-1f3a-4b5c-8d6e-7f8091a2b3c4", "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4"
    body = err.body(trace_id=trace, correlation_id=corr)
    assert list(body) == ["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
                          "error_uri"]
    assert body["error"] == "invalid_client"
    assert body["error_description"] == (f"AADSTS7000215: {SECRET_MSG}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}"
                                         "\r\nTimestamp: 2026-11-26 09:00:00Z")
    assert body["error_codes"] == [7000215]
    assert body["timestamp"] == "2026-11-26 09:00:00Z"
    assert (body["trace_id"], body["correlation_id"]) == (trace, corr)
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=7000215"


def test_suberror_is_in_the_body_when_entra_sends_one(contoso: TenantScenario) -> None:
    scenario = with_changes(contoso, app_registrations=[{"app_id": ERP, "admin_consent": False}])
    body = error_of(decide(scenario, ropc())).body(trace_id="t", correlation_id="c")
    assert body["suberror"] == "consent_required"


def test_codeless_request_errors_have_the_same_shape_without_a_code() -> None:
    err = request_error(NOW, "The request body is larger than 65536 bytes.", "body-too-large", status=413)
    body = err.body(trace_id="t", correlation_id="c")
    assert body["error_codes"] == [] and "error_uri" not in body and body["error"] == "invalid_request"
    assert body["error_description"].startswith("The request body is larger than 65536 bytes.\r\nTrace ID: t")
    assert err.status == 413


@pytest.mark.parametrize("form", [
    cc(client_secret="S3cret-Guess-Number-1"),
    ropc(password="My-Wrong-Password-9"),
])
def test_no_secret_or_password_is_echoed_in_an_error(contoso: TenantScenario, form: dict[str, list[str]]) -> None:
    err = error_of(decide(contoso, form))
    text = repr(err.body(trace_id="t", correlation_id="c")) + repr(err)
    assert "S3cret-Guess-Number-1" not in text and "My-Wrong-Password-9" not in text
    assert PORTAL_SECRET not in text and "Ledger-Falcon-77" not in text


def test_the_aadsts_table_is_complete_and_well_formed() -> None:
    fields = {"tenant", "tenant_name", "tenant_id", "client_id", "app_name", "scope", "parameter", "grant_type",
              "resource", "method"}
    for code, (status, error, template) in AADSTS.items():
        assert status in (400, 401) and re.fullmatch(r"[a-z_]+", error)
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        assert names <= fields, (code, names)
        text = aadsts_error(code, NOW, "x", **{f: f"<{f}>" for f in names}).text
        assert text.startswith(f"AADSTS{code}: ") and text.endswith(".")
    for required in (900023, 90002, 700016, 7000215, 7000222, 1002012, 900144, 70003, 50126, 50076, 7000218, 65001):
        assert required in AADSTS


def test_decisions_are_pure(contoso: TenantScenario) -> None:
    form = cc()
    before = copy.deepcopy(form)
    first, second = decide(contoso, form), decide(contoso, form)
    assert first == second and form == before
    assert decide(contoso, cc(client_secret="x")) == decide(contoso, cc(client_secret="x"))


def test_tenant_helpers(contoso: TenantScenario) -> None:
    assert names_tenant(contoso, " CONTOSO.COM ") and not names_tenant(contoso, "fabrikam.com")
    assert tenant_error(contoso, "contoso.onmicrosoft.com", NOW) is None
    assert tenant_error(contoso, "common", NOW) is None  # the token endpoint decides what common means
    err = tenant_error(contoso, "x" * 5000, NOW)
    assert err is not None and err.code == 900023 and len(err.message) < 400  # hostile input is clipped
