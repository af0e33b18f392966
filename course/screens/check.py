"""Provides the knowledge-check screen: one question card at a time, immediate feedback with the
explanation and the lesson reference, and a summary at the end. The same screen practises
questions picked from the bank or the command palette."""

from __future__ import annotations

import asyncio
from typing import Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Markdown, Static

from course.context import Context
from course.messages import Navigate
from course.widgets.feedback import FeedbackPanel
from course.widgets.question_card import QuestionCard, card_for
from engine.services import Feedback, QuestionView, Target

__all__ = ["CheckScreen"]


class CheckScreen(Screen[None]):
    """Answer questions one by one.

    Args:
        ctx: the service and learner.
        lesson_id: a lesson whose knowledge check to take, or
        question_ids: questions to practise.
        title: what the screen is called.
        mode: practice (knowledge checks) or interview (the bank); stored with each answer.
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "submit", "Check answer", priority=True),
        Binding("n", "next", "Next question"),
    ]

    def __init__(self, ctx: Context, *, lesson_id: str | None = None, question_ids: tuple[str, ...] = (),
                 title: str = "", mode: Literal["practice", "interview"] = "practice") -> None:
        super().__init__(id="check-screen")
        self.ctx = ctx
        self.lesson_id = lesson_id
        self.question_ids = question_ids
        self.title_text = title
        self.mode: Literal["practice", "interview"] = mode if lesson_id is None else "practice"
        self.questions: tuple[QuestionView, ...] = ()
        self.index = 0
        self.results: dict[str, Feedback] = {}
        self.answered = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="check-body"):
            yield Static("", id="check-status")
            with VerticalScroll(id="check-scroll"):
                yield Vertical(id="card-holder")
                yield FeedbackPanel(id="feedback")
            with Horizontal(id="check-actions"):
                yield Button("Check answer", id="submit", variant="primary")
                yield Button("Next question", id="next-question")
                yield Button("Retry the ones I missed", id="retry")
                yield Button("Back", id="back")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self.query_one("#feedback").display = False
        self.load()

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        """Fetch the questions."""
        service, learner = self.ctx.service, self.ctx.learner_id
        if self.lesson_id is not None:
            check = await asyncio.to_thread(service.check, learner, self.lesson_id)
            self.questions = check.questions
        else:
            self.questions = await asyncio.to_thread(service.questions, learner, self.question_ids)
        await self.show_question(0)

    async def show_question(self, index: int) -> None:
        """Show question ``index`` (or the summary past the end)."""
        self.index = index
        self.answered = False
        holder = self.query_one("#card-holder", Vertical)
        await holder.remove_children()
        feedback = self.query_one("#feedback", FeedbackPanel)
        feedback.display = False
        if index >= len(self.questions):
            await self.show_summary()
            return
        view = self.questions[index]
        card = card_for(view)
        await holder.mount(card)
        self._status()
        self._buttons(submit=True)
        self.query_one("#check-scroll", VerticalScroll).scroll_home(animate=False)
        card.focus_answer()

    def _status(self) -> None:
        view = self.questions[self.index]
        kind = {"single": "single choice", "multiple": "multiple choice", "order": "ordering", "match": "matching",
                "short": "short answer", "free": "free text"}[view.kind]
        right = sum(f.correct for f in self.results.values())
        self.query_one("#check-status", Static).update(
            f"[b]Question {self.index + 1} of {len(self.questions)}[/b] · {kind} · {view.level}"
            f"   [dim]{right} right so far[/dim]")

    def _buttons(self, *, submit: bool = False, next_q: bool = False, summary: bool = False) -> None:
        self.query_one("#submit").display = submit
        self.query_one("#next-question").display = next_q
        self.query_one("#retry").display = summary and any(not f.correct for f in self.results.values())
        self.query_one("#back").display = summary

    async def show_summary(self) -> None:
        right = sum(f.correct for f in self.results.values())
        total = len(self.questions)
        self.query_one("#check-status", Static).update(f"[b]Done: {right} of {total} right[/b]")
        holder = self.query_one("#card-holder", Vertical)
        lines = [f"## {right} of {total} right", ""]
        for view in self.questions:
            result = self.results.get(view.id)
            sign = "✓" if result and result.correct else "✗"
            lines.append(f"- {sign} {view.title}")
        if right < total:
            lines += ["", "Retry the ones you missed, or reread the lesson first."]
        await holder.mount(Markdown("\n".join(lines), classes="check-summary"))
        self._buttons(summary=True)
        self.query_one("#retry" if right < total else "#back", Button).focus()

    # -- answering ----------------------------------------------------------------------------------

    @on(Button.Pressed, "#submit")
    @on(QuestionCard.Submitted)
    def submit_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Check the current answer."""
        if self.answered or self.index >= len(self.questions):
            return
        card = self.query_one(QuestionCard)
        response = card.response()
        if response is None:
            self.notify("Answer the question first.", severity="warning", timeout=3)
            return
        self.answered = True
        card.freeze()
        self.check_answer(card.view.id, response)

    @work(exclusive=True, group="answer")
    async def check_answer(self, question_id: str, response: object) -> None:
        """Score and store the answer, then show the feedback."""
        feedback = await asyncio.to_thread(self.ctx.service.answer, self.ctx.learner_id, question_id, response,
                                           self.mode)
        self.results[question_id] = feedback
        self._status()
        await self.query_one("#feedback", FeedbackPanel).show(feedback)
        self._buttons(next_q=True)
        button = self.query_one("#next-question", Button)
        button.label = "Next question" if self.index + 1 < len(self.questions) else "See the result"
        button.focus()
        self.query_one("#check-scroll", VerticalScroll).scroll_to_widget(self.query_one("#feedback"), animate=False)

    @on(Button.Pressed, "#next-question")
    def next_pressed(self) -> None:
        self.action_next()

    def action_next(self) -> None:
        """Go on to the next question (after the feedback)."""
        if self.answered:
            self.run_worker(self.show_question(self.index + 1), exclusive=True, group="show")

    @on(Button.Pressed, "#retry")
    def retry(self) -> None:
        self.questions = tuple(q for q in self.questions if not self.results[q.id].correct)
        self.results = {}
        self.run_worker(self.show_question(0), exclusive=True, group="show")

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        self.app.pop_screen()

    @on(Markdown.LinkClicked)
    def link(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        target = self.ctx.service.resolve_link(message.href)
        if target.kind == "lesson":
            self.post_message(Navigate(Target("lesson", target.target, target.title)))
        elif target.kind == "external":
            self.notify(f"relaylab does not open a browser. The link is:\n{target.target}", timeout=8)
