"""Provides field documentation of the content models, read from their source on demand.

A model field is documented by the string literal right under it (an attribute docstring). pydantic
can collect these when each class is built, but that parses every class's source at import, which is
most of the start-up time of the tenant and the validator. The docs are needed only for the JSON
Schema and for the hint of a missing-key error, so they are read here, once per class, when asked for.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache

__all__ = ["field_doc", "field_docs"]


@cache
def _own_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings written in the body of ``cls`` itself."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source)
    body = next((node.body for node in tree.body if isinstance(node, ast.ClassDef)), [])
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def field_docs(cls: type) -> dict[str, str]:
    """Field name → its docstring, for ``cls`` and the classes it inherits fields from."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith(("builtins", "pydantic")):
            continue
        docs.update(_own_docs(klass))
    return docs


def field_doc(cls: type, name: str) -> str | None:
    """The docstring of field ``name`` of ``cls``, or None when it has none."""
    return field_docs(cls).get(name)
