"""The token issuer on a real loopback socket: aiohttp, urllib, curl and MSAL as clients."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from labs.tenant.clock import FrozenClock
from labs.tenant.oauth import MAX_BODY_BYTES, TokenIssuer
from labs.tenant.pki import Pki
from labs.tenant.scenario import TenantScenario
from labs.tenant.tokens import verify_token
from tests.labs.conftest import load_contoso

TID = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
PORTAL = "3e7a91c4-2f6d-4b8e-a1c9-5d0f7e2b6a13"
PORTAL_SECRET = "Qx7~mP2vR9sL4tW8yZ1cF6hJ3kN5bD0gA"
PORTAL_SP = "c4f2a8e1-7d39-4b6c-9a15-e8d3f0b27c5a"
ERP = "7c2b5d8e-1a4f-4e93-b6c0-3d9f8a2e5b71"
ERP_USER, ERP_PASSWORD = "erp-notify@contoso.com", "Ledger-Falcon-77"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EXO_DEFAULT = "https://outlook.office365.com/.default"
TIMEOUT = aiohttp.ClientTimeout(total=30)  # a safety net against a hang, not a timing assertion


class Running:
    """A started issuer with a swappable scenario, and an HTTP client pointed at it."""

    def __init__(self, issuer: TokenIssuer, pki: Pki, holder: list[TenantScenario], http: aiohttp.ClientSession,
                 clock: FrozenClock) -> None:
        self.issuer, self.pki, self.holder, self.http, self.clock = issuer, pki, holder, http, clock

    @property
    def scenario(self) -> TenantScenario:
        return self.holder[0]

    async def post(self, form: dict[str, str] | list[tuple[str, str]] | bytes | str, *, path: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Any]:
        url = self.issuer.base_url + path if path else self.issuer.token_url
        data: Any = form if isinstance(form, bytes | str) else urllib.parse.urlencode(form)
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        async with self.http.post(url, data=data, headers=hdrs) as response:
            text = await response.text()
            return response.status, json.loads(text), response.headers

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.issuer.base_url + path) as response:
            return response.status, json.loads(await response.text())


def cc(**fields: str) -> dict[str, str]:
    base = {"grant_type": "client_credentials", "client_id": PORTAL, "client_secret": PORTAL_SECRET,
            "scope": EXO_DEFAULT}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PKI folder for the module: each test loads it afresh (RSA keys are generated once)."""
    folder = tmp_path_factory.mktemp("issuer") / "pki"
    Pki(folder).jwt_key()
    return folder


@pytest.fixture
async def running(pki_dir: Path) -> AsyncIterator[Running]:
    holder = [load_contoso()]
    pki = Pki(pki_dir)
    clock = FrozenClock(NOW)
    issuer = TokenIssuer(lambda: holder[0], pki, clock)
    await issuer.start()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        yield Running(issuer, pki, holder, http, clock)
    await issuer.stop()


def verify(r: Running, token: str) -> Any:
    return verify_token(token, keys=r.pki.verification_keys(), tenant_id=TID, now=r.clock.now())


# -- issuing ----------------------------------------------------------------------------------------------

async def test_client_credentials_token_over_a_real_socket(running: Running) -> None:
    assert running.issuer.token_url == f"http://127.0.0.1:{running.issuer.port}/{TID}/oauth2/v2.0/token"
    status, body, headers = await running.post(cc())
    assert status == 200
    assert list(body) == ["token_type", "expires_in", "ext_expires_in", "access_token"]
    assert body["token_type"] == "Bearer"
    assert 3599 <= body["expires_in"] <= 5399 and body["ext_expires_in"] == body["expires_in"]
    check = verify(running, body["access_token"])
    assert check.ok and check.claims["roles"] == ["SMTP.SendAsApp"] and check.claims["oid"] == PORTAL_SP
    assert "no-store" in headers["Cache-Control"] and headers["Content-Type"].startswith("application/json")
    assert running.issuer.issued == 1


async def test_client_secret_in_http_basic(running: Running) -> None:
    basic = base64.b64encode(f"{PORTAL}:{urllib.parse.quote_plus(PORTAL_SECRET)}".encode()).decode()
    status, body, _ = await running.post(cc(client_id=None, client_secret=None),  # type: ignore[arg-type]
                                         headers={"Authorization": f"Basic {basic}"})
    assert status == 200 and verify(running, body["access_token"]).ok


async def test_password_grant_returns_scope_and_a_refresh_token(running: Running) -> None:
    form = {"grant_type": "password", "client_id": ERP, "username": ERP_USER, "password": ERP_PASSWORD,
            "scope": "https://outlook.office.com/SMTP.Send offline_access"}
    status, body, _ = await running.post(form)
    assert status == 200
    assert body["scope"] == "https://outlook.office.com/SMTP.Send offline_access"
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) > 40
    claims = verify(running, body["access_token"]).claims
    assert claims["scp"] == "SMTP.Send" and claims["upn"] == ERP_USER
    status, body, _ = await running.post({**form, "scope": "https://outlook.office.com/SMTP.Send"})
    assert status == 200 and "refresh_token" not in body


async def test_the_scenario_is_read_on_every_request(running: Running) -> None:
    """An admin change (consent revoked) applies to the very next token."""
    assert verify(running, (await running.post(cc()))[1]["access_token"]).claims["roles"] == ["SMTP.SendAsApp"]
    running.holder[0] = load_contoso(app_registrations=[{"app_id": PORTAL, "admin_consent": False}])
    claims = verify(running, (await running.post(cc()))[1]["access_token"]).claims
    assert "roles" not in claims


async def test_the_tenant_clock_decides_secret_expiry_and_token_times(running: Running) -> None:
    running.clock.advance(250 * 86400)  # 2027-08: the portal secret expired at the end of June 2027
    status, body, _ = await running.post(cc())
    assert status == 401 and body["error_codes"] == [7000222]
    assert body["timestamp"].startswith("2027-08-")


# -- AADSTS errors on the wire -------------------------------------------------------------------------------

@pytest.mark.parametrize("form, path, status, code, error", [
    (cc(client_secret="wrong"), None, 401, 7000215, "invalid_client"),
    (cc(client_secret="5a8c3e1f-9d27-4b64-8f0a-7c2e6d1b4a93"), None, 401, 7000215, "invalid_client"),  # secret ID
    (cc(client_id="00000000-0000-0000-0000-000000000001"), None, 400, 700016, "unauthorized_client"),
    (cc(scope="https://outlook.office365.com/SMTP.SendAsApp"), None, 400, 1002012, "invalid_scope"),
    (cc(grant_type=None), None, 400, 900144, "invalid_request"),  # type: ignore[arg-type]
    (cc(grant_type="refresh_token"), None, 400, 70003, "unsupported_grant_type"),
    (cc(), "/contoso.cm/oauth2/v2.0/token", 400, 90002, "invalid_request"),
    (cc(), "/not_a_tenant/oauth2/v2.0/token", 400, 900023, "invalid_request"),
    (cc(), "/contoso.com/oauth2/v2.0/token", 200, None, None),
])
async def test_errors_are_entras_json(running: Running, form: dict[str, str], path: str | None, status: int,
                                      code: int | None, error: str | None) -> None:
    got_status, body, headers = await running.post(form, path=path)
    assert got_status == status
    if code is None:
        assert "access_token" in body
        return
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    assert headers["x-ms-request-id"] == body["trace_id"]


async def test_client_request_id_is_echoed_as_the_correlation_id(running: Running) -> None:
    corr = "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"
    status, body, headers = await running.post(cc(client_secret="wrong"), headers={"client-request-id": corr})
    assert status == 401 and body["correlation_id"] == corr and headers["client-request-id"] == corr
    assert f"Correlation ID: {corr}" in body["error_description"]
    _, body, _ = await running.post(cc(client_secret="wrong"), headers={"client-request-id": "<script>"})
    assert body["correlation_id"] != "<script>"


async def test_repeated_fields_are_refused(running: Running) -> None:
    form = [*cc().items(), ("client_secret", PORTAL_SECRET)]
    status, body, _ = await running.post(form)
    assert status == 400 and body["error_codes"] == [9000411]


async def test_get_on_the_token_endpoint_is_900561(running: Running) -> None:
    status, body = await running.get(f"/{TID}/oauth2/v2.0/token?{urllib.parse.urlencode(cc())}")
    assert status == 400 and body["error_codes"] == [900561]
    assert "Received a GET request" in body["error_description"]


# -- hostile requests --------------------------------------------------------------------------------------

async def test_huge_body_is_413_json(running: Running) -> None:
    big = urllib.parse.urlencode({**cc(), "padding": "x" * (MAX_BODY_BYTES + 10)})
    status, body, _ = await running.post(big)
    assert status == 413 and body["error"] == "invalid_request" and body["error_codes"] == []


async def test_huge_chunked_body_without_a_length_is_413_json(running: Running) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield urllib.parse.urlencode(cc()).encode() + b"&padding="
        for _ in range(20):
            yield b"y" * 8192

    async with running.http.post(running.issuer.token_url, data=chunks(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert response.status == 413
        assert (await response.json())["error"] == "invalid_request"


@pytest.mark.parametrize("body", [
    b"grant_type=client_credentials&client_id=\xff\xfe\xfd",    # raw bytes that are not UTF-8
    b"grant_type=client_credentials&client_id=%FF%FE%FD",       # percent-encoded bytes that are not UTF-8
])
async def test_non_utf8_body_is_a_json_400(running: Running, body: bytes) -> None:
    status, answer, _ = await running.post(body)
    assert status == 400 and answer["error"] == "invalid_request"
    assert "UTF-8" in answer["error_description"]


async def test_json_body_has_no_form_parameters(running: Running) -> None:
    async with running.http.post(running.issuer.token_url, json=cc()) as response:
        body = await response.json()
    assert response.status == 400 and body["error_codes"] == [900144]
    assert "'grant_type'" in body["error_description"]


@pytest.mark.parametrize("header", ["Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                                    "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode()])
async def test_malformed_basic_authorization_is_a_json_401(running: Running, header: str) -> None:
    status, body, _ = await running.post(cc(client_secret=None), headers={"Authorization": header})  # type: ignore[arg-type]
    assert status == 401 and body["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/", "/%2e%2e/%2e%2e/etc/passwd", f"/{TID}/oauth2/v2.0/authorize",
                                  f"/{TID}/oauth2/token/extra"])
async def test_unknown_paths_are_json_404(running: Running, path: str) -> None:
    status, body = await running.get(path)
    assert status == 404 and body["error"] == "not_found"


async def test_many_fields_and_odd_values_never_produce_a_traceback(running: Running) -> None:
    many = "&".join(f"f{i}=v" for i in range(500))
    for body in (many, "&&&==&=", "grant_type", "%", "grant_type=client_credentials&scope=" + "%20" * 5000,
                 "\x00\x01\x02"):
        status, answer, _ = await running.post(body)
        assert status in (400, 401) and "error" in answer and "Traceback" not in json.dumps(answer)
    status, answer, _ = await running.post(many)
    assert "at most 200 parameters" in answer["error_description"]


async def test_nothing_secret_is_logged_or_echoed(running: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, good, _ = await running.post(cc())
    _, bad, _ = await running.post(cc(client_secret="My-Typo-Secret-42"))
    await running.post({"grant_type": "password", "client_id": ERP, "username": ERP_USER,
                        "password": "Wrong-Password-77", "scope": "https://outlook.office.com/SMTP.Send"})
    secrets_seen = (PORTAL_SECRET, "My-Typo-Secret-42", "Wrong-Password-77", good["access_token"])
    for secret in secrets_seen:
        assert secret not in caplog.text
        assert secret not in json.dumps(bad)
        assert secret not in repr(list(running.issuer.events))
    assert not [r for r in caplog.records if r.name.startswith("aiohttp.access")]
    assert [e.reason for e in running.issuer.events] == ["issued", "wrong-secret", "wrong-password"]


@pytest.mark.parametrize("raw", [
    b"POST /t/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Qx7~mP2v\x01SECRET-IN-HEADER\r\n\r\n",
    b"POST /t/oauth2/v2.0/token?client_secret=SECRET-IN-HEADER HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"\x16\x03\x01SECRET-IN-HEADER\r\n\r\n",                     # TLS on the plain-HTTP port
    b"GET /" + b"a" * 20000 + b"SECRET-IN-HEADER HTTP/1.1\r\n\r\n",
], ids=["control-char-in-header", "negative-length", "tls-on-http", "line-too-long"])
async def test_malformed_http_gets_400_and_is_never_logged(running: Running, caplog: pytest.LogCaptureFixture,
                                                          raw: bytes) -> None:
    """aiohttp logs unparsable requests at ERROR with the offending bytes; the issuer silences that."""
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection("127.0.0.1", running.issuer.port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), 30)
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n", 1)[0]
    assert "SECRET-IN-HEADER" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- discovery and keys ------------------------------------------------------------------------------------

async def test_openid_configuration_points_back_at_the_issuer(running: Running) -> None:
    for tenant in (TID, "contoso.onmicrosoft.com", "contoso.com"):
        status, doc = await running.get(f"/{tenant}/v2.0/.well-known/openid-configuration")
        assert status == 200
        assert doc["token_endpoint"] == running.issuer.token_url
        assert doc["jwks_uri"] == f"{running.issuer.base_url}/{TID}/discovery/v2.0/keys"
        assert doc["issuer"] == f"https://login.microsoftonline.com/{TID}/v2.0"
    status, v1 = await running.get(f"/{TID}/.well-known/openid-configuration")
    assert status == 200 and v1["issuer"] == f"https://sts.windows.net/{TID}/"
    assert v1["token_endpoint"] == f"{running.issuer.base_url}/{TID}/oauth2/token"


async def test_discovery_of_an_unknown_tenant_is_invalid_tenant(running: Running) -> None:
    status, body = await running.get("/11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration")
    assert status == 400 and body["error"] == "invalid_tenant" and body["error_codes"] == [90002]


async def test_instance_discovery_names_the_listener(running: Running) -> None:
    status, body = await running.get("/common/discovery/instance?api-version=1.1")
    assert status == 200
    assert body["tenant_discovery_endpoint"] == f"{running.issuer.authority}/v2.0/.well-known/openid-configuration"


async def test_pyjwkclient_verifies_an_issued_token_from_the_published_keys(running: Running) -> None:
    _, body, _ = await running.post(cc())
    token = body["access_token"]
    _, doc = await running.get(f"/{TID}/v2.0/.well-known/openid-configuration")

    def fetch_and_verify() -> dict[str, Any]:
        client = jwt.PyJWKClient(doc["jwks_uri"], cache_keys=False)
        signing_key = client.get_signing_key_from_jwt(token)
        return dict(jwt.decode(token, signing_key.key, algorithms=["RS256"], audience="https://outlook.office.com",
                               issuer=f"https://sts.windows.net/{TID}/", options={"verify_exp": False,
                                                                                  "verify_iat": False,
                                                                                  "verify_nbf": False}))

    claims = await asyncio.to_thread(fetch_and_verify)
    assert claims["appid"] == PORTAL and claims["roles"] == ["SMTP.SendAsApp"]


# -- other clients --------------------------------------------------------------------------------------------

async def test_urllib_client_in_a_thread(running: Running) -> None:
    def fetch(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(running.issuer.token_url, data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, body = await asyncio.to_thread(fetch, cc())
    assert status == 200 and verify(running, body["access_token"]).ok
    status, body = await asyncio.to_thread(fetch, cc(client_secret="nope"))
    assert status == 401 and body["error_codes"] == [7000215]


async def run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode() + err.decode()


@pytest.mark.e2e
async def test_curl_fetches_a_token(running: Running) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    code, out = await run("curl", "-sS", "--noproxy", "*", running.issuer.token_url,
                          "-d", "grant_type=client_credentials", "-d", f"client_id={PORTAL}",
                          "--data-urlencode", f"client_secret={PORTAL_SECRET}",
                          "--data-urlencode", f"scope={EXO_DEFAULT}")
    assert code == 0, out
    assert verify(running, json.loads(out)["access_token"]).ok


# -- HTTPS and MSAL ----------------------------------------------------------------------------------------------

@pytest.fixture
async def https_issuer(pki_dir: Path) -> AsyncIterator[tuple[TokenIssuer, Pki]]:
    pki = Pki(pki_dir)
    issuer = TokenIssuer(load_contoso, pki, FrozenClock(NOW), tls_context=pki.server_context("login"))
    await issuer.start()
    yield issuer, pki
    await issuer.stop()


@pytest.fixture
def no_ca_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's ``verify`` (MSAL's
    ``verify=`` sets the session's), so a CI environment that exports them would defeat it."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.mark.e2e
async def test_curl_over_https_trusts_the_local_ca(https_issuer: tuple[TokenIssuer, Pki]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    issuer, pki = https_issuer
    assert issuer.token_url.startswith("https://127.0.0.1:")
    code, out = await run("curl", "-sS", "--noproxy", "*", "--cacert", str(pki.ca_cert_path), issuer.token_url,
                          "-d", "grant_type=client_credentials", "-d", f"client_id={PORTAL}",
                          "--data-urlencode", f"client_secret={PORTAL_SECRET}",
                          "--data-urlencode", f"scope={EXO_DEFAULT}")
    assert code == 0, out
    assert "access_token" in json.loads(out)
    code, out = await run("curl", "-sS", "--noproxy", "*", "--cacert", "/dev/null", issuer.token_url, "-d", "x=y")
    assert code != 0  # without the local CA the certificate is not trusted


def msal_app(issuer: TokenIssuer, pki: Pki, secret: str, **kw: Any) -> Any:
    import msal

    return msal.ConfidentialClientApplication(PORTAL, client_credential=secret, authority=issuer.authority,
                                              verify=str(pki.ca_cert_path), instance_discovery=False, **kw)


@pytest.mark.e2e
@pytest.mark.usefixtures("no_ca_override")
async def test_msal_acquires_a_client_credentials_token_over_https(https_issuer: tuple[TokenIssuer, Pki]) -> None:
    issuer, pki = https_issuer

    def acquire() -> dict[str, Any]:
        return dict(msal_app(issuer, pki, PORTAL_SECRET).acquire_token_for_client(scopes=[EXO_DEFAULT]))

    result = await asyncio.to_thread(acquire)
    assert "access_token" in result, {k: v for k, v in result.items() if k != "access_token"}
    assert result["token_type"] == "Bearer"
    check = verify_token(result["access_token"], keys=pki.verification_keys(), tenant_id=TID, now=NOW)
    assert check.ok and check.claims["roles"] == ["SMTP.SendAsApp"]


@pytest.mark.e2e
@pytest.mark.usefixtures("no_ca_override")
async def test_msal_surfaces_the_aadsts_error(https_issuer: tuple[TokenIssuer, Pki]) -> None:
    issuer, pki = https_issuer

    def acquire() -> dict[str, Any]:
        return dict(msal_app(issuer, pki, "5a8c3e1f-9d27-4b64-8f0a-7c2e6d1b4a93")
                    .acquire_token_for_client(scopes=[EXO_DEFAULT]))

    result = await asyncio.to_thread(acquire)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    assert "not the client secret ID" in result["error_description"]


async def test_msal_refuses_an_http_authority(running: Running) -> None:
    """Why the HTTPS listener exists: msal.authority.canonicalize accepts only https authorities."""
    with pytest.raises(ValueError, match="https url"):
        msal_app(running.issuer, running.pki, PORTAL_SECRET)


# -- lifecycle ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "192.168.1.10", "::1", "localhost", "example.com", ""])
async def test_only_loopback_ipv4_addresses_are_accepted(pki_dir: Path, host: str) -> None:
    issuer = TokenIssuer(load_contoso, Pki(pki_dir), FrozenClock(NOW))
    with pytest.raises(ValueError, match="127.0.0.0/8"):
        await issuer.start(host)
    await issuer.stop()


async def test_another_loopback_address_works_and_stop_frees_the_port(pki_dir: Path) -> None:
    issuer = TokenIssuer(load_contoso, Pki(pki_dir), FrozenClock(NOW))
    await issuer.start("127.0.0.3", 0)
    port = issuer.port
    assert issuer.token_url.startswith(f"http://127.0.0.3:{port}/")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        async with http.post(issuer.token_url, data=cc()) as response:
            assert response.status == 200
    await issuer.stop()
    await issuer.stop()  # idempotent
    again = TokenIssuer(load_contoso, Pki(pki_dir), FrozenClock(NOW))
    await again.start("127.0.0.3", port)  # the port is free again
    await again.stop()


async def test_events_are_reported_to_listeners(running: Running) -> None:
    seen: list[str] = []
    record: Callable[[Any], None] = lambda event: seen.append(f"{event.kind}:{event.code}")  # noqa: E731
    running.issuer.on_request(record)
    await running.post(cc())
    await running.post(cc(scope="x"))
    assert seen == ["app:None", "error:1002012"]
