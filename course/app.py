"""Provides the relaylab terminal app: it loads the course, picks the learner and routes navigation.

Screens never push each other: they post :mod:`course.messages` upward and the app decides how the
screens stack. The course map is the base screen; sections (bank, flashcards, progress) open on top
of it; lessons, checks and labs open on top of whatever asked for them, and Escape goes back.

Cold start matters (the first painted screen should appear well under 1.5 s), so ``engine`` and
the screens other than the course map are imported when first needed, after the first paint.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from course.context import Context
from course.messages import AttemptGraded, Navigate, OpenSection, PracticeQuestions, StartFlashcards
from course.palette import CoursePalette
from course.screens.course_map import CourseMapScreen
from course.themes import HIGH_CONTRAST, THEME_CYCLE

if TYPE_CHECKING:
    from engine.services import CourseService

__all__ = ["RelaylabApp", "run"]


class RelaylabApp(App[None]):
    """The relaylab course in the terminal.

    Args:
        course_root: the course folder (default: the bundled course).
        store_path: the progress store (default: the user's).
        learner: open as this learner (created when new) instead of asking.
        port_base: where lab tenants listen (0: free ports).
        device_timeout: seconds a lab's simulated device waits for the server.
        now: the clock of the flashcard schedule (tests and snapshots pass a fixed one).
        cache: reuse the validated course from the user's cache.
    """

    CSS_PATH = "app.tcss"
    TITLE = "relaylab"
    COMMANDS = App.COMMANDS | {CoursePalette}
    BINDINGS = [
        Binding("f1", "section('help')", "Help", priority=True),
        Binding("question_mark", "section('help')", "Help", show=False),  # where no text box takes the key
        Binding("ctrl+t", "cycle_theme", "Theme"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, course_root: Path | None = None, *, store_path: Path | None = None, learner: str | None = None,
                 port_base: int = 0, device_timeout: float = 3.0, now: Callable[[], datetime] | None = None,
                 cache: bool = True) -> None:
        super().__init__()
        self.course_root = course_root
        self.store_path = store_path
        self.learner_name = learner
        self.port_base = port_base
        self.device_timeout = device_timeout
        self.clock = now
        self.cache = cache
        self.service: CourseService | None = None
        """The course service, once loaded."""
        self.ctx: Context | None = None
        """The course service and learner, once both are known."""
        self.load_error: str | None = None
        self.register_theme(HIGH_CONTRAST)

    def get_default_screen(self) -> Screen[Any]:
        return CourseMapScreen()

    def on_mount(self) -> None:
        # Paint the course map's loading state first, then load the course (the loader's imports
        # and validation would otherwise compete with the first paint for the interpreter).
        self.screen.call_after_refresh(self.load)

    # -- loading ------------------------------------------------------------------------------------

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        """Load the course and the store off the event loop, then pick the learner."""
        from engine.errors import RelaylabError
        from engine.services import CourseService

        def open_service() -> CourseService:
            service = CourseService.open(self.course_root, self.store_path, cache=self.cache)
            if self.clock is not None:
                service.now = self.clock
            return service

        try:
            service = await asyncio.to_thread(open_service)
        except RelaylabError as exc:
            self.load_error = exc.message
            self._home.show_error(exc.message)
            return
        self.service = service
        # The course stays loaded for the app's life: keep the collector from rescanning it on every
        # full collection (those pauses otherwise land in the middle of repaints).
        gc.freeze()
        learners = await asyncio.to_thread(service.learners)
        if self.learner_name is not None:
            self._use_learner(self.learner_name)
        elif len(learners) == 1:
            self._use_learner(learners[0].name)
        else:
            self._ask_learner([item.name for item in learners])

    def _ask_learner(self, names: list[str]) -> None:
        """Show the learner picker; its answer is used when it closes."""
        from course.dialogs.learner import LearnerDialog

        self.push_screen(LearnerDialog(names), self._learner_picked)

    def _learner_picked(self, name: str | None) -> None:
        if name:
            self._use_learner(name)

    @work(exclusive=True, group="learner")
    async def _use_learner(self, name: str) -> None:
        """Open (or create) the learner's profile, apply their theme and show their course map."""
        from engine.errors import StoreError

        assert self.service is not None
        service = self.service
        try:
            learner = await asyncio.to_thread(service.choose_learner, name)
        except StoreError as exc:
            self.notify(exc.message, severity="error")
            self._ask_learner([item.name for item in await asyncio.to_thread(service.learners)])
            return
        if self.is_screen_installed("bank"):  # it lists the previous learner's answers
            old = self.get_screen("bank")
            self.uninstall_screen("bank")
            await old.remove()
        self.ctx = Context(service, learner)
        theme = await asyncio.to_thread(service.preference, learner.id, "theme")
        if theme in self.available_themes:
            self.theme = theme
        self.sub_title = learner.name
        self._home.ctx = self.ctx

    @property
    def _home(self) -> CourseMapScreen:
        home = self.screen_stack[0]
        assert isinstance(home, CourseMapScreen)
        return home

    # -- navigation ---------------------------------------------------------------------------------

    def _to_home(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    @on(Navigate)
    def open_target(self, message: Navigate) -> None:
        """Open a lesson (reusing the lesson screen on top), a check or a lab."""
        if self.ctx is None:
            return
        target = message.target
        if target.kind == "lesson":
            from course.screens.lesson import LessonScreen

            if isinstance(self.screen, LessonScreen):
                self.screen.lesson_id = target.id
            else:
                self.push_screen(LessonScreen(self.ctx, target.id))
        elif target.kind == "check":
            from course.screens.check import CheckScreen

            self.push_screen(CheckScreen(self.ctx, lesson_id=target.id, title=target.title))
        elif target.kind == "lab":
            from course.screens.lab import LabScreen

            self.push_screen(LabScreen(self.ctx, target.id, port_base=self.port_base,
                                       device_timeout=self.device_timeout))

    @on(PracticeQuestions)
    def practise(self, message: PracticeQuestions) -> None:
        """Practise a list of questions (bank, palette)."""
        if self.ctx is None:
            return
        from course.screens.check import CheckScreen

        self.push_screen(CheckScreen(self.ctx, question_ids=message.question_ids, title=message.title,
                                     mode=message.mode))

    @on(StartFlashcards)
    def start_flashcards(self, message: StartFlashcards) -> None:
        """Flashcards drawn from a filter of the bank (a section: it stacks on the course map)."""
        if self.ctx is None:
            return
        from course.screens.flashcards import FlashcardsScreen

        self._to_home()
        self.push_screen(FlashcardsScreen(self.ctx, question_ids=message.question_ids, title=message.title))

    @on(AttemptGraded)
    def attempt_graded(self, message: AttemptGraded) -> None:
        """Celebrate a passed lab (the course map shows it done when the trainee goes back)."""
        if message.attempt.result.passed:
            self.notify("Lab passed — well done. It is marked done on the course map.", title="Passed", timeout=5)

    @on(OpenSection)
    def open_section(self, message: OpenSection) -> None:
        """Go to a section; sections stack on the course map only."""
        self.action_section(message.section)

    def action_section(self, section: str) -> None:
        """Open the help screen, a section, or the learner picker."""
        if section == "help":
            from course.screens.help import HelpScreen

            if not isinstance(self.screen, HelpScreen):
                self.push_screen(HelpScreen())
            return
        if self.ctx is None:
            return
        if section == "learner":
            self._to_home()
            self._switch_learner()
            return
        self._to_home()
        if section == "bank":
            from course.screens.bank import BankScreen

            if not self.is_screen_installed("bank"):  # kept between visits: filters stay, reopening is quick
                self.install_screen(BankScreen(self.ctx), name="bank")
            self.push_screen("bank")
        elif section == "cards":
            from course.screens.flashcards import FlashcardsScreen

            self.push_screen(FlashcardsScreen(self.ctx))
        elif section == "progress":
            from course.screens.progress import ProgressScreen

            self.push_screen(ProgressScreen(self.ctx))

    @work(exclusive=True, group="learner")
    async def _switch_learner(self) -> None:
        if self.service is not None:
            self._ask_learner([item.name for item in await asyncio.to_thread(self.service.learners)])

    # -- themes -------------------------------------------------------------------------------------

    def action_cycle_theme(self) -> None:
        """Step through dark, light and high contrast (remembered per learner)."""
        index = THEME_CYCLE.index(self.theme) if self.theme in THEME_CYCLE else -1
        self.theme = THEME_CYCLE[(index + 1) % len(THEME_CYCLE)]
        self.notify(f"Theme: {self.theme}", timeout=2)
        self._save_theme(self.theme)

    @work(group="prefs")
    async def _save_theme(self, theme: str) -> None:
        if self.ctx is not None:
            await asyncio.to_thread(self.ctx.service.set_preference, self.ctx.learner_id, "theme", theme)

    async def on_unmount(self) -> None:
        if self.service is not None:
            self.service.close()


def run(course_root: Path | None = None, learner: str | None = None) -> int:
    """Run the app until the trainee quits; return the exit code."""
    RelaylabApp(course_root, learner=learner).run()
    return 0
