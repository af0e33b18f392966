"""Provides the XOAUTH2 SASL format that SMTP clients use to present an OAuth access token.

The initial response is ``base64("user=" + user + "\\x01auth=Bearer " + token + "\\x01\\x01")``
(reference §5): two fields, each ended by ``^A`` (0x01), and one more ``^A`` to close. Decoding
is strict, as a server must be with text an untrusted client sent: anything that is not exactly
that shape raises :class:`SaslError`, and nothing is decoded from input over 64 KiB.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["MAX_SASL_BYTES", "SaslError", "decode_xoauth2", "encode_xoauth2"]

MAX_SASL_BYTES = 64 * 1024
"""Longer responses are refused before they are decoded."""

_B64_RE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")
_SCHEME = "bearer "


class SaslError(ValueError):
    """The XOAUTH2 response is malformed (the message says how; it never contains the token)."""


def encode_xoauth2(user: str, token: str) -> str:
    """Return the base64 XOAUTH2 initial response for ``user`` and ``token``.

    Raises:
        SaslError: when ``user`` or ``token`` is empty or contains a control character (which would
            break the framing).
    """
    if not user or _CONTROL_RE.search(user):
        raise SaslError("the user must be non-empty and free of control characters")
    if not token or not _TOKEN_RE.match(token):
        raise SaslError("the token must be non-empty printable ASCII without spaces")
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    return base64.b64encode(raw).decode("ascii")


def decode_xoauth2(blob: str | bytes) -> tuple[str, str]:
    """Decode an XOAUTH2 response into ``(user, token)``.

    Args:
        blob: the base64 text after ``AUTH XOAUTH2`` or sent after the ``334`` challenge;
            surrounding white space (a trailing CRLF) is ignored.

    Returns:
        The user (the mailbox to act as) and the bearer token.

    Raises:
        SaslError: for over-long input, characters outside base64, bad padding, text that is not
            UTF-8, a missing ``user=`` or ``auth=Bearer`` field, wrong separators, extra fields,
            or control characters in the user or token.
    """
    if isinstance(blob, str):
        if len(blob) > MAX_SASL_BYTES:
            raise SaslError("response too long")
        try:
            raw = blob.encode("ascii")
        except UnicodeEncodeError:
            raise SaslError("not base64 (non-ASCII characters)") from None
    elif isinstance(blob, bytes | bytearray | memoryview):
        raw = bytes(blob)
    else:
        raise SaslError("not base64")
    if len(raw) > MAX_SASL_BYTES:
        raise SaslError("response too long")
    raw = raw.strip(b" \t\r\n")
    if not raw:
        raise SaslError("empty response")
    if len(raw) % 4 or not _B64_RE.match(raw):
        raise SaslError("not base64")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("not base64") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError("not UTF-8") from None
    if not text.endswith("\x01\x01"):
        raise SaslError("fields are not closed with ^A^A")
    fields = text[:-2].split("\x01")
    if len(fields) != 2:
        raise SaslError(f"expected two fields (user=, auth=), found {len(fields)}")
    user_field, auth_field = fields
    if not user_field.startswith("user="):
        raise SaslError("the first field is not user=")
    user = user_field[5:]
    if not user or _CONTROL_RE.search(user):
        raise SaslError("empty user or control characters in it")
    if not auth_field.startswith("auth="):
        raise SaslError("the second field is not auth=")
    credentials = auth_field[5:]
    if credentials[: len(_SCHEME)].lower() != _SCHEME:
        raise SaslError("auth= does not hold a Bearer token")
    token = credentials[len(_SCHEME):]
    if not token or not _TOKEN_RE.match(token):
        raise SaslError("empty token, or spaces or control characters in it")
    return user, token
