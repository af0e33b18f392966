"""Provides the course map, the home screen: levels, modules, lessons, checks and labs with completion
marks, a progress bar per level, and "Continue"."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, LoadingIndicator, Static, Tree
from textual.widgets.tree import TreeNode

from course.context import Context
from course.messages import Navigate, OpenSection
from course.widgets.level_progress import LevelProgress

if TYPE_CHECKING:
    from engine.services import Outline, OutlineItem, Target

__all__ = ["CourseMapScreen"]

MARKS = {"done": ("✓", "green"), "started": ("◐", "yellow"), "todo": ("○", "dim")}


class CourseMapScreen(Screen[None]):
    """The home screen. The app sets ``ctx`` once the course and the learner are ready."""

    BINDINGS = [
        Binding("c", "continue", "Continue"),
        Binding("b", "section('bank')", "Bank"),
        Binding("f", "section('cards')", "Flashcards"),
        Binding("p", "section('progress')", "Progress"),
        Binding("s", "section('learner')", "Switch learner", show=False),
    ]

    ctx: var[Context | None] = var(None, init=False)
    """The course service and learner (set by the app)."""
    outline: var[Outline | None] = var(None, init=False)

    def __init__(self) -> None:
        super().__init__(id="course-map")
        self._selected: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="map-body"):
            tree: Tree[OutlineItem | None] = Tree("Course", id="course-tree")
            tree.show_root = False
            tree.guide_depth = 2
            yield tree
            with VerticalScroll(id="map-side"):
                yield Static("", id="map-course-title")
                yield Vertical(id="map-levels")
                yield Button("Continue", id="continue", variant="primary", disabled=True)
                yield Static("", id="map-detail")
        yield LoadingIndicator(id="map-loading")
        yield Footer()

    def show_error(self, message: str) -> None:
        """Show why the course did not load."""
        self.query_one("#map-loading").display = False
        self.query_one("#map-detail", Static).update(Text(f"The course did not load:\n{message}", style="red"))

    def watch_ctx(self, ctx: Context | None) -> None:
        if ctx is not None:
            self.refresh_outline()

    def on_screen_resume(self) -> None:
        if self.ctx is not None:
            self.refresh_outline()

    @work(exclusive=True, group="outline")
    async def refresh_outline(self) -> None:
        """Reload the outline (completion may have changed on another screen)."""
        assert self.ctx is not None
        self.outline = await asyncio.to_thread(self.ctx.service.outline, self.ctx.learner_id)

    async def watch_outline(self, outline: Outline | None) -> None:
        if outline is None:
            return
        self.query_one("#map-loading").display = False
        self.query_one("#map-course-title", Static).update(Text(outline.title, style="bold"))
        levels = self.query_one("#map-levels", Vertical)
        await levels.remove_children()
        await levels.mount_all(LevelProgress(level) for level in outline.levels)
        button = self.query_one("#continue", Button)
        button.disabled = outline.resume is None
        button.label = f"Continue: {outline.resume.title}" if outline.resume else "All done — well done!"
        self._fill_tree(outline)

    def _fill_tree(self, outline: Outline) -> None:
        tree: Tree[OutlineItem | None] = self.query_one("#course-tree", Tree)
        first = not tree.root.children
        tree.clear()
        select_line = None
        for level in outline.levels:
            lnode = tree.root.add(Text.assemble((level.id, "bold"), " ", level.title, (f"  {level.done}/{level.total}", "dim")),
                                  None, expand=True)
            for module in level.modules:
                mnode = lnode.add(Text.assemble((module.title, "bold"), (f"  {module.done}/{len(module.items)}", "dim")),
                                  None, expand=True)
                for item in module.items:
                    leaf = mnode.add_leaf(self._label(item), item)
                    if self._selected == (item.kind, item.id):
                        select_line = leaf
        if select_line is None and first and outline.resume is not None:
            select_line = next((node for node in self._outline_nodes(tree) if node.data is not None and
                                (node.data.kind, node.data.id) == (outline.resume.kind, outline.resume.id)), None)
        if select_line is not None:
            # every node is expanded and the root hidden, so a node's line is its pre-order position;
            # moved once the tree is laid out: before that it has no height and would scroll the
            # cursor's line to the top, hiding the lines above it
            self.call_after_refresh(tree.move_cursor_to_line, self._outline_nodes(tree).index(select_line))
        tree.focus()

    @staticmethod
    def _outline_nodes(tree: Tree[OutlineItem | None]) -> list[TreeNode[OutlineItem | None]]:
        out: list[TreeNode[OutlineItem | None]] = []
        stack = list(tree.root.children)
        while stack:
            node = stack.pop(0)
            out.append(node)
            stack[:0] = list(node.children)
        return out

    @staticmethod
    def _label(item: OutlineItem) -> Text:
        mark, style = MARKS[item.status]
        kind = {"lesson": "", "check": "  ", "lab": ""}[item.kind]
        return Text.assemble(kind, (mark, style), " ", item.title, (f"  {item.detail}", "dim"))

    @on(Tree.NodeHighlighted, "#course-tree")
    def show_detail(self, event: Tree.NodeHighlighted[OutlineItem | None]) -> None:
        item = event.node.data
        detail = self.query_one("#map-detail", Static)
        if item is None:
            detail.update("")
            return
        self._selected = (item.kind, item.id)
        kind = {"lesson": "Lesson", "check": "Knowledge check", "lab": "Lab"}[item.kind]
        detail.update(Text.assemble((kind, "bold"), f" · {item.detail}\n\n", item.summary))

    @on(Tree.NodeSelected, "#course-tree")
    def open_item(self, event: Tree.NodeSelected[OutlineItem | None]) -> None:
        item = event.node.data
        if item is not None:
            self.post_message(Navigate(self._target(item)))

    @staticmethod
    def _target(item: OutlineItem) -> Target:
        from engine.services import Target

        return Target(item.kind, item.id, item.title)

    @on(Button.Pressed, "#continue")
    def action_continue(self) -> None:
        """Open where the learner stopped."""
        if self.outline is not None and self.outline.resume is not None:
            self.post_message(Navigate(self.outline.resume))

    def action_section(self, section: str) -> None:
        """Open a section."""
        self.post_message(OpenSection(section))  # type: ignore[arg-type]
