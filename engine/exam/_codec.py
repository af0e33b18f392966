"""Provides the byte-exact encodings exam files rely on: canonical JSON, digests and base64.

Canonical JSON is ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode("utf-8")``: keys sorted, no insignificant whitespace, UTF-8, no NaN or
infinity. Every signature and digest in bundles, results, reviews and credentials is computed
over these bytes, so a file may be re-indented or re-ordered without breaking its signature,
while any change of a value does break it.

Files are parsed with orjson where it gives exactly what :func:`json.loads` gives, and the
canonical bytes of data parsed that way are encoded with orjson where they are provably the
same bytes (see :func:`load_json_document` and :func:`canonical_plain`); anything else goes
through the :mod:`json` module, so results, messages and signatures never depend on which
library did the work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from engine.errors import ExamError

__all__ = ["b64d", "b64e", "canonical", "canonical_plain", "digest", "load_json_document", "read_json_document",
           "write_private"]


def canonical(obj: Any) -> bytes:
    """Return the canonical JSON bytes of ``obj``.

    Raises:
        ExamError: when ``obj`` holds something JSON cannot carry (NaN, a set, an object).
    """
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ExamError(f"cannot encode exam data as JSON: {exc}") from None


def canonical_plain(obj: Any) -> bytes:
    """Return :func:`canonical` of data that :func:`load_json_document` parsed with orjson (``plain``).

    Such data holds dicts, lists, strings, booleans, None, integers of 64 bits at most and
    finite floats only. For those, orjson with sorted keys writes the same bytes as
    :func:`canonical` (same escapes, same key order, same numbers) except for floats from 1e-9
    to 1e-4, which Python writes ``1e-05`` or ``1e-09`` and orjson ``0.00001`` or ``1e-9``: when
    the output may hold one of those, it is encoded again by :func:`canonical`.
    """
    try:
        encoded = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return canonical(obj)
    return canonical(obj) if _may_hold_small_float(encoded) else encoded


def _may_hold_small_float(encoded: bytes) -> bool:
    """Whether orjson's output may hold a float it writes unlike :func:`repr` (1e-9 <= |x| < 1e-4).

    Strings that look like such a number give a false alarm (the data is then encoded again),
    never a missed number.
    """
    # 1e-05 is 0.00001 to orjson; 1e-06 .. 1e-09 are 1e-6 .. 1e-9 (a one-digit negative exponent).
    return b"0.0000" in encoded or _SHORT_EXPONENT.search(encoded) is not None \
        or _SHORT_EXPONENT_AT_END.search(encoded[-4:]) is not None


_SHORT_EXPONENT = re.compile(rb"e-[0-9][,\]}]")
_SHORT_EXPONENT_AT_END = re.compile(rb"e-[0-9]\Z")


def digest(obj: Any) -> str:
    """Return the SHA-256 of the canonical JSON of ``obj``, as hex."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def b64e(data: bytes) -> str:
    """Encode bytes as unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64d(text: Any, what: str) -> bytes:
    """Decode unpadded URL-safe base64.

    Raises:
        ExamError: naming ``what`` when the text is not base64.
    """
    if not isinstance(text, str):
        raise ExamError(f"{what} is missing or not text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ExamError(f"{what} is not valid base64") from None


def read_json_document(path: Path, what: str, max_bytes: int = 256 * 1024 * 1024) -> Any:
    """Read a JSON file, with one clear error for every way it can be unreadable.

    Args:
        path: the file.
        what: what the file should be ("exam bundle", "result"), used in messages.
        max_bytes: refuse files larger than this.

    Raises:
        ExamError: when the file is missing, too large, not UTF-8 or not JSON (e.g. truncated).
    """
    return load_json_document(path, what, max_bytes)[0]


def load_json_document(path: Path, what: str, max_bytes: int = 256 * 1024 * 1024) -> tuple[Any, bool]:
    """Read a JSON file as :func:`read_json_document` does, and say whether the data is plain.

    Returns:
        The data (always what :func:`json.loads` makes of the file) and whether orjson parsed it:
        then it holds no NaN, infinity or integer wider than 64 bits, and its canonical bytes may
        come from :func:`canonical_plain`.

    Raises:
        ExamError: when the file is missing, too large, not UTF-8 or not JSON (e.g. truncated).
    """
    a = "an" if what[:1].lower() in "aeiou" else "a"
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ExamError(f"{path}: no such file") from None
    except OSError as exc:
        raise ExamError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    size = status.st_size
    if stat.S_ISDIR(status.st_mode):
        raise ExamError(f"{path}: is a folder, not {a} {what}")
    if size > max_bytes:
        raise ExamError(f"{path}: {size} bytes is too large for {a} {what}")
    if size == 0:
        raise ExamError(f"{path}: the file is empty; it is not {a} {what}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExamError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    shape = raw.translate(_SHAPE)
    if not _may_hold_wide_integer(shape):
        try:
            # orjson refuses what json.loads refuses, and more (NaN, infinity, lone surrogates,
            # bytes that are not UTF-8, nesting beyond 1,024): those files take the path below.
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if _nesting_json_reads(shape, data):
                return data, True
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExamError(f"{path}: not {a} {what} (the file is not UTF-8 text)") from None
    try:
        return json.loads(text), False
    except json.JSONDecodeError as exc:
        near_end = exc.pos >= len(text.rstrip()) - 1
        reason = "it ends too early (truncated?)" if near_end else f"invalid JSON at line {exc.lineno}, column {exc.colno}"
        raise ExamError(f"{path}: not a readable {what}: {reason}") from None
    except RecursionError:
        raise ExamError(f"{path}: not a readable {what}: nested too deeply") from None


# Digits become "0"; what may come just before a digit of a number ("," ":" "-" and blanks) becomes
# ":"; "[" and "{" become "[".
_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x3A if b in b",:- \t\n\r" else 0x5B if b in b"[{" else b
               for b in range(256))
_WIDE = b"0" * 19


def _may_hold_wide_integer(shape: bytes) -> bool:
    """Whether a JSON text (translated by ``_SHAPE``) may hold an integer of 19 digits or more.

    orjson reads integers beyond 64 bits as floats where json.loads keeps them exact; such a
    text is left to json.loads. Digits inside strings may give a false alarm (the text is then
    parsed by json.loads), never a missed number.
    """
    return shape.startswith(_WIDE) or b":" + _WIDE in shape or b"[" + _WIDE in shape


def _nesting_json_reads(shape: bytes, data: Any) -> bool:
    """Whether json.loads, called from here, surely reads data nested as deeply as ``data``.

    json.loads gives up (RecursionError) at a depth that depends on the recursion limit and on
    how deep the calling code already is; orjson reads 1,024 levels wherever it is called. The
    number of ``[`` and ``{`` in the text bounds the depth; only when that bound is not enough is
    the depth itself measured.
    """
    frame: FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    budget = sys.getrecursionlimit() - depth - 50
    return shape.count(b"[") < budget or _depth(data) < budget


def _depth(data: Any) -> int:
    deepest = 0
    pending = [(data, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            pending += [(v, level + 1) for v in value if isinstance(v, dict | list)]
    return deepest


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by its owner only (0600), replacing it atomically."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
