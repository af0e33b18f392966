"""Provides the local PKI of the mock tenant: a CA, server and client certificates, and signing keys.

Everything lives in one folder (``<RELAYLAB_HOME>/pki``), shared by every tenant of the user and
created on first use:

``ca.pem`` / ``ca.key``
    "relaylab Local CA" (ECDSA P-256, ten years). It stands in for the public CAs that a real
    device trusts; learners point ``--cacert`` / ``verify`` at ``ca.pem``.
``server-<kind>.pem`` / ``.key``
    The certificates the listeners present (MX, client submission, the token issuer), issued
    lazily and issued again when missing, expired, or no longer signed by the CA.
``clients/``
    Client certificates for devices and tests (certificate-based connectors), cached by name.
``untrusted-ca.pem``
    A throwaway second CA for client certificates that must *not* chain to the local CA.
``token-signing.pem`` / ``.key``
    The RSA 2048 key that signs access tokens (the ``kid`` is the certificate's SHA-1 thumbprint,
    as with Microsoft Entra's signing keys).
``dkim/``
    One RSA 2048 key per (domain, selector) for DKIM signing.

Key files are written with mode 0600, atomically, and under a file lock, so two tenants that start
at the same time agree on one CA. ECDSA keeps the cold start cheap (a P-256 key takes well under a
millisecond; the RSA keys are generated only when first needed).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import re
import ssl
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labs.records import CertInfo
from labs.tenant.clock import iso

try:  # POSIX: serialise creation between processes; Windows falls back to the thread lock.
    import fcntl
except ImportError:  # pragma: no cover - not on the Linux CI
    fcntl = None  # type: ignore[assignment]

__all__ = ["CA_NAME", "SERVER_KINDS", "Pki", "ServerKind"]

CA_NAME = "relaylab Local CA"
"""Common name of the local CA."""

UNTRUSTED_CA_NAME = "relaylab Untrusted Test CA"
"""Common name of the throwaway CA whose client certificates the tenant does not trust."""

ServerKind = Literal["mx", "submission", "login"]


@dataclass(frozen=True)
class _ServerProfile:
    subject: tuple[tuple[x509.ObjectIdentifier, str], ...]
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...] = ()


_MICROSOFT = (
    (NameOID.COUNTRY_NAME, "US"),
    (NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
    (NameOID.LOCALITY_NAME, "Redmond"),
    (NameOID.ORGANIZATION_NAME, "Microsoft Corporation"),
)

SERVER_KINDS: Mapping[str, _ServerProfile] = {
    # Subject as captured from the real MX endpoint (reference §1).
    "mx": _ServerProfile((*_MICROSOFT, (NameOID.COMMON_NAME, "mail.protection.outlook.com")),
                         ("mail.protection.outlook.com", "*.mail.protection.outlook.com")),
    # Exchange Online's front ends present an outlook.com certificate; the names are ours.
    "submission": _ServerProfile((*_MICROSOFT, (NameOID.COMMON_NAME, "outlook.com")),
                                 ("smtp.office365.com", "smtp-legacy.office365.com", "outlook.office365.com",
                                  "*.office365.com")),
    # The token issuer when it serves HTTPS (MSAL only accepts https authorities).
    "login": _ServerProfile((*_MICROSOFT, (NameOID.COMMON_NAME, "login.microsoftonline.com")),
                            ("login.microsoftonline.com", "login.microsoft.com", "login.windows.net",
                             "sts.windows.net", "localhost"), ("127.0.0.1",)),
}
"""What each server certificate says: subject and subject alternative names."""

_CA_DAYS = 3650
_LEAF_DAYS = 397
_RENEW_MARGIN = dt.timedelta(days=1)
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _with(stem: Path, suffix: str) -> Path:
    """``stem`` plus a suffix (``Path.with_suffix`` would eat the ``.com`` of ``printer.contoso.com``)."""
    return stem.parent / (stem.name + suffix)


def _load_key(pem: bytes) -> Any:
    """Load one of our own key files. RSA consistency checks are skipped: they cost ~50 ms per
    load (every tenant start) and the files are ours (0600); a damaged key still fails to match
    its certificate, or to sign, and is then replaced."""
    return serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _same_key(cert: x509.Certificate, key: PrivateKey) -> bool:
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*raw) == key.public_key().public_bytes(*raw)


class Pki:
    """The local PKI in ``folder``: created on first use, reloaded after.

    Args:
        folder: where keys and certificates live (``<RELAYLAB_HOME>/pki``); created if missing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        """The PKI folder."""
        self._lock = threading.RLock()
        self._depth = 0
        self._ca: tuple[x509.Certificate, PrivateKey] | None = None
        self._untrusted: tuple[x509.Certificate, PrivateKey] | None = None
        self._jwt: tuple[rsa.RSAPrivateKey, str, x509.Certificate] | None = None
        self._dkim: dict[tuple[str, str], tuple[bytes, str]] = {}

    # -- files and locking ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the thread lock and, at the outermost level, the folder's file lock (re-entrant)."""
        with self._lock:
            if self._depth or fcntl is None:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / ".lock", "a+b") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _save(self, stem: Path, cert: x509.Certificate, key: PrivateKey) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(_with(stem, ".key"), _key_pem(key), 0o600)
        _write_atomic(_with(stem, ".pem"), _cert_pem(cert), 0o644)

    @staticmethod
    def _load(stem: Path) -> tuple[x509.Certificate, PrivateKey] | None:
        try:
            cert = x509.load_pem_x509_certificate(_with(stem, ".pem").read_bytes())
            key = _load_key(_with(stem, ".key").read_bytes())
        except (OSError, ValueError, TypeError):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) or not _same_key(cert, key):
            return None
        return cert, key

    # -- certificate authorities ------------------------------------------------------------------

    @staticmethod
    def _make_ca(common_name: str) -> tuple[x509.Certificate, PrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "relaylab"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1))
                .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(ski, critical=False)
                .sign(key, hashes.SHA256()))
        return cert, key

    def _authority(self, stem: str, common_name: str) -> tuple[x509.Certificate, PrivateKey]:
        path = self.folder / stem
        found = self._load(path)
        if found is not None and found[0].not_valid_after_utc > _now() + _RENEW_MARGIN:
            return found
        with self._locked():
            found = self._load(path)  # another process may have made it meanwhile
            if found is not None and found[0].not_valid_after_utc > _now() + _RENEW_MARGIN:
                return found
            made = self._make_ca(common_name)
            self._save(path, *made)
            return made

    def _ca_pair(self) -> tuple[x509.Certificate, PrivateKey]:
        if self._ca is None or self._ca[0].not_valid_after_utc <= _now() + _RENEW_MARGIN:
            self._ca = self._authority("ca", CA_NAME)
        return self._ca

    @property
    def ca_cert_path(self) -> Path:
        """Path of the local CA certificate (PEM); created on first use."""
        self._ca_pair()
        return self.folder / "ca.pem"

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The local CA certificate."""
        return self._ca_pair()[0]

    # -- issuing ----------------------------------------------------------------------------------

    def _issue(self, issuer: tuple[x509.Certificate, PrivateKey], subject: x509.Name, dns_names: Sequence[str],
               ip_addresses: Sequence[str], usages: Sequence[x509.ObjectIdentifier],
               key: PrivateKey | None = None) -> tuple[x509.Certificate, PrivateKey]:
        ca_cert, ca_key = issuer
        key = key or ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (x509.CertificateBuilder()
                   .subject_name(subject).issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(hours=1))
                   .not_valid_after(min(now + dt.timedelta(days=_LEAF_DAYS), ca_cert.not_valid_after_utc))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                                                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                                crl_sign=False, encipher_only=False, decipher_only=False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        alt: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    def _usable(self, found: tuple[x509.Certificate, PrivateKey] | None, issuer: x509.Certificate) -> bool:
        if found is None:
            return False
        cert = found[0]
        if cert.not_valid_after_utc <= _now() + _RENEW_MARGIN or cert.issuer != issuer.subject:
            return False
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def _leaf(self, stem: Path, issuer: tuple[x509.Certificate, PrivateKey], subject: x509.Name,
              dns_names: Sequence[str], ip_addresses: Sequence[str],
              usages: Sequence[x509.ObjectIdentifier]) -> tuple[Path, Path]:
        if not self._usable(self._load(stem), issuer[0]):
            with self._locked():
                if not self._usable(self._load(stem), issuer[0]):
                    self._save(stem, *self._issue(issuer, subject, dns_names, ip_addresses, usages))
        return _with(stem, ".pem"), _with(stem, ".key")

    def server_certificate(self, kind: ServerKind) -> tuple[Path, Path]:
        """Return the (certificate, key) PEM paths of a server certificate, issuing it if needed.

        Args:
            kind: ``mx`` (``mail.protection.outlook.com``), ``submission`` (``smtp.office365.com`` and
                friends) or ``login`` (the token issuer over HTTPS: ``login.microsoftonline.com``,
                ``localhost``, ``127.0.0.1``).

        Raises:
            ValueError: for an unknown kind.
        """
        profile = SERVER_KINDS.get(kind)
        if profile is None:
            raise ValueError(f"unknown server certificate kind {kind!r} (expected one of {', '.join(SERVER_KINDS)})")
        subject = x509.Name([x509.NameAttribute(oid, value) for oid, value in profile.subject])
        return self._leaf(self.folder / f"server-{kind}", self._ca_pair(), subject, profile.dns_names,
                          profile.ip_addresses, [ExtendedKeyUsageOID.SERVER_AUTH])

    def server_context(self, kind: ServerKind, *, legacy_tls: bool = False) -> ssl.SSLContext:
        """Return a server-side TLS context presenting the ``kind`` certificate.

        The context asks for a client certificate (``CERT_OPTIONAL``) and trusts the local CA, so a
        certificate that chains to it verifies and :meth:`cert_info` can describe it. Python's ``ssl``
        has no verify callback: a client certificate from any other CA makes the handshake fail
        (``certificate verify failed`` / alert ``unknown ca``); a client that sends none is fine.

        Args:
            kind: which server certificate (see :meth:`server_certificate`).
            legacy_tls: accept TLS 1.0 and 1.1 with ``DEFAULT:@SECLEVEL=0`` ciphers, so that an old
                client's handshake completes and the server can answer ``421 4.7.66`` itself.
                Otherwise TLS 1.2 is the minimum.

        Returns:
            A new context (``check_hostname`` off, as for any server).
        """
        cert, key = self.server_certificate(kind)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cafile=str(self.ca_cert_path))
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.check_hostname = False
        if legacy_tls:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1 is deprecated
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def client_certificate(self, name: str, *, san: Sequence[str] = (), trusted: bool = True) -> tuple[Path, Path]:
        """Return the (certificate, key) PEM paths of a client certificate, issuing it once.

        Args:
            name: the subject common name (e.g. ``mfp.contoso.com``).
            san: DNS names for the subject alternative name extension (none when empty).
            trusted: issued by the local CA (True) or by a separate untrusted CA (False), for showing
                that a certificate from an unknown CA fails the handshake.

        Returns:
            Paths of the certificate and its ECDSA key; the same call returns the same files.

        Raises:
            ValueError: when the name or a SAN entry is empty or contains control characters.
        """
        names = [name, *san]
        if any(not n or len(n) > 253 or any(ord(c) < 0x20 or c == "\x7f" for c in n) for n in names):
            raise ValueError(f"invalid certificate name in {names!r}")
        digest = hashlib.sha256("\x00".join([str(trusted), *names]).encode("utf-8")).hexdigest()[:10]
        slug = _NAME_RE.sub("_", name)[:60].strip("._") or "client"
        stem = self.folder / "clients" / f"{'' if trusted else 'untrusted-'}{slug}-{digest}"
        issuer = self._ca_pair() if trusted else self._untrusted_pair()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return self._leaf(stem, issuer, subject, tuple(san), (),
                          [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH])

    def _untrusted_pair(self) -> tuple[x509.Certificate, PrivateKey]:
        if self._untrusted is None:
            self._untrusted = self._authority("untrusted-ca", UNTRUSTED_CA_NAME)
        return self._untrusted

    # -- reading a presented certificate ----------------------------------------------------------

    def cert_info(self, der: bytes) -> CertInfo:
        """Describe a certificate a client presented.

        Args:
            der: the certificate in DER form (``SSLObject.getpeercert(binary_form=True)``).

        Returns:
            Subject CN, SAN DNS names, issuer CN, validity (ISO 8601 UTC) and whether it is signed
            by the local CA. Bytes that are not a certificate give an empty, untrusted description
            rather than an exception: the peer controls them.
        """
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
            try:
                ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                san = tuple(ext.value.get_values_for_type(x509.DNSName))
            except x509.ExtensionNotFound:
                san = ()
            info = CertInfo(subject_cn=_cn(cert.subject), san=san, issuer_cn=_cn(cert.issuer),
                            not_before=iso(cert.not_valid_before_utc), not_after=iso(cert.not_valid_after_utc),
                            trusted=False)
        except (ValueError, TypeError):
            return CertInfo(subject_cn="", san=(), issuer_cn="", not_before="", not_after="", trusted=False)
        ca = self.ca_certificate
        trusted = False
        if cert.issuer == ca.subject:
            try:
                cert.verify_directly_issued_by(ca)
                trusted = True
            except (ValueError, TypeError, InvalidSignature):
                trusted = False
        return CertInfo(info.subject_cn, info.san, info.issuer_cn, info.not_before, info.not_after, trusted)

    # -- token signing ----------------------------------------------------------------------------

    def _jwt_triple(self) -> tuple[rsa.RSAPrivateKey, str, x509.Certificate]:
        if self._jwt is not None:
            return self._jwt
        with self._lock:
            stem = self.folder / "token-signing"
            found = self._load(stem)
            if found is None or not isinstance(found[1], rsa.RSAPrivateKey):
                with self._locked():
                    found = self._load(stem)
                    if found is None or not isinstance(found[1], rsa.RSAPrivateKey):
                        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                                "relaylab token signing (accounts.accesscontrol)")])
                        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                        found = self._issue(self._ca_pair(), subject, (), (), (), key=key)
                        self._save(stem, *found)
            cert, rkey = found
            assert isinstance(rkey, rsa.RSAPrivateKey)
            kid = _b64url(cert.fingerprint(hashes.SHA1()))  # x5t is SHA-1 by definition (RFC 7517)
            self._jwt = (rkey, kid, cert)
            return self._jwt

    def jwt_key(self) -> tuple[rsa.RSAPrivateKey, str]:
        """Return the token-signing key and its ``kid`` (generated once, then cached).

        Returns:
            The RSA 2048 private key and the key id (the base64url SHA-1 thumbprint of its
            certificate, also published as ``x5t``).
        """
        key, kid, _cert = self._jwt_triple()
        return key, kid

    def verification_keys(self) -> dict[str, rsa.RSAPublicKey]:
        """Return the public keys that verify issued tokens, by ``kid``."""
        key, kid, _cert = self._jwt_triple()
        return {kid: key.public_key()}

    def jwks(self) -> dict[str, Any]:
        """Return the public JSON Web Key Set (``/discovery/v2.0/keys``)."""
        key, kid, cert = self._jwt_triple()
        numbers = key.public_key().public_numbers()
        return {"keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "x5t": kid,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
            "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")],
        }]}

    # -- DKIM -------------------------------------------------------------------------------------

    def dkim_key(self, domain: str, selector: str) -> tuple[bytes, str]:
        """Return the DKIM key of ``domain`` and ``selector`` (generated once, then cached).

        Args:
            domain: the signing domain, e.g. ``contoso.com``.
            selector: the selector, e.g. ``selector1``.

        Returns:
            The RSA 2048 private key as PEM (PKCS#1, what dkimpy reads) and the base64 public key
            for the ``p=`` tag of the ``selector._domainkey`` TXT record.

        Raises:
            ValueError: when the domain or selector is not a DNS name (they become file names).
        """
        domain = domain.strip().lower().rstrip(".")
        selector = selector.strip().lower()
        labels = domain.split(".")
        if not _LABEL_RE.match(selector) or len(domain) > 253 or not all(_LABEL_RE.match(x) for x in labels):
            raise ValueError(f"invalid DKIM domain or selector: {selector!r}, {domain!r}")
        cached = self._dkim.get((domain, selector))
        if cached is not None:
            return cached
        path = self.folder / "dkim" / f"{selector}._domainkey.{domain}.key"
        with self._lock:
            key = self._load_rsa(path)
            if key is None:
                with self._locked():
                    key = self._load_rsa(path)
                    if key is None:
                        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                        path.parent.mkdir(parents=True, exist_ok=True)
                        _write_atomic(path, self._pkcs1(key), 0o600)
            public = key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
            result = (self._pkcs1(key), base64.b64encode(public).decode("ascii"))
            self._dkim[(domain, selector)] = result
            return result

    @staticmethod
    def _pkcs1(key: rsa.RSAPrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    @staticmethod
    def _load_rsa(path: Path) -> rsa.RSAPrivateKey | None:
        try:
            key = _load_key(path.read_bytes())
        except (OSError, ValueError, TypeError):
            return None
        return key if isinstance(key, rsa.RSAPrivateKey) else None
