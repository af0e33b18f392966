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

from dataclasses import dataclass
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


class YamlDoc:
    """Plain data built from one YAML document, with the position of every key and value.

    The positions are worked out only when something asks for one (a problem to locate): most
    files are valid, and building plain data is then all that is needed.
    """

    def __init__(self, path: str, text: str, data: Any) -> None:
        self.path = path
        self.text = text
        self.data = data
        self._marks: tuple[dict[Path_, Mark], dict[Path_, Mark], dict[Path_, int]] | None = None

    def _set_marks(self, values: dict[Path_, Mark], keys: dict[Path_, Mark], blocks: dict[Path_, int]) -> None:
        self._marks = (values, keys, blocks)

    def _index(self) -> tuple[dict[Path_, Mark], dict[Path_, Mark], dict[Path_, int]]:
        if self._marks is None:
            marked = YamlDoc(self.path, self.text, None)
            marked._set_marks({}, {}, {})
            nodes = [n for n in yaml.compose_all(self.text, Loader=_Loader) if n is not None]
            if nodes:
                _Builder(marked, Problems()).build(nodes[0], ())
            assert marked._marks is not None
            self._marks = marked._marks
        return self._marks

    @property
    def value_marks(self) -> dict[Path_, Mark]:
        """Where each value starts."""
        return self._index()[0]

    @property
    def key_marks(self) -> dict[Path_, Mark]:
        """Where each mapping key starts."""
        return self._index()[1]

    @property
    def block_starts(self) -> dict[Path_, int]:
        """For block scalars (``|`` and ``>``): the 1-based line of the scalar's first content line."""
        return self._index()[2]

    def locate(self, loc: Path_, *, prefer_key: bool = False) -> Mark | None:
        """Return the mark of ``loc`` or of its deepest ancestor that has one.

        Args:
            loc: a key path such as ``("questions", 3, "answer")``.
            prefer_key: point at the key rather than its value (unknown keys, wrong types of a
                mapping entry).
        """
        values, keys, _blocks = self._index()
        probe = tuple(loc)
        while True:
            if prefer_key and probe in keys:
                return keys[probe]
            if probe in values:
                return values[probe]
            if probe in keys:
                return keys[probe]
            if not probe:
                return None
            probe = probe[:-1]


class _SlowPath(Exception):
    """The fast reader met something the located reader must handle (and explain)."""


_KEY_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool")}


class _FastLoader(_Loader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader, refusing what relaylab's files may not contain (duplicate keys and the
    like) by handing over to the located reader, which reports it."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise _SlowPath  # an alias: the located reader bounds its expansion
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _value in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _KEY_TAGS:
                raise _SlowPath
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise _SlowPath
            seen.add(key)
        return dict(super().construct_mapping(node, deep=True))


def _fast(text: str) -> Any:
    """Plain data of a file that is one ordinary document; raises _SlowPath otherwise."""
    try:
        docs = list(yaml.load_all(text, Loader=_FastLoader))
    except (yaml.YAMLError, ValueError, OverflowError):
        raise _SlowPath from None
    if len(docs) != 1 or docs[0] is None:
        raise _SlowPath
    return docs[0]


class _Builder:
    """Turns a composed node tree into plain data and marks, reporting problems."""

    def __init__(self, doc: YamlDoc, problems: Problems) -> None:
        self.doc = doc
        self.problems = problems
        self.constructor = SafeConstructor()
        self.count = 0
        self.too_many = False

    def _mark(self, path: Path_, node: Node) -> None:
        assert self.doc._marks is not None
        self.doc._marks[0][path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)

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
        self._mark(path, node)
        assert self.doc._marks is not None
        if isinstance(node, ScalarNode):
            if node.style in ("|", ">"):
                self.doc._marks[2][path] = node.start_mark.line + 2
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
                self.doc._marks[1][(*path, key)] = Mark(line, key_node.start_mark.column + 1)
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
    doc = YamlDoc(path, text, None)
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
        doc.data = _fast(text)
        return doc
    except _SlowPath:
        pass
    doc._set_marks({}, {}, {})
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
