"""Provides the one way relaylab reads YAML: safely, with positions, and strictly.

``yaml.compose`` (the C loader when libyaml is present) yields nodes that carry their marks. We
build plain Python data from those nodes ourselves so that we can

* reject duplicate keys, which the default constructor silently drops,
* remember where every key and value sits, so that a pydantic error's ``loc`` maps back to a
  ``FILE:LINE:COL``,
* refuse tabs in indentation, binary junk, oversized files and alias bombs with a clear message.

Marks from PyYAML are 0-based; everything this module returns is 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.problems import Problems

__all__ = ["MAX_FILE_BYTES", "Mark", "YamlDoc", "parse_yaml", "read_yaml_file"]

try:  # pragma: no cover - depends on how PyYAML was built
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Content files larger than this are refused before parsing (a course file is a few KB)."""

MAX_NODES = 200_000
"""Upper bound on constructed values, which stops alias ("billion laughs") expansion."""

Path_ = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    col: int


@dataclass
class YamlDoc:
    """Plain data built from one YAML document, with the position of every key and value."""

    path: str
    text: str
    data: Any
    value_marks: dict[Path_, Mark] = field(default_factory=dict)
    key_marks: dict[Path_, Mark] = field(default_factory=dict)
    block_starts: dict[Path_, int] = field(default_factory=dict)
    """For block scalars (``|`` and ``>``): the 1-based line of the scalar's first content line."""

    def locate(self, loc: Path_, *, prefer_key: bool = False) -> Mark | None:
        """Return the mark of ``loc`` or of its deepest ancestor that has one.

        Args:
            loc: a key path such as ``("questions", 3, "answer")``.
            prefer_key: point at the key rather than its value (unknown keys, wrong types of a
                mapping entry).
        """
        probe = tuple(loc)
        while True:
            if prefer_key and probe in self.key_marks:
                return self.key_marks[probe]
            if probe in self.value_marks:
                return self.value_marks[probe]
            if probe in self.key_marks:
                return self.key_marks[probe]
            if not probe:
                return None
            probe = probe[:-1]


class _Builder:
    """Turns a composed node tree into plain data and marks, reporting problems."""

    def __init__(self, doc: YamlDoc, problems: Problems) -> None:
        self.doc = doc
        self.problems = problems
        self.constructor = SafeConstructor()
        self.count = 0
        self.too_many = False

    def _problem(self, node: Node, message: str) -> None:
        self.problems.add(
            self.doc.path,
            message,
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            self.doc.text,
        )

    def build(self, node: Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if not self.too_many:
                self.too_many = True
                self._problem(node, f"document expands to more than {MAX_NODES} values (alias bomb?)")
            return None
        self.doc.value_marks[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            if node.style in ("|", ">"):
                self.doc.block_starts[path] = node.start_mark.line + 2
            if node.tag == _STR_TAG:
                return node.value
            try:
                return self.constructor.construct_object(node, deep=True)
            except (ConstructorError, ValueError, OverflowError) as exc:
                self._problem(node, f"cannot read value: {exc}".split("\n")[0])
                return None
        if isinstance(node, SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[Any, Any] = {}
            first_seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._problem(key_node, "merge keys ('<<') are not supported in course files; write the keys out")
                    continue
                if not isinstance(key_node, ScalarNode):
                    self._problem(key_node, "keys must be plain scalars, not lists or mappings")
                    continue
                try:
                    key = self.constructor.construct_object(key_node)
                except (ConstructorError, ValueError) as exc:
                    self._problem(key_node, f"cannot read key: {exc}".split("\n")[0])
                    continue
                if not isinstance(key, str | int | bool | float) or key is None:
                    key = str(key)
                line = key_node.start_mark.line + 1
                if key in first_seen:
                    self._problem(key_node, f"duplicate key {key!r} (first defined on line {first_seen[key]})")
                    continue
                first_seen[key] = line
                self.doc.key_marks[(*path, key)] = Mark(line, key_node.start_mark.column + 1)
                result[key] = self.build(value_node, (*path, key))
            return result
        self._problem(node, "unsupported YAML node")  # pragma: no cover
        return None


def _check_tabs(path: str, text: str, problems: Problems) -> bool:
    """Report every line whose indentation contains a tab. Returns True when any was found."""
    found = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and stripped and not stripped.startswith("#"):
            problems.add(
                path,
                "tab character in indentation; YAML indents with spaces only",
                number,
                indent.index("\t") + 1,
                text,
            )
            found = True
    return found


def parse_yaml(text: str, path: str, problems: Problems) -> YamlDoc | None:
    """Parse one YAML document from ``text``.

    Args:
        text: the file's text.
        path: the name used in problem locations.
        problems: where every problem found is added.

    Returns:
        The document, or None when it could not be read at all (problems say why).
    """
    doc = YamlDoc(path=path, text=text, data=None)
    if not text.strip():
        problems.add(path, "file is empty; expected a YAML mapping", 1, 1)
        return None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        col = text.index("\x00") - (text.rfind("\n", 0, text.index("\x00")) + 1) + 1
        problems.add(path, "file contains NUL bytes; is it a binary file?", line, col)
        return None
    if _check_tabs(path, text, problems):
        return None
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and "while" in exc.context:
            reason = f"{exc.problem} ({exc.context})"
        problems.add(path, f"invalid YAML: {reason}", mark.line + 1 if mark else None,
                     mark.column + 1 if mark else None, text)
        return None
    except yaml.YAMLError as exc:  # reader errors carry a position but no mark object
        position = getattr(exc, "position", None)
        if isinstance(position, int):
            line = text.count("\n", 0, position) + 1
            col = position - (text.rfind("\n", 0, position) + 1) + 1
            problems.add(path, f"invalid YAML: {getattr(exc, 'reason', exc)}", line, col, text)
        else:
            problems.add(path, f"invalid YAML: {exc}".split("\n")[0], 1, 1)
        return None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        problems.add(path, "file has no YAML document; expected a mapping", 1, 1)
        return None
    if len(nodes) > 1:
        second = nodes[1]
        problems.add(
            path,
            "more than one YAML document ('---'); each course file holds exactly one",
            second.start_mark.line + 1,
            second.start_mark.column + 1,
            text,
        )
        return None
    before = len(problems)
    doc.data = _Builder(doc, problems).build(nodes[0], ())
    if len(problems) > before:
        return None
    return doc


def read_yaml_file(file: Path, shown_as: str, problems: Problems) -> YamlDoc | None:
    """Read and parse ``file``; ``shown_as`` is the path printed in problems."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        problems.add(shown_as, f"cannot read file: {exc.strerror}")
        return None
    if size > MAX_FILE_BYTES:
        problems.add(
            shown_as,
            f"file is {size / 1_048_576:.1f} MB; course files are limited to {MAX_FILE_BYTES // 1_048_576} MB",
            1,
            1,
        )
        return None
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.add(shown_as, f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x})", line, col)
        return None
    return parse_yaml(text, shown_as, problems)
