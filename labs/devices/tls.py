"""Provides client TLS contexts as devices build them, including old firmware that stops at TLS 1.0."""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path
from typing import Literal

__all__ = ["client_context"]

_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def client_context(*, max_version: Literal["auto", "1.0", "1.1", "1.2", "1.3"] = "auto", cafile: Path | None = None,
                   verify: bool = True, cert: tuple[Path, Path] | None = None,
                   check_name: bool = True) -> ssl.SSLContext:
    """A client context.

    Args:
        max_version: the highest version offered; "1.0"/"1.1" model old firmware (and allow it,
            with OpenSSL's security level lowered as such devices need).
        cafile: the CA to trust (the local CA that stands in for public ones).
        verify: check the certificate chain.
        check_name: also check the server's name (against the name the client dialled).
        cert: a client certificate and key to present.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if max_version in ("1.0", "1.1"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = _VERSIONS[max_version]
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    elif max_version != "auto":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = _VERSIONS[max_version]
    if verify:
        ctx.check_hostname = check_name
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile is not None:
            ctx.load_verify_locations(cafile=str(cafile))
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx
