"""Provides inline Markdown (code spans, bold, italics) as Rich text for labels and options."""

from __future__ import annotations

import re

from rich.text import Text

__all__ = ["inline_text"]

_SPAN = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*")


def inline_text(markdown: str) -> Text:
    """Turn inline Markdown into styled text: `code` bold, **bold** bold, *em* italic."""
    text = Text()
    last = 0
    for match in _SPAN.finditer(markdown):
        text.append(markdown[last:match.start()])
        code, bold, em = match.groups()
        if code is not None:
            text.append(code, "bold")
        elif bold is not None:
            text.append(bold, "bold")
        else:
            text.append(em or "", "italic")
        last = match.end()
    text.append(markdown[last:])
    return text
