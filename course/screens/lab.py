"""Provides the lab screen: the situation and hints on one side; the device settings (form or raw
YAML), the live transcript, the grade and the admin shell on the other. Run starts the device
against the lab's own tenant, which runs on the app's event loop while the screen is open."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    ContentSwitcher,
    Footer,
    Header,
    LoadingIndicator,
    Markdown,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from course.context import Context
from course.messages import AttemptGraded, Navigate, SessionCaptured
from course.widgets.admin_shell import AdminShell
from course.widgets.config_form import ConfigForm
from course.widgets.grade_panel import GradePanel
from course.widgets.lab_brief import brief_markdown, client_markdown
from course.widgets.transcript import Transcript
from engine.services import LabError, LabSession, LabView, Target, md_parser

__all__ = ["LabScreen"]

TABS = ("tab-config", "tab-transcript", "tab-grade", "tab-admin")


class LabScreen(Screen[None]):
    """One lab, with its tenant running.

    Args:
        ctx: the service and learner.
        lab_id: the lab.
        port_base: where the tenant listens (0: free ports).
        device_timeout: seconds the device waits for the server.
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "run", "Run", priority=True),
        Binding("ctrl+g", "grade_own", "Grade my client", priority=True),
        Binding("ctrl+y", "toggle_yaml", "Form/YAML", priority=True),
        Binding("ctrl+e", "hint", "Hint", priority=True),
        Binding("ctrl+o", "next_tab", "Next tab", priority=True),
    ]

    def __init__(self, ctx: Context, lab_id: str, *, port_base: int = 0, device_timeout: float = 3.0) -> None:
        super().__init__(id="lab-screen")
        self.ctx = ctx
        self.lab_id = lab_id
        self.port_base = port_base
        self.device_timeout = device_timeout
        self.session: LabSession | None = None
        self.view: LabView | None = None
        self.unsubscribe: Any = None
        self.yaml_mode = False
        self.running = False
        self.attempts = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lab-body"):
            with VerticalScroll(id="lab-brief"):
                yield Markdown(id="lab-situation", parser_factory=md_parser, open_links=False)
                yield Markdown(id="lab-client", parser_factory=md_parser, open_links=False)
            with TabbedContent(id="lab-tabs", initial="tab-config"):
                with TabPane("Settings", id="tab-config"):
                    with ContentSwitcher(initial="config-form-holder", id="config-switcher"):
                        yield Vertical(LoadingIndicator(), id="config-form-holder")
                        yield TextArea(id="config-yaml", show_line_numbers=True)
                    with Horizontal(id="lab-actions"):
                        yield Button("Run", id="run", variant="primary", disabled=True, tooltip="Ctrl+R")
                        yield Button("YAML", id="yaml", tooltip="Ctrl+Y: the settings as raw YAML")
                        yield Button("Hint", id="hint", tooltip="Ctrl+E")
                with TabPane("Transcript", id="tab-transcript"):
                    yield Transcript(id="transcript")
                with TabPane("Grade", id="tab-grade"):
                    with VerticalScroll():
                        yield GradePanel(id="grade")
                        yield Button("Grade my own client's sessions", id="grade-own", tooltip="Ctrl+G")
                with TabPane("Admin shell", id="tab-admin"):
                    yield Vertical(id="admin-holder")
        yield Static("Starting the lab's tenant…", id="lab-status")
        yield Footer()

    def on_mount(self) -> None:
        self.open_lab()

    @work(exclusive=True, group="lab")
    async def open_lab(self) -> None:
        """Build the session, show the brief and the form, start the tenant and subscribe to it."""
        service = self.ctx.service
        try:
            session = await asyncio.to_thread(service.open_lab, self.lab_id, self.ctx.learner_id,
                                              port_base=self.port_base, device_timeout=self.device_timeout)
            self.session = session
            self.view = await asyncio.to_thread(session.view)
            self.sub_title = self.view.title
            await self._show_brief()
            start = session.starting_config()
            form = ConfigForm(session.form(), session.form_values(start), id="config-form")
            holder = self.query_one("#config-form-holder", Vertical)
            await holder.remove_children()
            await holder.mount(form)
            self.query_one("#config-yaml", TextArea).text = session.config_yaml(start)
            await self.query_one("#admin-holder", Vertical).mount(
                AdminShell(session.admin_available, complete=session.admin_complete))
            await session.start()
        except LabError as exc:
            self.query_one("#lab-status", Static).update(f"[red]The lab could not start: {exc.message}[/red]")
            return
        self.unsubscribe = session.subscribe(self._captured)
        await self._show_client()
        self.query_one("#run", Button).disabled = False
        endpoints = " · ".join(f"{e.name} {e.listen}" for e in session.endpoints())
        self.query_one("#lab-status", Static).update(f"Tenant running — {endpoints}")

    def _captured(self, event: Any) -> None:
        """Called by the tenant on the event loop: only post a message."""
        self.post_message(SessionCaptured(event))

    async def _show_brief(self) -> None:
        assert self.view is not None
        await self.query_one("#lab-situation", Markdown).update(brief_markdown(self.view))

    async def _show_client(self) -> None:
        assert self.session is not None
        start = self.session.starting_config()
        await self.query_one("#lab-client", Markdown).update(client_markdown(
            self.session.endpoints(), self.session.site_sources(), start.site, start.from_address, start.to[0]))

    async def on_unmount(self) -> None:
        if self.unsubscribe is not None:
            self.unsubscribe()
        if self.session is not None:
            await self.session.stop()

    # -- live transcript ----------------------------------------------------------------------------

    @on(SessionCaptured)
    def captured(self, message: SessionCaptured) -> None:
        message.stop()
        self.query_one(Transcript).add_event(message.event)

    # -- running and grading ------------------------------------------------------------------------

    def _config(self) -> Any | None:
        """The config being edited, or None (with the problem shown) when it is invalid."""
        assert self.session is not None
        try:
            if self.yaml_mode:
                return self.session.parse_yaml(self.query_one("#config-yaml", TextArea).text)
            return self.session.config_from_form(self.query_one(ConfigForm).values())
        except LabError as exc:
            self.notify(exc.message, title="Check the settings", severity="error", timeout=8)
            self.query_one(TabbedContent).active = "tab-config"
            return None

    @on(Button.Pressed, "#run")
    def run_pressed(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        """Run the device with the settings and grade what the tenant saw."""
        if self.session is None or self.running or self.query_one("#run", Button).disabled:
            return
        config = self._config()
        if config is not None:
            self.running = True
            self.run_device(config)

    @work(exclusive=True, group="run")
    async def run_device(self, config: Any) -> None:
        assert self.session is not None
        self.attempts += 1
        self.query_one(TabbedContent).active = "tab-transcript"
        self.query_one(Transcript).note(f"▶ attempt {self.attempts}: the device connects to {config.host}:{config.port}")
        self.query_one("#lab-status", Static).update("Running the device…")
        try:
            attempt = await self.session.run(config)
        except LabError as exc:
            self.notify(exc.message, severity="error")
            return
        finally:
            self.running = False
        self._graded(attempt)

    def _graded(self, attempt: Any) -> None:
        self.query_one(Transcript).note(
            f"■ graded: {attempt.result.score:g}/{attempt.result.max_score:g}"
            + (" — passed" if attempt.result.passed else " — not passed"))
        self.query_one(GradePanel).show(attempt)
        self.query_one(TabbedContent).active = "tab-grade"
        verdict = "passed" if attempt.result.passed else ("not graded" if not attempt.result.gradable else "not passed")
        self.query_one("#lab-status", Static).update(f"Attempt graded: {attempt.percent:.0f}% — {verdict}")
        self.post_message(AttemptGraded(attempt))

    @on(Button.Pressed, "#grade-own")
    def grade_own_pressed(self) -> None:
        self.action_grade_own()

    @work(exclusive=True, group="run")
    async def action_grade_own(self) -> None:
        """Grade the sessions the trainee's own client sent."""
        if self.session is None:
            return
        self._graded(await self.session.grade_own_clients())

    @on(Button.Pressed, "#hint")
    def hint_pressed(self) -> None:
        self.action_hint()

    @work(exclusive=True, group="hint")
    async def action_hint(self) -> None:
        """Show the next hint (the attempt records how many were used)."""
        if self.session is None:
            return
        hint = await asyncio.to_thread(self.session.next_hint)
        if hint is None:
            self.notify("No hints left.", timeout=3)
            return
        self.view = await asyncio.to_thread(self.session.view)
        await self._show_brief()
        self.notify(hint[1], title=f"Hint {hint[0]}", timeout=10)

    @on(Button.Pressed, "#yaml")
    def yaml_pressed(self) -> None:
        self.action_toggle_yaml()

    def action_toggle_yaml(self) -> None:
        """Switch between the form and raw YAML, carrying the settings across."""
        if self.session is None:
            return
        config = self._config()
        if config is None:
            return
        if not self.yaml_mode:
            self.query_one("#config-yaml", TextArea).text = self.session.config_yaml(config)
        else:
            self.query_one(ConfigForm).set_values(self.session.form_values(config))
        self.yaml_mode = not self.yaml_mode
        self.query_one("#config-switcher", ContentSwitcher).current = "config-yaml" if self.yaml_mode else "config-form-holder"
        self.query_one("#yaml", Button).label = "Form" if self.yaml_mode else "YAML"
        self.query_one(TabbedContent).active = "tab-config"

    def action_next_tab(self) -> None:
        """Cycle the tabs."""
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + 1) % len(TABS)] if tabs.active in TABS else TABS[0]

    @on(AdminShell.Command)
    @work(exclusive=True, group="admin")
    async def admin(self, message: AdminShell.Command) -> None:
        # An async worker on the event loop: the tenant and its cmdlets live on this thread.
        assert self.session is not None
        reply = self.session.admin(message.line)
        message.shell.show_reply(reply.ok, reply.output, reply.error)

    @on(Markdown.LinkClicked)
    def link(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        target = self.ctx.service.resolve_link(message.href)
        if target.kind == "lesson":
            self.post_message(Navigate(Target("lesson", target.target, target.title)))
