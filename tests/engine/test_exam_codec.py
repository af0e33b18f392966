"""Exam files parsed and encoded the fast way give exactly what the json module gives: the same
data, the same canonical bytes (so the same signatures and digests), the same errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ExamError
from engine.exam._codec import canonical, canonical_plain, load_json_document, read_json_document

# Numbers around every place where orjson and Python write or read them differently.
_AWKWARD_FLOATS = [1e-4, 9.99e-5, 1e-5, 1.5e-5, -4e-05, 1e-6, 2.5e-7, 1e-9, 9.9e-10, 1e-10, 3e-10, 5e-324, 1e16,
                   1e15, 9999999999999998.0, 1.2345678901234568e+17, 1e22, 1.7976931348623157e308, -0.0, 0.1, 2.5]
_AWKWARD_INTS = [0, -1, 2**53 + 1, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64 - 1, 2**64, 10**30, -10**30]

_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(_AWKWARD_FLOATS + _AWKWARD_INTS)
            | st.text())
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=24)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 and 1.0 differ, so do 0.0 and -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (a == b or math.isnan(a) and math.isnan(b)) and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def _load(tmp_path: Path, text: str | bytes) -> tuple[Any, bool]:
    path = tmp_path / "doc.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return load_json_document(path, "exam result")


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_documents, indent=st.sampled_from([None, 1]))
def test_parsed_data_and_canonical_bytes_match_the_json_module(document: Any, indent: int | None,
                                                               tmp_path: Path) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=indent is None)
    data, plain = _load(tmp_path, text)
    assert _same(data, json.loads(text))
    if plain:
        assert canonical_plain(data) == canonical(data)


@pytest.mark.parametrize("value", _AWKWARD_FLOATS + _AWKWARD_INTS)
def test_awkward_numbers_keep_their_value_and_their_bytes(value: Any, tmp_path: Path) -> None:
    document = {"result": {"points": value, "items": [value, {"v": value}]}}
    data, plain = _load(tmp_path, json.dumps(document))
    assert _same(data, document)
    assert canonical_plain(data) == canonical(data)


@pytest.mark.parametrize("text", [
    '{"a": NaN}', '{"a": Infinity}', '[-Infinity]', '[1e400]', '["\\ud800"]', '["\\udfff\\ud800"]',
    '[123456789012345678901234567890]', '{"a":1,"b":2,"a":3}', '"\\u2028\\u0000"', "[" * 200 + "]" * 200,
])
def test_what_orjson_reads_differently_is_read_by_json(text: str, tmp_path: Path) -> None:
    data, plain = _load(tmp_path, text)
    assert _same(data, json.loads(text))
    if plain:
        assert canonical_plain(data) == canonical(data)


@pytest.mark.parametrize("depth", [20, 700, 1020, 1100])
def test_deep_nesting_is_refused_where_json_refuses_it(depth: int, tmp_path: Path) -> None:
    text = "[" * depth + "{}" + "]" * depth
    try:
        json.loads(text)
    except RecursionError:
        with pytest.raises(ExamError, match="nested too deeply"):
            _load(tmp_path, text)
    else:
        data, _plain = _load(tmp_path, text)
        for _ in range(depth):
            assert isinstance(data, list) and len(data) == 1
            data = data[0]
        assert data == {}


def test_every_code_point_is_escaped_alike() -> None:
    text = "".join(chr(c) for c in range(0x800) if not 0xD800 <= c <= 0xDFFF) + "\u2028\u2029\ufeff\U0001F600"
    document = {text: [text, {"\x7f": "\x00\x1f\"\\/"}], "é": 1, "\U0001F600": 2, "\uffff": 3}
    assert canonical_plain(document) == canonical(document)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b'{"result": {"a": 1}', "truncated"), (b'{"a": 1,, "b": 2}\n', "invalid JSON at line 1"),
    (b'\xff\xfe{"a": 1}', "not UTF-8"), (b'{"a": "\xed\xa0\x80"}', "not UTF-8"), (b"\xef\xbb\xbf{}", "invalid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_unreadable_files_give_the_same_errors(content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ExamError, match=message):
        read_json_document(path, "exam result")
