"""The local PKI: CA, server and client certificates on real TLS handshakes, token and DKIM keys."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import socket
import ssl
import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dkim
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from labs.tenant.pki import CA_NAME, Pki

TIMEOUT = 10  # a safety net against a hung handshake, not a timing assertion


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """One PKI for tests that only read from it (RSA keys are generated once)."""
    return Pki(tmp_path_factory.mktemp("pki-shared") / "pki")


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the CA -------------------------------------------------------------------------------------------

def test_ca_is_created_once_as_ecdsa_p256_with_a_private_key_file(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    ca = load_cert(pki.ca_cert_path)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CA_NAME == "relaylab Local CA"
    assert ca.subject == ca.issuer
    key = ca.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert mode(tmp_path / "pki" / "ca.key") == 0o600
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=3000)


def test_ca_is_reloaded_not_regenerated(tmp_path: Path) -> None:
    first = Pki(tmp_path / "pki").ca_cert_path.read_bytes()
    again = Pki(tmp_path / "pki")
    assert again.ca_cert_path.read_bytes() == first
    assert again.ca_certificate.public_bytes(serialization.Encoding.PEM) == first


def test_concurrent_first_use_agrees_on_one_ca(tmp_path: Path) -> None:
    """Two tenants starting at once (each with its own Pki object) must end up with one CA."""
    folder = tmp_path / "pki"
    barrier = threading.Barrier(6)
    seen: list[bytes] = []
    server: list[bytes] = []

    def start() -> None:
        pki = Pki(folder)
        barrier.wait(TIMEOUT)
        server.append(pki.server_certificate("mx")[0].read_bytes())
        seen.append(pki.ca_certificate.fingerprint(hashes.SHA256()))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert len(seen) == 6 and len(set(seen)) == 1
    ca = Pki(folder).ca_certificate
    for pem in server:
        x509.load_pem_x509_certificate(pem).verify_directly_issued_by(ca)


# -- server certificates ---------------------------------------------------------------------------------

def san_of(cert: x509.Certificate) -> list[str]:
    return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                .get_values_for_type(x509.DNSName))


def test_mx_certificate_is_microsofts_mail_protection_name(shared: Pki) -> None:
    cert_path, key_path = shared.server_certificate("mx")
    cert = load_cert(cert_path)
    assert cert.subject.rfc4514_string() == ("CN=mail.protection.outlook.com,O=Microsoft Corporation,L=Redmond,"
                                             "ST=Washington,C=US")
    assert san_of(cert) == ["mail.protection.outlook.com", "*.mail.protection.outlook.com"]
    cert.verify_directly_issued_by(shared.ca_certificate)
    assert mode(key_path) == 0o600


def test_submission_certificate_covers_the_submission_hosts(shared: Pki) -> None:
    cert = load_cert(shared.server_certificate("submission")[0])
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "outlook.com"
    assert san_of(cert) == ["smtp.office365.com", "smtp-legacy.office365.com", "outlook.office365.com",
                            "*.office365.com"]
    cert.verify_directly_issued_by(shared.ca_certificate)


def test_unknown_server_kind_is_refused(shared: Pki) -> None:
    with pytest.raises(ValueError, match="unknown server certificate kind"):
        shared.server_certificate("imap")  # type: ignore[arg-type]


def test_server_certificate_is_reused(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    first = pki.server_certificate("mx")[0].read_bytes()
    assert Pki(tmp_path / "pki").server_certificate("mx")[0].read_bytes() == first


def _write_expired_mx(pki: Pki, folder: Path) -> bytes:
    """Replace the MX certificate by one that expired yesterday (signed by the real CA)."""
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.protection.outlook.com")]))
            .issuer_name(pki.ca_certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now - dt.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "server-mx.pem").write_bytes(pem)
    (folder / "server-mx.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return pem


def test_expired_server_certificate_is_reissued(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    pki = Pki(folder)
    pki.server_certificate("mx")
    expired = _write_expired_mx(pki, folder)
    path, _key = pki.server_certificate("mx")
    fresh = load_cert(path)
    assert path.read_bytes() != expired
    assert fresh.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=300)
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(*map(str, pki.server_certificate("mx")))


@pytest.mark.parametrize("damage", ["delete-cert", "delete-key", "garbage-cert", "other-key"])
def test_missing_or_broken_server_files_are_reissued(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "pki"
    pki = Pki(folder)
    cert_path, key_path = pki.server_certificate("submission")
    before = cert_path.read_bytes()
    if damage == "delete-cert":
        cert_path.unlink()
    elif damage == "delete-key":
        key_path.unlink()
    elif damage == "garbage-cert":
        cert_path.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    else:
        key_path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cert_path, key_path = pki.server_certificate("submission")
    assert cert_path.read_bytes() != before
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(cert_path), str(key_path))


def test_a_new_ca_gets_new_server_certificates(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    Pki(folder).server_certificate("mx")
    (folder / "ca.pem").unlink()
    (folder / "ca.key").unlink()
    fresh = Pki(folder)
    load_cert(fresh.server_certificate("mx")[0]).verify_directly_issued_by(fresh.ca_certificate)


# -- TLS contexts on real handshakes ----------------------------------------------------------------------

@contextmanager
def tls_server(ctx: ssl.SSLContext) -> Iterator[tuple[tuple[str, int], dict[str, Any]]]:
    """Accept one connection on 127.0.0.1:0 with ``ctx``; the dict gets version, peer cert or error."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    result: dict[str, Any] = {}

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            result["error"] = exc
            return
        conn.settimeout(TIMEOUT)
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                result["version"] = tls.version()
                result["peer"] = tls.getpeercert(binary_form=True)
                tls.sendall(b"hello")
                tls.recv(16)
        except (ssl.SSLError, OSError) as exc:
            result["error"] = exc
        finally:
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname(), result
    finally:
        thread.join(TIMEOUT)
        listener.close()


def client_ctx(*, tls10: bool = False, cafile: Path | None = None,
               cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls10:  # old firmware: TLS 1.0 only, at OpenSSL's lowest security level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if cafile is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(cafile=str(cafile))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def handshake(server_ctx: ssl.SSLContext, ctx: ssl.SSLContext, server_hostname: str | None = None
              ) -> tuple[str | None, dict[str, Any]]:
    with tls_server(server_ctx) as (address, result):
        sock = socket.create_connection(address, timeout=TIMEOUT)
        try:
            with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
                version = tls.version()
                data = tls.recv(16)
                tls.sendall(b"bye")
                return (version if data == b"hello" else None), result
        except (ssl.SSLError, OSError) as exc:
            result["client_error"] = exc
            return None, result
        finally:
            sock.close()


def test_server_context_settings(shared: Pki) -> None:
    normal = shared.server_context("submission")
    legacy = shared.server_context("submission", legacy_tls=True)
    for ctx in (normal, legacy):
        assert ctx.verify_mode == ssl.CERT_OPTIONAL and ctx.check_hostname is False
    assert normal.minimum_version == ssl.TLSVersion.TLSv1_2
    assert legacy.minimum_version == ssl.TLSVersion.TLSv1


def test_modern_client_verifies_the_server_against_the_local_ca(shared: Pki) -> None:
    version, result = handshake(shared.server_context("submission"), client_ctx(cafile=shared.ca_cert_path),
                                server_hostname="smtp.office365.com")
    assert version in ("TLSv1.2", "TLSv1.3") and result.get("peer") is None  # no client certificate sent


def test_host_name_outside_the_certificate_fails_verification(shared: Pki) -> None:
    version, result = handshake(shared.server_context("mx"), client_ctx(cafile=shared.ca_cert_path),
                                server_hostname="smtp.office365.com")
    assert version is None and "CERTIFICATE_VERIFY_FAILED" in str(result["client_error"])


def test_tls10_client_completes_a_handshake_only_with_legacy_tls(shared: Pki) -> None:
    """On this OpenSSL 3 a TLS 1.0-only client gets through ``legacy_tls=True`` and is refused otherwise."""
    version, _ = handshake(shared.server_context("submission", legacy_tls=True), client_ctx(tls10=True))
    assert version == "TLSv1"
    version, result = handshake(shared.server_context("submission"), client_ctx(tls10=True))
    assert version is None
    assert isinstance(result.get("client_error"), ssl.SSLError)
    assert isinstance(result.get("error"), ssl.SSLError)


def test_modern_client_still_gets_modern_tls_from_a_legacy_context(shared: Pki) -> None:
    version, _ = handshake(shared.server_context("submission", legacy_tls=True),
                           client_ctx(cafile=shared.ca_cert_path), server_hostname="smtp-legacy.office365.com")
    assert version == "TLSv1.3"


def test_trusted_client_certificate_is_seen_and_described(shared: Pki) -> None:
    cert = shared.client_certificate("mfp.contoso.com", san=["mfp.contoso.com", "scanner.contoso.com"])
    version, result = handshake(shared.server_context("mx"), client_ctx(cert=cert))
    assert version is not None and result.get("peer")
    info = shared.cert_info(result["peer"])
    assert info.subject_cn == "mfp.contoso.com"
    assert info.san == ("mfp.contoso.com", "scanner.contoso.com")
    assert info.issuer_cn == "relaylab Local CA" and info.trusted is True
    assert info.not_before.endswith("Z") and info.not_after > info.not_before


def test_client_certificate_from_another_ca_fails_the_handshake(shared: Pki) -> None:
    cert = shared.client_certificate("mfp.contoso.com", trusted=False)
    version, result = handshake(shared.server_context("mx"), client_ctx(cert=cert))
    assert version is None
    assert "CERTIFICATE_VERIFY_FAILED" in str(result.get("error")) or "unknown ca" in str(result.get("error")).lower()


# -- client certificates and cert_info ----------------------------------------------------------------

def test_client_certificates_are_cached_by_name_san_and_trust(shared: Pki) -> None:
    a = shared.client_certificate("printer.contoso.com", san=["printer.contoso.com"])
    assert shared.client_certificate("printer.contoso.com", san=["printer.contoso.com"]) == a
    assert a[0].read_bytes() == shared.client_certificate("printer.contoso.com", san=["printer.contoso.com"])[0] \
        .read_bytes()
    b = shared.client_certificate("printer.contoso.com", san=["other.contoso.com"])
    c = shared.client_certificate("printer.contoso.com", san=["printer.contoso.com"], trusted=False)
    assert len({a, b, c}) == 3
    assert mode(a[1]) == 0o600
    assert load_cert(c[0]).issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != CA_NAME


def test_client_certificate_without_san_has_none(shared: Pki) -> None:
    cert = load_cert(shared.client_certificate("legacy-device")[0])
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert shared.cert_info(cert.public_bytes(serialization.Encoding.DER)).san == ()


@pytest.mark.parametrize("name, san", [("", ()), ("a\nb", ()), ("ok.contoso.com", ("bad\x00name",)), ("x" * 300, ())])
def test_invalid_client_certificate_names_are_refused(shared: Pki, name: str, san: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        shared.client_certificate(name, san=san)


def test_odd_names_become_safe_file_names(shared: Pki) -> None:
    cert, _ = shared.client_certificate("../../etc/passwd")
    assert cert.parent == shared.folder / "clients"
    assert load_cert(cert).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "../../etc/passwd"


def test_cert_info_of_an_untrusted_certificate(shared: Pki) -> None:
    cert = load_cert(shared.client_certificate("mfp.contoso.com", trusted=False)[0])
    info = shared.cert_info(cert.public_bytes(serialization.Encoding.DER))
    assert info.trusted is False and info.issuer_cn == "relaylab Untrusted Test CA"
    assert info.subject_cn == "mfp.contoso.com"


def test_cert_info_is_not_fooled_by_an_impostor_ca_with_the_same_name(shared: Pki) -> None:
    impostor_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mfp.contoso.com")]))
            .issuer_name(shared.ca_certificate.subject)  # same issuer name as the real CA
            .public_key(leaf_key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(impostor_key, hashes.SHA256()))
    info = shared.cert_info(cert.public_bytes(serialization.Encoding.DER))
    assert info.issuer_cn == CA_NAME and info.trusted is False


@pytest.mark.parametrize("der", [b"", b"garbage", b"\x30\x82\xff\xff" + b"\x00" * 20, bytes(range(256)) * 10])
def test_cert_info_never_raises_on_garbage(shared: Pki, der: bytes) -> None:
    info = shared.cert_info(der)
    assert info.trusted is False and info.subject_cn == "" and info.san == ()


# -- token signing keys -----------------------------------------------------------------------------------

def test_jwt_key_is_rsa_2048_cached_and_published_in_the_jwks(shared: Pki) -> None:
    key, kid = shared.jwt_key()
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert shared.jwt_key() == (key, kid)
    (jwk,) = shared.jwks()["keys"]
    assert set(jwk) >= {"kty", "use", "kid", "n", "e", "x5t"}
    assert (jwk["kty"], jwk["use"], jwk["kid"], jwk["x5t"]) == ("RSA", "sig", kid, kid)
    der = base64.b64decode(jwk["x5c"][0])
    assert kid == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    numbers = key.public_key().public_numbers()
    e = int.from_bytes(base64.urlsafe_b64decode(jwk["e"] + "=="), "big")
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert (n, e) == (numbers.n, numbers.e)
    assert "d" not in jwk and "p" not in jwk  # public only
    assert list(shared.verification_keys()) == [kid]


def test_jwks_verifies_a_token_signed_with_the_jwt_key(shared: Pki) -> None:
    key, kid = shared.jwt_key()
    token = jwt.encode({"sub": "x"}, key, algorithm="RS256", headers={"kid": kid})
    (jwk,) = shared.jwks()["keys"]
    assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"]) == {"sub": "x"}


def test_jwt_key_survives_a_restart_and_its_file_is_private(tmp_path: Path) -> None:
    first = Pki(tmp_path / "pki").jwt_key()
    second = Pki(tmp_path / "pki").jwt_key()
    assert first[1] == second[1]
    assert mode(tmp_path / "pki" / "token-signing.key") == 0o600


# -- DKIM keys ---------------------------------------------------------------------------------------------

def test_dkim_key_signs_and_its_dns_record_verifies(shared: Pki) -> None:
    pem, p = shared.dkim_key("contoso.com", "selector1")
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    public = serialization.load_der_public_key(base64.b64decode(p))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    message = (b"From: a@contoso.com\r\nTo: b@fabrikam.com\r\nSubject: hi\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000"
               b"\r\nMessage-ID: <1@contoso.com>\r\n\r\nbody\r\n")
    signature = dkim.sign(message, b"selector1", b"contoso.com", pem, include_headers=[b"from", b"to", b"subject"])

    def dns(name: bytes, timeout: float = 5) -> bytes | None:
        return f"v=DKIM1; k=rsa; p={p}".encode() if name == b"selector1._domainkey.contoso.com." else None

    assert dkim.verify(signature + message, dnsfunc=dns)


def test_dkim_keys_are_cached_per_domain_and_selector(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    one = pki.dkim_key("contoso.com", "selector1")
    assert pki.dkim_key("Contoso.COM.", "selector1") == one
    assert Pki(tmp_path / "pki").dkim_key("contoso.com", "selector1") == one  # from disk
    assert pki.dkim_key("contoso.com", "selector2") != one
    assert pki.dkim_key("contoso.onmicrosoft.com", "selector1") != one
    assert mode(tmp_path / "pki" / "dkim" / "selector1._domainkey.contoso.com.key") == 0o600


@pytest.mark.parametrize("domain, selector", [("../../etc", "selector1"), ("contoso.com", "../x"),
                                              ("contoso.com/evil", "s1"), ("", "s1"), ("contoso.com", "")])
def test_dkim_refuses_names_that_are_not_dns_names(shared: Pki, domain: str, selector: str) -> None:
    with pytest.raises(ValueError):
        shared.dkim_key(domain, selector)


def test_key_files_are_never_world_readable(shared: Pki) -> None:
    shared.dkim_key("contoso.com", "selector1")
    shared.client_certificate("perm-check")
    for path in shared.folder.rglob("*.key"):
        assert mode(path) & 0o077 == 0, path
