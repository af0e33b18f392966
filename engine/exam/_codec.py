"""Provides the byte-exact encodings exam files rely on: canonical JSON, digests and base64.

Canonical JSON is ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode("utf-8")``: keys sorted, no insignificant whitespace, UTF-8, no NaN or
infinity. Every signature and digest in bundles, results, reviews and credentials is computed
over these bytes, so a file may be re-indented or re-ordered without breaking its signature,
while any change of a value does break it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from engine.errors import ExamError

__all__ = ["b64d", "b64e", "canonical", "digest", "read_json_document", "write_private"]


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
    a = "an" if what[:1].lower() in "aeiou" else "a"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ExamError(f"{path}: no such file") from None
    except OSError as exc:
        raise ExamError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise ExamError(f"{path}: is a folder, not {a} {what}")
    if size > max_bytes:
        raise ExamError(f"{path}: {size} bytes is too large for {a} {what}")
    if size == 0:
        raise ExamError(f"{path}: the file is empty; it is not {a} {what}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ExamError(f"{path}: not {a} {what} (the file is not UTF-8 text)") from None
    except OSError as exc:
        raise ExamError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        near_end = exc.pos >= len(text.rstrip()) - 1
        reason = "it ends too early (truncated?)" if near_end else f"invalid JSON at line {exc.lineno}, column {exc.colno}"
        raise ExamError(f"{path}: not a readable {what}: {reason}") from None
    except RecursionError:
        raise ExamError(f"{path}: not a readable {what}: nested too deeply") from None


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
