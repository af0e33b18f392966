"""Provides the bridge from pydantic's validation errors to located problems.

Each pydantic error's ``loc`` is walked through the document's data (dropping the tags pydantic
adds for union members) and looked up in the document's marks, so every problem points at the
key or value at fault. Messages name what was expected, the allowed values, and a "did you mean"
for misspelt keys and values.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError

from engine.models.fielddocs import field_doc
from engine.problems import Problems, did_you_mean
from engine.yamlsrc import YamlDoc

__all__ = ["real_path", "validate_doc"]

M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "datetime_type": "a date and time (2026-01-27T09:00:00Z)",
    "datetime_parsing": "a date and time (2026-01-27T09:00:00Z)",
    "datetime_from_date_parsing": "a date and time (2026-01-27T09:00:00Z)",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def real_path(data: Any, loc: Sequence[str | int]) -> tuple[tuple[str | int, ...], bool]:
    """Drop the union tags pydantic inserts in ``loc``; return the path and whether it all exists."""
    path: list[str | int] = []
    node = data
    exists = True
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                path.append(part)
                node = node[part]
                continue
            # Union member tags ('single', 'int', "literal['x']") are not keys of the data.
            if isinstance(part, str) and (part in {str(v) for v in node.values() if isinstance(v, str)}
                                          or "[" in part or part in _UNION_WORDS):
                continue
            path.append(part)
            exists = False
            node = None
        elif isinstance(node, list):
            if isinstance(part, int) and 0 <= part < len(node):
                path.append(part)
                node = node[part]
                continue
            if isinstance(part, str):
                continue
            path.append(part)
            exists = False
            node = None
        else:
            if isinstance(part, str) and ("[" in part or part in _UNION_WORDS):
                continue
            if node is not None or not exists:
                path.append(part)
            exists = False
            node = None
    return tuple(path), exists


_UNION_WORDS = {"str", "int", "float", "bool", "list", "dict", "none", "function-after", "function-plain"}


def _unwrap(annotation: Any, data: Any) -> Any:
    """Reduce Annotated/Optional/Union/list wrappers to the model class that governs ``data``."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if isinstance(data, dict) and models:
                kind = data.get("kind")
                for m in models:
                    field = m.model_fields.get("kind")
                    if field is not None and kind in get_args(field.annotation):
                        return m
                return models[0]
            annotation = members[0] if members else annotation
            if len(members) <= 1:
                continue
            return annotation
        return annotation


def _model_for(root: type[BaseModel], data: Any, path: Sequence[str | int]) -> type[BaseModel] | None:
    """Return the model class that describes the mapping at ``path``."""
    current: Any = root
    node = data
    for part in path:
        current = _unwrap(current, node)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (list, Sequence, tuple):
            args = get_args(current)
            current = args[0] if args else Any
        elif get_origin(current) is dict:
            args = get_args(current)
            current = args[1] if len(args) == 2 else Any
        else:
            return None
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
    current = _unwrap(current, node)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def validate_doc(
    model: type[M],
    doc: YamlDoc,
    problems: Problems,
    *,
    data: Any = None,
    base: tuple[str | int, ...] = (),
) -> M | None:
    """Validate ``doc`` (or ``data`` found at ``base`` in it) against ``model``.

    Returns:
        The model instance, or None when there were errors (each added to ``problems``).
    """
    value = doc.data if data is None else data
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            _report(model, doc, value, base, err, problems)
        return None


def _report(model: type[BaseModel], doc: YamlDoc, value: Any, base: tuple[str | int, ...],
            err: Any, problems: Problems) -> None:
    kind = err["type"]
    path, exists = real_path(value, err["loc"])
    full = base + path
    given = err.get("input")
    if kind == "missing":
        key = path[-1] if path else "?"
        parent_model = _model_for(model, value, path[:-1])
        hint = ""
        if parent_model is not None and str(key) in parent_model.model_fields:
            desc = parent_model.model_fields[str(key)].description or field_doc(parent_model, str(key))
            if desc:
                hint = f" ({desc.splitlines()[0].rstrip('.')})"
        mark = doc.locate(base + path[:-1], prefer_key=True)
        message = f"missing required key {key!r}{hint}"
    elif kind == "extra_forbidden":
        key = path[-1] if path else "?"
        parent_model = _model_for(model, value, path[:-1])
        allowed = list(parent_model.model_fields) if parent_model else []
        suggestion = did_you_mean(str(key), allowed)
        if not suggestion and allowed and len(allowed) <= 12:
            suggestion = " Allowed keys: " + ", ".join(allowed) + "."
        mark = doc.locate(full, prefer_key=True)
        message = f"unknown key {key!r}.{suggestion}"
    elif kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        suggestion = did_you_mean(str(given), options) if isinstance(given, str) else ""
        mark = doc.locate(full)
        message = f"expected one of {expected}; got {_describe(given)}.{suggestion}"
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        expected = ctx.get("expected_tags", "")
        tag = ctx.get("tag", given)
        options = [o.strip().strip("'") for o in str(expected).split(",")]
        mark = doc.locate(full + ("kind",)) or doc.locate(full)
        message = f"unknown kind {tag!r}; expected one of {expected}.{did_you_mean(str(tag), options)}"
    elif kind == "union_tag_not_found":
        mark = doc.locate(full, prefer_key=True)
        message = "missing required key 'kind' (which kind of item this is)"
    elif kind in _TYPE_WORDS:
        mark = doc.locate(full)
        message = f"expected {_TYPE_WORDS[kind]}; got {_describe(given)}"
    elif kind in ("too_short", "too_long"):
        mark = doc.locate(full)
        message = err["msg"].replace("List", "list").replace("Value", "value")
    elif kind == "string_pattern_mismatch":
        mark = doc.locate(full)
        message = (f"{_describe(given)} is not a valid id: use lower-case letters, digits and dashes"
                   if "a-z0-9" in err.get("ctx", {}).get("pattern", "") else err["msg"])
    else:
        mark = doc.locate(full)
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if kind in ("string_too_short",) and given == "":
            message = "must not be empty"
    if not exists and kind not in ("missing", "extra_forbidden"):
        mark = doc.locate(full, prefer_key=True)
    problems.add(doc.path, message, mark.line if mark else None, mark.col if mark else None, doc.text)
