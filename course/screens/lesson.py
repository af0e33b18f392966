"""Provides the lesson reader: rendered Markdown with its table of contents, objectives and key facts,
in-app links, "mark complete", next and previous, and the way on to the knowledge check.

A lesson appears section by section: the first section is painted at once and the others follow
one per frame, so switching lessons stays quick and keys are handled while the rest arrives.
"""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Markdown, Static
from textual.widgets.markdown import MarkdownTableOfContents

from course.context import Context
from course.dialogs.glossary import GlossaryDialog
from course.dialogs.links import LinksDialog
from course.messages import Navigate
from course.widgets.inline import inline_text
from course.widgets.lesson_markdown import CourseMarkdown
from engine.services import LessonView, LinkTarget, Target

__all__ = ["LessonScreen"]


class LessonScreen(Screen[None]):
    """Read one lesson; ``lesson_id`` can be changed to switch lessons in place.

    Args:
        ctx: the service and learner.
        lesson_id: the lesson to show first.
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("m", "complete", "Mark complete"),
        Binding("k", "check", "Check"),
        Binding("n", "next", "Next"),
        Binding("N", "previous", "Previous"),
        Binding("l", "links", "Links"),
        Binding("t", "panel('toc')", "Contents"),
        Binding("o", "panel('info')", "Objectives"),
    ]

    lesson_id: var[str] = var("", init=False)
    view: var[LessonView | None] = var(None, init=False)
    show_toc: var[bool] = var(True)
    show_info: var[bool] = var(True)

    def __init__(self, ctx: Context, lesson_id: str) -> None:
        super().__init__(id="lesson-screen")
        self.ctx = ctx
        self._first = lesson_id
        self._doc: Vertical | None = None
        self._stale: list[Vertical] = []
        self._toc: dict[int, list[tuple[int, str, str | None]]] = {}
        self.painted_at = 0.0
        """When the first section of the current lesson was painted (perf_counter; for benchmarks)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lesson-body"):
            yield MarkdownTableOfContents(Markdown(), id="lesson-toc")
            with VerticalScroll(id="lesson-scroll"):
                yield Static("", id="lesson-meta")
                yield Vertical(id="lesson-docs")
                with Vertical(id="lesson-end"):
                    yield Static("", id="lesson-refs")
                    with Horizontal(id="lesson-actions"):
                        yield Button("Mark complete", id="complete", variant="success")
                        yield Button("Knowledge check", id="check", variant="primary")
                        yield Button("Previous", id="previous")
                        yield Button("Next", id="next")
            with VerticalScroll(id="lesson-info"):
                yield Static("Objectives", classes="info-title")
                yield Static(id="lesson-objectives")
                yield Static("Key facts", classes="info-title")
                yield Static(id="lesson-facts")
        yield Footer()

    def on_mount(self) -> None:
        if self.app.size.width < 110:
            self.show_info = False
        if self.app.size.width < 90:
            self.show_toc = False
        self.lesson_id = self._first

    def watch_show_toc(self, show: bool) -> None:
        self.query_one("#lesson-toc").display = show

    def watch_show_info(self, show: bool) -> None:
        self.query_one("#lesson-info").display = show

    def action_panel(self, panel: str) -> None:
        """Show or hide the table of contents or the objectives panel."""
        if panel == "toc":
            self.show_toc = not self.show_toc
        else:
            self.show_info = not self.show_info

    def watch_lesson_id(self, old: str, new: str) -> None:
        if old:
            self._record_leaving(old)
        self.load(new)

    @work(group="time")
    async def _record_leaving(self, lesson_id: str) -> None:
        await asyncio.to_thread(self.ctx.service.leave_lesson, self.ctx.learner_id, lesson_id)

    @work(exclusive=True, group="lesson")
    async def load(self, lesson_id: str) -> None:
        """Open the lesson (recorded as where the learner is) and show it."""
        self.view = await asyncio.to_thread(self.ctx.service.open_lesson, self.ctx.learner_id, lesson_id)

    async def watch_view(self, old: LessonView | None, view: LessonView | None) -> None:
        if view is None:
            return
        self._show_meta(view)
        if old is not None and old.id == view.id:
            return  # only the completion changed
        self.sub_title = view.title
        if self._doc is not None:
            self._doc.display = False
            self._stale.append(self._doc)
        self._doc = Vertical(classes="lesson-doc")
        self._toc = {}
        await self.query_one("#lesson-docs").mount(self._doc)
        await self._doc.mount(CourseMarkdown(view.sections[0]))
        self.query_one("#lesson-scroll").scroll_home(animate=False)
        self.call_after_refresh(self._painted)
        self._show_panels(view)
        self._stream(self._doc, view.sections[1:])

    def _painted(self) -> None:
        self.painted_at = time.perf_counter()

    @work(exclusive=True, group="sections")
    async def _stream(self, doc: Vertical, sections: tuple[str, ...]) -> None:
        """Mount the other sections one per frame, then drop the lessons shown before."""
        for section in sections:
            await self._next_frame()
            await doc.mount(CourseMarkdown(section))
        stale, self._stale = self._stale, []
        for old in stale:
            await old.remove()

    async def _next_frame(self) -> None:
        frame: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def resolve() -> None:
            if not frame.done():
                frame.set_result(None)

        self.call_after_refresh(resolve)
        await frame

    def _show_panels(self, view: LessonView) -> None:
        self.query_one("#lesson-objectives", Static).update(
            Text("\n").join(Text("• ") + inline_text(o) for o in view.objectives))
        self.query_one("#lesson-facts", Static).update(Text("\n").join(Text("• ") + inline_text(f) for f in view.key_facts))
        refs = "\n".join(f"• {r}" for r in view.references)
        self.query_one("#lesson-refs", Static).update(Text(f"References\n{refs}" if refs else "", style="dim"))
        check = self.query_one("#check", Button)
        check.display = bool(view.questions)
        check.label = f"Knowledge check: {len(view.questions)} questions"
        for button_id, ref, arrow in (("#previous", view.previous, "← "), ("#next", view.next, "→ ")):
            button = self.query_one(button_id, Button)
            button.display = ref is not None
            if ref is not None:
                button.label = f"{arrow}{ref.title}"

    def _show_meta(self, view: LessonView) -> None:
        done = Text(" ✓ completed", style="bold green") if view.completed else Text("")
        self.query_one("#lesson-meta", Static).update(Text.assemble(
            (view.level, "bold"), f" · {view.module} · {view.position} · {view.minutes} min", done))
        button = self.query_one("#complete", Button)
        button.label = "Completed ✓" if view.completed else "Mark complete"
        button.disabled = view.completed

    # -- table of contents and links ----------------------------------------------------------------

    @on(Markdown.TableOfContentsUpdated)
    def toc_updated(self, message: Markdown.TableOfContentsUpdated) -> None:
        message.stop()
        if self._doc is None or message.markdown.parent is not self._doc:
            return
        self._toc[id(message.markdown)] = list(message.table_of_contents)
        combined = [entry for section in self._doc.children for entry in self._toc.get(id(section), [])]
        self.query_one(MarkdownTableOfContents).table_of_contents = combined

    @on(Markdown.TableOfContentsSelected)
    def toc_selected(self, message: Markdown.TableOfContentsSelected) -> None:
        message.stop()
        if self._doc is not None:
            block = self._doc.query_one(f"#{message.block_id}")
            self.query_one("#lesson-scroll", VerticalScroll).scroll_to_widget(block, top=True, animate=False)

    def action_links(self) -> None:
        """Pick one of the lesson's links from the keyboard."""
        if self.view is None or not self.view.links:
            self.notify("This lesson links to no other lesson or term.", timeout=3)
            return
        self.app.push_screen(LinksDialog(self.view.links), self._follow)

    def _follow(self, target: LinkTarget | None) -> None:
        if target is not None:
            self._open_link(target, target.target)

    @on(Markdown.LinkClicked)
    def link(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        self._open_link(self.ctx.service.resolve_link(message.href), message.href)

    def _open_link(self, target: LinkTarget, href: str) -> None:
        if target.kind == "lesson":
            self.post_message(Navigate(Target("lesson", target.target, target.title)))
        elif target.kind == "glossary":
            entry = self.ctx.service.glossary(target.target)
            if entry is not None:
                self.app.push_screen(GlossaryDialog(entry), self._glossary_closed)
        elif target.kind == "anchor":
            if self._doc is not None:
                any(section.goto_anchor(target.target) for section in self._doc.query(CourseMarkdown))
        elif target.kind == "external":
            self.notify(f"relaylab does not open a browser. The link is:\n{target.target}", title="Web link", timeout=8)
        else:
            self.notify(f"This link points nowhere: {href}", severity="warning")

    def _glossary_closed(self, lesson_id: str | None) -> None:
        if lesson_id:
            self.lesson_id = lesson_id

    # -- actions ------------------------------------------------------------------------------------

    @on(Button.Pressed, "#complete")
    def complete_pressed(self) -> None:
        self.action_complete()

    def action_complete(self) -> None:
        """Mark the lesson complete."""
        if self.view is not None and not self.view.completed:
            self._complete(self.view.id)

    @work(exclusive=True, group="complete")
    async def _complete(self, lesson_id: str) -> None:
        self.view = await asyncio.to_thread(self.ctx.service.complete_lesson, self.ctx.learner_id, lesson_id)
        self.notify(f"“{self.view.title}” marked complete.", timeout=3)

    @on(Button.Pressed, "#check")
    def action_check(self) -> None:
        """Take the knowledge check."""
        if self.view is not None and self.view.questions:
            self.post_message(Navigate(Target("check", self.view.id, f"Knowledge check: {self.view.title}")))

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        """Next lesson."""
        if self.view is not None and self.view.next is not None:
            self.lesson_id = self.view.next.id

    @on(Button.Pressed, "#previous")
    def action_previous(self) -> None:
        """Previous lesson."""
        if self.view is not None and self.view.previous is not None:
            self.lesson_id = self.view.previous.id

    def on_unmount(self) -> None:
        if self.lesson_id:
            self.app.run_worker(asyncio.to_thread(self.ctx.service.leave_lesson, self.ctx.learner_id, self.lesson_id),
                                group="time")
