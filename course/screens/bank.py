"""Provides the interview question bank: browse and search by level, tag and text, practise a
question (free text scored on key points), or start flashcards from the same filter."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Markdown, Select, Static

from course.context import Context
from course.messages import PracticeQuestions, StartFlashcards
from engine.services import BankEntry, md_parser

__all__ = ["BankScreen"]

KINDS = {"single": "single", "multiple": "multi", "order": "order", "match": "match", "short": "short",
         "free": "free"}


class BankScreen(Screen[None]):
    """The question bank."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("slash", "search", "Search"),
        Binding("f", "flashcards", "Flashcards"),
        Binding("enter", "practise", "Practise"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(id="bank-screen")
        self.ctx = ctx
        self.entries: list[BankEntry] = []
        self._searched: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="bank-filters"):
            yield Input(placeholder="Search (/)", id="bank-search")
            yield Select[str]([("L1", "L1"), ("L2", "L2"), ("L3", "L3")], prompt="Level", id="bank-level")
            yield Select[str]([], prompt="Tag", id="bank-tag")
            yield Select[str]([("Interview", "interview"), ("All questions", "all")], value="interview",
                              allow_blank=False, id="bank-scope")
        with Horizontal(id="bank-body"):
            table: DataTable[str | Text] = DataTable(id="bank-table", cursor_type="row", zebra_stripes=True)
            yield table
            with VerticalScroll(id="bank-preview"):
                yield Markdown(id="bank-question", parser_factory=md_parser, open_links=False)
        yield Static("", id="bank-count")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Interview question bank"
        table = self.query_one("#bank-table", DataTable)
        table.add_columns("Level", "Kind", "Question", "Done")
        self.query_one("#bank-tag", Select).set_options((t, t) for t in self.ctx.service.bank_tags())
        self.search()
        table.focus()

    def on_screen_suspend(self) -> None:
        self._searched = None  # answers may change elsewhere: list again when shown again

    def on_screen_resume(self) -> None:
        if self._searched is None:
            self.search()

    @on(Input.Changed, "#bank-search")
    @on(Select.Changed)
    def filters_changed(self) -> None:
        self.search()

    def search(self) -> None:
        """Search again when a filter really changed (the filters also announce themselves on mount)."""
        text = self.query_one("#bank-search", Input).value
        level = self.query_one("#bank-level", Select).value
        tag = self.query_one("#bank-tag", Select).value
        scope = self.query_one("#bank-scope", Select).value
        if (text, level, tag, scope) != self._searched:
            self._searched = (text, level, tag, scope)
            self._search(text, level, tag, scope)

    @work(exclusive=True, group="search")
    async def _search(self, text: str, level: object, tag: object, scope: object) -> None:
        """Run the search with these filters."""
        self.entries = await asyncio.to_thread(
            self.ctx.service.search_bank, self.ctx.learner_id, text,
            level if isinstance(level, str) else None, tag if isinstance(tag, str) else None, scope != "all")
        table = self.query_one("#bank-table", DataTable)
        current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        table.clear()
        for entry in self.entries:
            done = Text("✓", style="green") if entry.right else Text(f"{entry.answered}×" if entry.answered else "")
            table.add_row(entry.level, KINDS[entry.kind], entry.title, done, key=entry.id)
        ids = [entry.id for entry in self.entries]
        if current in ids:  # listed again (back from practice): stay on the same question
            table.move_cursor(row=ids.index(current), animate=False)
        count = len(self.entries)
        self.query_one("#bank-count", Static).update(
            f"{count} question{'s' if count != 1 else ''} · Enter practise · f flashcards from this list")
        if not self.entries:
            await self.query_one("#bank-question", Markdown).update("*No question matches. Clear the search or filters.*")

    @on(DataTable.RowHighlighted, "#bank-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.preview(event.row_key.value)

    @work(exclusive=True, group="preview")
    async def preview(self, question_id: str) -> None:
        """Show the highlighted question beside the list."""
        view = self.ctx.service.question(question_id)
        tags = ", ".join(view.tags)
        lesson = f"\n\nTaught in: *{view.lesson.title}*" if view.lesson else ""
        await self.query_one("#bank-question", Markdown).update(f"{view.prompt}\n\n`{view.level}` · {tags}{lesson}")

    @on(DataTable.RowSelected, "#bank-table")
    def selected(self) -> None:
        self.action_practise()

    def action_practise(self) -> None:
        """Practise the highlighted question and the ones after it."""
        table = self.query_one("#bank-table", DataTable)
        if not self.entries or table.cursor_row < 0:
            return
        ids = tuple(e.id for e in self.entries[table.cursor_row:table.cursor_row + 10])
        self.post_message(PracticeQuestions(ids, "Interview practice", "interview"))

    def action_search(self) -> None:
        """Focus the search box."""
        self.query_one("#bank-search", Input).focus()

    @on(Input.Submitted, "#bank-search")
    def search_done(self) -> None:
        self.query_one("#bank-table", DataTable).focus()

    def action_flashcards(self) -> None:
        """Flashcards drawn from the questions listed (search and filters applied)."""
        if not self.entries:
            self.notify("No question is listed: clear the search or filters first.", timeout=3)
            return
        self.post_message(StartFlashcards(tuple(e.id for e in self.entries), "Flashcards from the bank"))
