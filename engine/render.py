"""Provides the one render path for instructor Markdown: sandboxed Jinja2, then markdown-it-py.

Instructor files are untrusted input. Templates render in Jinja2's ``SandboxedEnvironment`` with
``StrictUndefined`` (an unknown variable is an error with its location), with no loader (so no
``include``, ``import`` or file access) and a cap on output size. Markdown is parsed with raw HTML
off and tables on. In-course links use the ``lesson:<id>`` and ``glossary:<id>`` schemes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt

__all__ = ["InternalLink", "RenderError", "internal_links", "md_parser", "render_markdown"]

MAX_OUTPUT = 512 * 1024
"""Rendered text larger than this is refused (a lesson is a few KB)."""


class RenderError(Exception):
    """A template that cannot render; ``line`` is relative to the template's first line (1-based)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()  # no range(), dict(), lipsum() etc. beyond what the template is given
    return env


_ENV = _environment()


def render_markdown(source: str, variables: Mapping[str, Any]) -> str:
    """Render the Jinja2 variables of a Markdown body in the sandbox.

    Args:
        source: the Markdown text with ``{{ tenant.* }}`` variables.
        variables: the template context, e.g. ``{"tenant": scenario.template_vars()}``.

    Returns:
        The rendered Markdown.

    Raises:
        RenderError: for syntax errors, unknown variables and sandbox violations, with a line.
    """
    if "{" not in source:
        return source
    fast = _render_simple(source, variables)
    if fast is not None:
        return fast
    try:
        template = _ENV.from_string(source)
        text = template.render(**variables)
    except TemplateSyntaxError as exc:
        raise RenderError(f"template syntax error: {exc.message}", exc.lineno) from None
    except UndefinedError as exc:
        raise RenderError(f"unknown template variable: {exc.message}", _line_of(exc, source)) from None
    except SecurityError as exc:
        raise RenderError(f"not allowed in a template: {exc}", _line_of(exc, source)) from None
    except TemplateError as exc:
        raise RenderError(f"template error: {exc}", _line_of(exc, source)) from None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise RenderError(f"template error: {exc}", _line_of(exc, source)) from None
    if len(text) > MAX_OUTPUT:
        raise RenderError(f"rendered text is larger than {MAX_OUTPUT // 1024} KB", 1)
    return text


_VAR = re.compile(r"\{\{\s*(?P<expr>[A-Za-z][\w]*(?:\.[A-Za-z][\w]*|\[\s*'[^'\\]*'\s*\]|\[\s*\"[^\"\\]*\"\s*\]|\[\s*\d{1,4}\s*\])*)\s*\}\}")
_PART = re.compile(r"\.(?P<attr>[A-Za-z][\w]*)|\[\s*(?:'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\"|(?P<idx>\d{1,4}))\s*\]")


def _lookup(expr: str, variables: Mapping[str, Any]) -> tuple[bool, Any]:
    """Resolve ``name``, ``a.b``, ``a['b']`` and ``a[0]`` over plain dicts and lists; (False, None) when not found."""
    head = re.match(r"[A-Za-z][\w]*", expr)
    assert head is not None
    value: Any = variables
    parts: list[str | int] = [head.group(0)]
    for m in _PART.finditer(expr, head.end()):
        parts.append(int(m.group("idx")) if m.group("idx") is not None else m.group("attr") or m.group("sq") or m.group("dq") or "")
    for key in parts:
        if isinstance(key, int):
            if not isinstance(value, list | tuple) or key >= len(value):
                return False, None
        elif not isinstance(value, Mapping) or key.startswith("_") or key not in value:
            return False, None
        value = value[key]
    return True, value


def _render_simple(source: str, variables: Mapping[str, Any]) -> str | None:
    """Render text whose only template syntax is plain ``{{ a.b['c'] }}`` / ``{{ a.b[0] }}`` lookups, without Jinja.

    Anything else (tags, comments, filters, unknown names, underscores) returns None and takes the
    full sandboxed path, which also produces the located error messages.
    """
    if "{%" in source or "{#" in source:
        return None
    out: list[str] = []
    last = 0
    for match in _VAR.finditer(source):
        ok, value = _lookup(match.group("expr"), variables)
        if not ok or not isinstance(value, str | int | float) or isinstance(value, bool):
            return None
        gap = source[last:match.start()]
        if "{{" in gap or "}}" in gap:
            return None  # an expression the fast path does not understand: let Jinja render it
        out.append(gap)
        out.append(str(value))
        last = match.end()
    rest = source[last:]
    if "{{" in rest or "}}" in rest:
        return None
    out.append(rest)
    text = "".join(out)
    return text if len(text) <= MAX_OUTPUT else None


def _line_of(exc: BaseException, source: str) -> int | None:
    """Find the template line an exception was raised on, from Jinja's rewritten traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, UndefinedError):
        # Fall back to the first line that uses the missing name.
        name = str(exc.message or "").split("'")[-2] if "'" in str(exc.message) else ""
        for number, text in enumerate(source.splitlines(), start=1):
            if name and name in text and "{" in text:
                return number
    return line


def md_parser() -> MarkdownIt:
    """Return a Markdown parser for course text: CommonMark, tables and strikethrough, no raw HTML."""
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class InternalLink:
    """A ``lesson:`` or ``glossary:`` link found in Markdown."""

    scheme: str
    target: str
    line: int
    """1-based line in the Markdown text."""


_LINK = re.compile(r"\]\((lesson|glossary):([^)\s]*)\)")


def internal_links(markdown: str) -> Iterator[InternalLink]:
    """Yield every ``lesson:<id>`` and ``glossary:<id>`` link with its line.

    A plain scan for ``](lesson:...)``: Markdown parsing is not needed to find link targets, and
    this runs over every lesson, question and lab at load time.
    """
    if "](lesson:" not in markdown and "](glossary:" not in markdown:
        return
    for match in _LINK.finditer(markdown):
        yield InternalLink(match.group(1), match.group(2), markdown.count("\n", 0, match.start()) + 1)
