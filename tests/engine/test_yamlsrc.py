"""The YAML reader: positions, duplicate keys, tabs, junk and size limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.problems import Problems
from engine.yamlsrc import MAX_FILE_BYTES, parse_yaml, read_yaml_file


def parse(text: str) -> tuple[object, list[str]]:
    problems = Problems()
    doc = parse_yaml(text, "f.yaml", problems)
    return (doc.data if doc else None), [str(p) for p in problems]


def test_marks_are_one_based_for_keys_and_values() -> None:
    problems = Problems()
    doc = parse_yaml("a: 1\nb:\n  - x\n  - y: 2\n", "f.yaml", problems)
    assert doc is not None and not problems
    assert doc.data == {"a": 1, "b": ["x", {"y": 2}]}
    assert (doc.key_marks[("b",)].line, doc.key_marks[("b",)].col) == (2, 1)
    assert (doc.value_marks[("b", 1, "y")].line, doc.value_marks[("b", 1, "y")].col) == (4, 8)
    # An unknown deeper path falls back to its deepest known ancestor.
    assert doc.locate(("b", 1, "y", "zz")) == doc.value_marks[("b", 1, "y")]


def test_block_scalar_records_its_first_content_line() -> None:
    problems = Problems()
    doc = parse_yaml("id: x\nbody: |\n  line one\n  line two\n", "f.yaml", problems)
    assert doc is not None
    assert doc.block_starts[("body",)] == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: duplicate key 'a' (first defined on line 1)"),
        ("a:\n\tb: 1\n", "f.yaml:2:1: tab character in indentation"),
        ("", "f.yaml:1:1: file is empty"),
        ("   \n\n", "f.yaml:1:1: file is empty"),
        ("a: 1\n---\nb: 2\n", "f.yaml:3:1: more than one YAML document"),
        ("a: [1, 2\n", "f.yaml:2:1: invalid YAML"),
        ("a: 1\n b: 2\n", "f.yaml:2:3: invalid YAML"),
        ("a: \x00\n", "f.yaml:1:4: file contains NUL bytes"),
        ("a: \x07bell\n", "f.yaml:1:4: invalid YAML"),
        ("<<: {a: 1}\n", "f.yaml:1:1: merge keys"),
        ("? [a, b]\n: 1\n", "f.yaml:1:3: keys must be plain scalars"),
    ],
)
def test_bad_yaml_is_located(text: str, expected: str) -> None:
    data, problems = parse(text)
    assert data is None
    assert problems and problems[0].startswith(expected), problems


def test_alias_bomb_is_refused_with_a_location() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    data, problems = parse("\n".join(lines) + "\n")
    assert data is None
    assert any("alias bomb" in p for p in problems)


def test_oversized_and_non_utf8_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (MAX_FILE_BYTES + 10) + b"\n")
    problems = Problems()
    assert read_yaml_file(big, "big.yaml", problems) is None
    assert str(problems.sorted()[0]).startswith("big.yaml:1:1: file is 2.0 MB")

    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    problems = Problems()
    assert read_yaml_file(latin, "latin.yaml", problems) is None
    assert str(problems.sorted()[0]) == "latin.yaml:2:7: file is not UTF-8 text (byte 0xe9)"
