"""Provides text helpers for views: plain text of Markdown, lesson sections, transcript line kinds."""

from __future__ import annotations

import re
from typing import Literal

from labs.records import Line

__all__ = [
    "line_mark", "plain_text", "split_sections"
]


# -- text helpers ---------------------------------------------------------------------------------

_INLINE = re.compile(r"`([^`]*)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\([^)]*\)")


def plain_text(markdown: str, limit: int | None = None) -> str:
    """Return Markdown as one line of plain text (code, emphasis and links reduced to their text)."""
    text = " ".join(line.strip().lstrip("#>-* ").strip() for line in markdown.strip().splitlines() if line.strip())
    text = _INLINE.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def split_sections(markdown: str) -> tuple[str, ...]:
    """Cut Markdown before each ``## `` heading (never inside a fenced code block).

    Returns:
        The sections in order; joined with newlines they are the whole text again.
    """
    sections: list[list[str]] = [[]]
    fence: str | None = None
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        elif fence is None and line.startswith("## ") and any(x.strip() for x in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    return tuple("\n".join(lines).strip("\n") + "\n" for lines in sections if any(x.strip() for x in lines))


def line_mark(line: Line) -> Literal["client", "server", "info", "tls", "auth", "error"]:
    """Classify a transcript line for display: client, server, an event, TLS, AUTH or an error.

    Client and server lines stay distinct; the start of TLS and every step of AUTH are marked, and
    4xx/5xx replies and failed handshakes are errors.
    """
    text = line.text
    upper = text.upper()
    if line.dir == "C":
        if upper.startswith("STARTTLS"):
            return "tls"
        if upper.startswith("AUTH") or text == "<redacted>":
            return "auth"
        return "client"
    if line.dir == "S":
        if text[:1] in ("4", "5"):
            return "error"
        if text.startswith(("235", "334")):
            return "auth"
        if text.startswith("220 2.0.0"):
            return "tls"
        return "server"
    if upper.startswith(("TLS HANDSHAKE FAILED", "FIREWALL")) or "REJECTED" in upper:
        return "error"
    if upper.startswith("TLS"):
        return "tls"
    if upper.startswith(("AUTH", "XOAUTH2")):
        return "auth"
    return "info"
