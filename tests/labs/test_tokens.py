"""Access tokens: the claims of app-only and delegated tokens, and verification that refuses every
forgery and never raises on hostile input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from labs.tenant.pki import Pki
from labs.tenant.tokens import (
    EXCHANGE_AUDIENCE,
    LEEWAY_SECONDS,
    MAX_TOKEN_CHARS,
    SAFE_CLAIMS,
    lifetime_seconds,
    mint_app_token,
    mint_user_token,
    user_object_id,
    verify_token,
)

TID = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
APP = "3e7a91c4-2f6d-4b8e-a1c9-5d0f7e2b6a13"
SP = "c4f2a8e1-7d39-4b6c-9a15-e8d3f0b27c5a"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("tokens") / "pki")


@pytest.fixture(scope="module")
def signing(pki: Pki) -> tuple[rsa.RSAPrivateKey, str]:
    return pki.jwt_key()


@pytest.fixture(scope="module")
def keys(pki: Pki) -> dict[str, Any]:
    return dict(pki.verification_keys())


def app_token(signing: tuple[rsa.RSAPrivateKey, str], **kw: Any) -> str:
    key, kid = signing
    args: dict[str, Any] = {"tenant_id": TID, "app_id": APP, "object_id": SP, "roles": ["SMTP.SendAsApp"],
                            "now": NOW, "app_name": "Contoso Portal Mailer", "lifetime": 3600, **kw}
    return mint_app_token(key, kid, **args).token


_FUZZ_KEYS = {"k": rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unverified(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


# -- minting ---------------------------------------------------------------------------------------

def test_app_token_has_exchange_online_app_only_claims(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    key, kid = signing
    minted = mint_app_token(key, kid, tenant_id=TID, app_id=APP, object_id=SP, roles=["SMTP.SendAsApp"], now=NOW,
                            app_name="Contoso Portal Mailer", lifetime=4000)
    header = jwt.get_unverified_header(minted.token)
    assert header["alg"] == "RS256" and header["kid"] == kid and header["typ"] == "JWT"
    claims = unverified(minted.token)
    assert claims["aud"] == "https://outlook.office.com" == EXCHANGE_AUDIENCE
    assert claims["iss"] == f"https://sts.windows.net/{TID}/"
    assert claims["tid"] == TID and claims["appid"] == APP
    assert claims["oid"] == SP and claims["sub"] == SP
    assert claims["roles"] == ["SMTP.SendAsApp"]
    assert claims["idtyp"] == "app" and claims["ver"] == "1.0"
    assert "scp" not in claims and "upn" not in claims
    iat = int(NOW.timestamp())
    assert claims["iat"] == claims["nbf"] == iat and claims["exp"] == iat + 4000
    assert minted.expires_in == 4000 and minted.claims == claims
    assert isinstance(claims["uti"], str) and len(claims["uti"]) >= 16
    assert "token=" not in repr(minted) and minted.token not in repr(minted)


def test_app_token_without_granted_roles_has_no_roles_claim(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    assert "roles" not in unverified(app_token(signing, roles=[]))


def test_each_token_gets_its_own_uti(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    assert unverified(app_token(signing))["uti"] != unverified(app_token(signing))["uti"]


def test_delegated_token_has_scp_upn_and_a_stable_object_id(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    key, kid = signing
    minted = mint_user_token(key, kid, tenant_id=TID, app_id=APP, address="erp-notify@contoso.com",
                             display_name="ERP notifications", scopes=["SMTP.Send"], now=NOW, lifetime=3600)
    claims = unverified(minted.token)
    assert claims["scp"] == "SMTP.Send" and "roles" not in claims
    assert claims["upn"] == claims["unique_name"] == "erp-notify@contoso.com"
    assert claims["name"] == "ERP notifications" and claims["idtyp"] == "user"
    assert claims["oid"] == user_object_id("ERP-Notify@Contoso.com") == user_object_id("erp-notify@contoso.com")
    assert uuid.UUID(claims["oid"]).version == 5
    assert user_object_id("a@contoso.com") != user_object_id("b@contoso.com")
    assert claims["appidacr"] == "0"


def test_default_lifetime_is_random_between_60_and_90_minutes() -> None:
    draws = [lifetime_seconds() for _ in range(300)]
    assert min(draws) >= 60 * 60 and max(draws) <= 90 * 60
    assert len(set(draws)) > 50  # really random, not a constant


def test_minting_without_a_lifetime_uses_the_random_default(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    key, kid = signing
    lives = {mint_app_token(key, kid, tenant_id=TID, app_id=APP, object_id=SP, roles=[], now=NOW).expires_in
             for _ in range(20)}
    assert all(3600 <= life <= 5400 for life in lives) and len(lives) > 1


# -- verification: genuine tokens -------------------------------------------------------------------

def test_genuine_app_token_verifies_with_the_safe_claims(signing: tuple[rsa.RSAPrivateKey, str],
                                                         keys: dict[str, Any]) -> None:
    token = app_token(signing)
    check = verify_token(token, keys=keys, tenant_id=TID, now=NOW + timedelta(minutes=5))
    assert check.ok and check.reason == "ok"
    assert set(check.claims) <= set(SAFE_CLAIMS)
    assert check.claims["roles"] == ["SMTP.SendAsApp"] and check.claims["oid"] == SP
    assert check.claims["idtyp"] == "app"
    assert token not in json.dumps(dict(check.claims))
    assert "uti" not in check.claims and "sub" not in check.claims


def test_verify_accepts_the_tenant_id_in_any_case_and_posix_seconds(signing: tuple[rsa.RSAPrivateKey, str],
                                                                    keys: dict[str, Any]) -> None:
    token = app_token(signing)
    assert verify_token(token, keys=keys, tenant_id=TID.upper(), now=NOW.timestamp()).ok


def test_verify_takes_jwks_entries_as_keys(pki: Pki, signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    jwk = pki.jwks()["keys"][0]
    assert verify_token(app_token(signing), keys={jwk["kid"]: jwk}, tenant_id=TID, now=NOW).ok


def test_verify_takes_a_pem_public_key(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    key, kid = signing
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert verify_token(app_token(signing), keys={kid: pem}, tenant_id=TID, now=NOW).ok


# -- verification: time ----------------------------------------------------------------------------

@pytest.mark.parametrize("offset, reason", [
    (3600 - 1, "ok"),                          # last second of its life
    (3600 + LEEWAY_SECONDS - 1, "ok"),         # within the clock-skew leeway
    (3600 + LEEWAY_SECONDS, "expired"),        # leeway used up
    (3 * 3600, "expired"),
    (-LEEWAY_SECONDS + 1, "ok"),               # client clock slightly ahead of the issuer
    (-LEEWAY_SECONDS - 1, "not-yet-valid"),
    (-86400, "not-yet-valid"),
])
def test_lifetime_is_checked_against_the_tenant_clock_with_leeway(signing: tuple[rsa.RSAPrivateKey, str],
                                                                  keys: dict[str, Any], offset: int,
                                                                  reason: str) -> None:
    check = verify_token(app_token(signing), keys=keys, tenant_id=TID, now=NOW + timedelta(seconds=offset))
    assert check.reason == reason and check.ok is (reason == "ok")
    if reason != "ok":
        assert check.claims["exp"] == int(NOW.timestamp()) + 3600  # claims still say why


# -- verification: who it is for ---------------------------------------------------------------------

def test_token_of_another_tenant_is_refused(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any]) -> None:
    other = "11111111-2222-3333-4444-555555555555"
    check = verify_token(app_token(signing, tenant_id=other), keys=keys, tenant_id=TID, now=NOW)
    assert (check.ok, check.reason, check.claims["tid"]) == (False, "wrong-tenant", other)


def test_token_whose_issuer_names_another_tenant_is_refused(signing: tuple[rsa.RSAPrivateKey, str],
                                                            keys: dict[str, Any]) -> None:
    claims = unverified(app_token(signing))
    claims["iss"] = "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"
    key, kid = signing
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    assert verify_token(forged, keys=keys, tenant_id=TID, now=NOW).reason == "wrong-tenant"


@pytest.mark.parametrize("audience, reason", [
    ("https://outlook.office.com", "ok"),
    ("https://outlook.office365.com", "ok"),
    ("00000002-0000-0ff1-ce00-000000000000", "ok"),
    ("https://graph.microsoft.com", "wrong-audience"),
    ("https://outlook.office.com.evil.example", "wrong-audience"),
])
def test_audience_must_be_exchange_online(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any],
                                         audience: str, reason: str) -> None:
    check = verify_token(app_token(signing, audience=audience), keys=keys, tenant_id=TID, now=NOW)
    assert check.reason == reason


# -- verification: forgeries ------------------------------------------------------------------------

def test_token_signed_by_another_key_with_our_kid_is_bad_signature(signing: tuple[rsa.RSAPrivateKey, str],
                                                                   keys: dict[str, Any]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(unverified(app_token(signing)), other, algorithm="RS256", headers={"kid": signing[1]})
    check = verify_token(forged, keys=keys, tenant_id=TID, now=NOW)
    assert (check.ok, check.reason, dict(check.claims)) == (False, "bad-signature", {})


def test_token_with_an_unknown_kid_is_refused(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(unverified(app_token(signing)), other, algorithm="RS256", headers={"kid": "attacker"})
    assert verify_token(forged, keys=keys, tenant_id=TID, now=NOW).reason == "unknown-key"
    no_kid = jwt.encode(unverified(app_token(signing)), other, algorithm="RS256")
    assert verify_token(no_kid, keys=keys, tenant_id=TID, now=NOW).reason == "unknown-key"


def test_tampered_payload_is_bad_signature(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any]) -> None:
    header, _payload, sig = app_token(signing).split(".")
    claims = unverified(app_token(signing))
    claims["roles"] = ["SMTP.SendAsApp", "full_access_as_app"]
    tampered = ".".join([header, b64url(json.dumps(claims).encode()), sig])
    assert verify_token(tampered, keys=keys, tenant_id=TID, now=NOW).reason == "bad-signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_unsigned_alg_none_tokens_are_refused(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any],
                                              alg: str) -> None:
    header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": signing[1]}).encode())
    body = b64url(json.dumps(unverified(app_token(signing))).encode())
    for forged in (f"{header}.{body}.", f"{header}.{body}.{b64url(b'sig')}"):
        check = verify_token(forged, keys=keys, tenant_id=TID, now=NOW)
        assert (check.ok, check.reason) == (False, "alg-none")


def test_hs256_signed_with_the_public_key_is_refused(signing: tuple[rsa.RSAPrivateKey, str],
                                                     keys: dict[str, Any]) -> None:
    """The classic key-confusion attack: HMAC keyed with the published RSA public key."""
    key, kid = signing
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64url(json.dumps(unverified(app_token(signing))).encode())
    mac = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{body}.{b64url(mac)}"
    check = verify_token(forged, keys=keys, tenant_id=TID, now=NOW)
    assert (check.ok, check.reason) == (False, "wrong-algorithm")
    # and even if the key table held the PEM itself, HS256 is never tried
    assert verify_token(forged, keys={kid: pem}, tenant_id=TID, now=NOW).reason == "wrong-algorithm"


def test_other_asymmetric_algorithms_are_refused(signing: tuple[rsa.RSAPrivateKey, str],
                                                 keys: dict[str, Any]) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(unverified(app_token(signing)), ec_key, algorithm="ES256", headers={"kid": signing[1]})
    assert verify_token(forged, keys=keys, tenant_id=TID, now=NOW).reason == "wrong-algorithm"
    ps = jwt.encode(unverified(app_token(signing)), signing[0], algorithm="PS256", headers={"kid": signing[1]})
    assert verify_token(ps, keys=keys, tenant_id=TID, now=NOW).reason == "wrong-algorithm"


# -- verification: garbage --------------------------------------------------------------------------

def _garbage_cases(token: str) -> list[tuple[Any, str]]:
    header, payload, sig = token.split(".")
    return [
        ("", "malformed"),
        ("garbage", "malformed"),
        ("a.b.c", "malformed"),
        (f"{header}.{payload}", "malformed"),                    # truncated: no signature part
        (token[: len(token) // 2], "malformed"),                 # cut in the middle
        (f"{header}.{payload}.{sig}.extra", "malformed"),
        (f"{header}.{payload}.{sig}*", "malformed"),             # a character outside base64url
        (f"{header}.{payload}.A", "malformed"),                  # a length base64 cannot have
        (f"{header}.{payload}.AAAA", "bad-signature"),
        (f"{header}.{payload} .{sig}", "malformed"),
        (f"{b64url(b'[1,2]')}.{payload}.{sig}", "malformed"),    # header is JSON, not an object
        (f"{b64url(b'{not json')}.{payload}.{sig}", "malformed"),
        (f"{b64url(json.dumps({'alg': 7}).encode())}.{payload}.{sig}", "malformed"),
        (f"{header}.{b64url(b'[]')}.{sig}", "bad-signature"),    # payload swapped: the signature catches it
        ("x" * (MAX_TOKEN_CHARS + 1), "too-long"),
        ("." * 65536, "too-long"),
        ("é" * 100 + ".a.b", "malformed"),                       # non-ASCII
        (b"\xff\xfe\x00garbage", "malformed"),                   # non-UTF-8 bytes
        (None, "malformed"),
        (12345, "malformed"),
    ]


def test_garbage_never_raises_and_is_refused(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any]) -> None:
    for value, reason in _garbage_cases(app_token(signing)):
        check = verify_token(value, keys=keys, tenant_id=TID, now=NOW)
        assert (check.ok, check.reason) == (False, reason), value if isinstance(value, str) and len(value) < 200 \
            else reason


def test_claims_of_the_wrong_type_are_malformed(signing: tuple[rsa.RSAPrivateKey, str], keys: dict[str, Any]) -> None:
    key, kid = signing
    for bad in ({"exp": "tomorrow"}, {"exp": None}, {"nbf": "now"}, {"exp": True}):
        claims = {**unverified(app_token(signing)), **bad}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        check = verify_token(token, keys=keys, tenant_id=TID, now=NOW)
        assert (check.ok, check.reason) == (False, "malformed")


def test_keys_that_are_not_keys_do_not_crash_verification(signing: tuple[rsa.RSAPrivateKey, str]) -> None:
    kid = signing[1]
    for junk in ({"kty": "RSA", "n": "!!", "e": "AQAB"}, "not a pem", 42, object()):
        check = verify_token(app_token(signing), keys={kid: junk}, tenant_id=TID, now=NOW)
        assert not check.ok


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400),
                 st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                  max_size=60), min_size=3, max_size=3).map(".".join)))
def test_fuzzed_tokens_never_raise_and_never_pass(value: str | bytes) -> None:
    check = verify_token(value, keys=_FUZZ_KEYS, tenant_id=TID, now=NOW)  # type: ignore[arg-type]
    assert check.ok is False and isinstance(check.reason, str)


def test_pki_keys_survive_a_restart(tmp_path: Path) -> None:
    """A token minted before a restart still verifies after it (the signing key is on disk)."""
    first = Pki(tmp_path / "pki")
    token = app_token(first.jwt_key())
    second = Pki(tmp_path / "pki")
    assert verify_token(token, keys=second.verification_keys(), tenant_id=TID, now=NOW).ok
