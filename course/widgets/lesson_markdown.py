"""Provides the Markdown widget for course text: Textual's Markdown with lighter tables and code.

Textual's table block builds one widget per cell laid out in a grid, and its code block guesses the
language of unlabelled code with Pygments; for a lesson with several tables and transcripts that
costs hundreds of milliseconds every time a lesson is shown. Here a table is one widget drawing a
Rich table, and code without a language is shown as it is.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.style import Style
from textual.widgets import Markdown, Static
from textual.widgets._markdown import MarkdownBlock, MarkdownFence, MarkdownTable

from engine.services import md_parser

__all__ = ["CourseMarkdown"]


def _rich(content: Content) -> Text:
    """A Textual Content as Rich text (styles kept, links dropped: cells are not clickable)."""
    return Text.assemble(*((text, style.rich_style if style else "") for text, style in content.render(Style(), "")))


class TableBlock(MarkdownTable):
    """A Markdown table drawn as one Rich table."""

    DEFAULT_CSS = """
    TableBlock { width: 1fr; height: auto; margin-bottom: 1; }
    TableBlock > Static { width: 1fr; height: auto; }
    """

    def compose(self) -> ComposeResult:
        headers, rows = self._get_headers_and_rows()
        self._headers, self._rows = headers, rows
        table = Table(box=box.SQUARE, expand=False, show_lines=True, header_style="bold", padding=(0, 1))
        for header in headers:
            table.add_column(_rich(header), overflow="fold")
        for row in rows:
            table.add_row(*(_rich(cell) for cell in row))
        yield Static(table)

    async def _update_from_block(self, block: MarkdownBlock) -> None:
        await MarkdownBlock._update_from_block(self, block)


class CodeBlock(MarkdownFence):
    """A code block; unlabelled code (SMTP transcripts, cmdlets) is not run through language guessing."""

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        if not language:
            return Content(code)
        return super().highlight(code, language, ansi=ansi, dark=dark)


class CourseMarkdown(Markdown):
    """Course Markdown: the engine's parser (tables on, raw HTML off), links handled by the screen."""

    BLOCKS = {**Markdown.BLOCKS, "table_open": TableBlock, "fence": CodeBlock, "code_block": CodeBlock}

    def __init__(self, markdown: str | None = None, **kwargs: Any) -> None:
        super().__init__(markdown, parser_factory=md_parser, open_links=False, **kwargs)
