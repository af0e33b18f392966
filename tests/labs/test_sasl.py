"""XOAUTH2 SASL framing (reference §5): the golden vector both ways, and every malformed shape."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labs.tenant.sasl import MAX_SASL_BYTES, SaslError, decode_xoauth2, encode_xoauth2

# Reference §5, from Microsoft's "Authenticate an IMAP, POP or SMTP connection using OAuth".
GOLDEN_USER = "test@contoso.onmicrosoft.com"
GOLDEN_TOKEN = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"
GOLDEN_BLOB = ("dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0Nj"
               "bFJDM0VvQUEBAQ==")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def test_golden_vector_encodes_exactly() -> None:
    assert encode_xoauth2(GOLDEN_USER, GOLDEN_TOKEN) == GOLDEN_BLOB


def test_golden_vector_decodes_exactly() -> None:
    assert decode_xoauth2(GOLDEN_BLOB) == (GOLDEN_USER, GOLDEN_TOKEN)
    assert decode_xoauth2(GOLDEN_BLOB.encode()) == (GOLDEN_USER, GOLDEN_TOKEN)


@pytest.mark.parametrize("blob", [
    GOLDEN_BLOB + "\r\n",          # as read off an SMTP line
    "  " + GOLDEN_BLOB + " ",      # stray spaces around it
    bytearray(GOLDEN_BLOB.encode()),
])
def test_surrounding_white_space_and_buffer_types_are_accepted(blob: str | bytearray) -> None:
    assert decode_xoauth2(bytes(blob) if isinstance(blob, bytearray) else blob) == (GOLDEN_USER, GOLDEN_TOKEN)


def test_bearer_scheme_is_case_insensitive_like_http_auth() -> None:
    blob = b64(f"user={GOLDEN_USER}\x01auth=bearer {GOLDEN_TOKEN}\x01\x01".encode())
    assert decode_xoauth2(blob) == (GOLDEN_USER, GOLDEN_TOKEN)


def test_utf8_user_round_trips() -> None:
    user = "zoë.müller@contoso.com"
    assert decode_xoauth2(encode_xoauth2(user, "abc.def-ghi_jkl")) == (user, "abc.def-ghi_jkl")


@pytest.mark.parametrize("payload, why", [
    (b"user=a@b.c\x01auth=Bearer tok\x01", "only one closing ^A"),
    (b"user=a@b.c\x01auth=Bearer tok", "no closing ^A^A at all"),
    (b"user=a@b.c^Aauth=Bearer tok^A^A", "caret-A written out instead of 0x01"),
    (b"user=a@b.c\nauth=Bearer tok\n\n", "newlines as separators"),
    (b"user=a@b.c auth=Bearer tok\x01\x01", "space instead of the first ^A"),
    (b"auth=Bearer tok\x01user=a@b.c\x01\x01", "fields in the wrong order"),
    (b"auth=Bearer tok\x01\x01", "user= missing"),
    (b"user=a@b.c\x01\x01", "auth= missing"),
    (b"user=\x01auth=Bearer tok\x01\x01", "empty user"),
    (b"user=a@b.c\x01auth=Bearer \x01\x01", "empty token"),
    (b"user=a@b.c\x01auth=Basic dXNlcjpwYXNz\x01\x01", "Basic credentials, not a bearer token"),
    (b"user=a@b.c\x01auth=Bearertok\x01\x01", "no space after Bearer"),
    (b"user=a@b.c\x01auth=Bearer tok en\x01\x01", "space inside the token"),
    (b"user=a\x00b@c.d\x01auth=Bearer tok\x01\x01", "NUL inside the user"),
    (b"user=a@b.c\x01host=x\x01auth=Bearer tok\x01\x01", "an extra field"),
    (b"\xff\xfeuser=a@b.c\x01auth=Bearer tok\x01\x01", "not UTF-8"),
])
def test_malformed_payloads_raise_sasl_error(payload: bytes, why: str) -> None:
    with pytest.raises(SaslError):
        decode_xoauth2(b64(payload))


@pytest.mark.parametrize("blob, why", [
    ("", "empty"),
    ("   \r\n", "only white space"),
    ("not base64 at all!", "characters outside base64"),
    (GOLDEN_BLOB.rstrip("="), "padding removed"),
    (GOLDEN_BLOB[:-5], "truncated"),
    ("====", "padding only"),
    ("dXNlcj1h\x00YkBj", "NUL inside the base64"),
    ("dXNlcj1hYkBjé===", "non-ASCII character"),
])
def test_malformed_base64_raises_sasl_error(blob: str, why: str) -> None:
    with pytest.raises(SaslError):
        decode_xoauth2(blob)


def test_over_long_input_is_refused_before_decoding() -> None:
    huge_token = "A" * MAX_SASL_BYTES
    blob = b64(f"user=a@b.c\x01auth=Bearer {huge_token}\x01\x01".encode())
    with pytest.raises(SaslError, match="too long"):
        decode_xoauth2(blob)
    with pytest.raises(SaslError, match="too long"):
        decode_xoauth2(blob.encode())
    with pytest.raises(SaslError, match="too long"):
        decode_xoauth2("é" * (MAX_SASL_BYTES + 1))


def test_sasl_error_is_a_value_error_and_never_echoes_the_token() -> None:
    secret_token = "eyJ0eXAiOiJKV1Qi.c2VjcmV0.c2ln"
    try:
        decode_xoauth2(b64(f"user=a@b.c\x01auth=Bearer {secret_token} x\x01\x01".encode()))
    except SaslError as exc:
        assert isinstance(exc, ValueError)
        assert secret_token not in str(exc)
    else:
        pytest.fail("a token with a space was accepted")


@pytest.mark.parametrize("user, token", [
    ("", "tok"),
    ("a\x01b@c.d", "tok"),
    ("a@b.c", ""),
    ("a@b.c", "to\x01k"),
    ("a@b.c", "to k"),
])
def test_encode_refuses_what_would_break_the_framing(user: str, token: str) -> None:
    with pytest.raises(SaslError):
        encode_xoauth2(user, token)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_arbitrary_input_only_ever_raises_sasl_error(blob: bytes | str) -> None:
    try:
        user, token = decode_xoauth2(blob)
    except SaslError:
        return
    assert user and token and " " not in token


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80).filter(lambda s: not any(ord(c) < 32 or ord(c) == 127 for c in s)),
       st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200))
def test_encode_then_decode_is_identity(user: str, token: str) -> None:
    assert decode_xoauth2(encode_xoauth2(user, token)) == (user, token)
