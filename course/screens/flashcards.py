"""Provides flashcards: the question, time to think, the model answer and key points revealed, a
self-rating — and a Leitner schedule (in the engine) that brings hard cards back sooner."""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Markdown, Static

from course.context import Context
from engine.flashcards import ReviewQueue
from engine.services import Card, Rating, md_parser

__all__ = ["FlashcardsScreen"]


class FlashcardsScreen(Screen[None]):
    """One sitting of flashcards.

    Args:
        ctx: the service and learner.
        question_ids: draw the cards from these questions (default: the interview bank).
        title: what the sitting is called.
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("space", "reveal", "Reveal"),
        Binding("1", "rate('hard')", "Hard"),
        Binding("2", "rate('good')", "Good"),
        Binding("3", "rate('easy')", "Easy"),
    ]

    def __init__(self, ctx: Context, question_ids: tuple[str, ...] | None = None, title: str = "Flashcards") -> None:
        super().__init__(id="cards-screen")
        self.ctx = ctx
        self.question_ids = question_ids
        self.title_text = title
        self.queue: ReviewQueue | None = None
        self.card: Card | None = None
        self.revealed = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="cards-body"):
            yield Static("", id="cards-status")
            with VerticalScroll(id="cards-scroll"):
                yield Markdown(id="card-question", parser_factory=md_parser, open_links=False)
                yield Static("Think of your answer, then press Space to reveal it.", id="card-think")
                yield Markdown(id="card-answer", parser_factory=md_parser, open_links=False)
            with Horizontal(id="cards-actions"):
                yield Button("Reveal (Space)", id="reveal", variant="primary")
                yield Button("1 Hard", id="rate-hard", variant="error")
                yield Button("2 Good", id="rate-good", variant="primary")
                yield Button("3 Easy", id="rate-easy", variant="success")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self.query_one("#card-answer").display = False
        self._rating_buttons(False)
        self.start()

    def _rating_buttons(self, show: bool) -> None:
        for name in ("hard", "good", "easy"):
            self.query_one(f"#rate-{name}").display = show
        self.query_one("#reveal").display = not show and self.card is not None

    @work(exclusive=True, group="cards")
    async def start(self) -> None:
        """Build the sitting: due cards first (shakiest first), then new ones."""
        self.queue = await asyncio.to_thread(self.ctx.service.flashcard_queue, self.ctx.learner_id,
                                             question_ids=self.question_ids)
        await self._show_current()

    async def _show_current(self) -> None:
        assert self.queue is not None
        current = self.queue.current
        self.revealed = False
        answer = self.query_one("#card-answer", Markdown)
        answer.display = False
        if current is None:
            self.card = None
            self._rating_buttons(False)
            self.query_one("#card-think").display = False
            reviewed, again = self.queue.reviewed, self.queue.hard_again
            self.query_one("#cards-status", Static).update(f"[b]Sitting done[/b] · {reviewed} rated")
            await self.query_one("#card-question", Markdown).update(
                f"## Nothing more is due\n\nYou rated {reviewed} card{'s' if reviewed != 1 else ''}"
                + (f"; cards rated hard came back {again} time{'s' if again != 1 else ''}" if again else "")
                + ".\n\nCards rated *hard* return in ten minutes; *good* and *easy* ones wait a day or more."
                " Press Escape to go back.")
            return
        self.card = await asyncio.to_thread(self.ctx.service.card, self.ctx.learner_id, current)
        box = f"box {self.card.box}" if self.card.box else "new card"
        self.query_one("#cards-status", Static).update(
            f"[b]{len(self.queue)} left in this sitting[/b] · {box} · {self.card.question.level} · "
            f"{', '.join(self.card.question.tags)}")
        self.query_one("#card-think").display = True
        await self.query_one("#card-question", Markdown).update(self.card.question.prompt)
        self._rating_buttons(False)
        self.query_one("#cards-scroll", VerticalScroll).scroll_home(animate=False)
        self.query_one("#reveal", Button).focus()

    @on(Button.Pressed, "#reveal")
    def reveal_pressed(self) -> None:
        self.action_reveal()

    def action_reveal(self) -> None:
        """Show the model answer and key points."""
        if self.card is None or self.revealed:
            return
        self.revealed = True
        card = self.card
        parts = ["### Model answer", "", card.answer, ""]
        if card.key_points:
            parts += ["**Key points**", ""] + [f"- {p}" for p in card.key_points] + [""]
        parts += ["**Why**", "", card.explanation, "", "*How well did you know it?* 1 hard · 2 good · 3 easy"]
        answer = self.query_one("#card-answer", Markdown)
        answer.display = True
        self.query_one("#card-think").display = False
        self.run_worker(answer.update("\n".join(parts)), group="reveal")
        self._rating_buttons(True)
        self.query_one("#rate-good", Button).focus()

    @on(Button.Pressed, "#rate-hard")
    @on(Button.Pressed, "#rate-good")
    @on(Button.Pressed, "#rate-easy")
    def rate_pressed(self, event: Button.Pressed) -> None:
        self.action_rate((event.button.id or "rate-good").removeprefix("rate-"))

    def action_rate(self, rating: str) -> None:
        """Rate the revealed card."""
        if self.card is not None and self.revealed:
            self.revealed = False
            self._rate(self.card.question.id, rating)

    @work(exclusive=True, group="cards")
    async def _rate(self, question_id: str, rating: Rating) -> None:
        card = await asyncio.to_thread(self.ctx.service.rate_card, self.ctx.learner_id, question_id, rating)
        assert self.queue is not None
        self.queue.rate(rating)
        self.notify(f"{rating.capitalize()}: next {card.due}", timeout=2)
        await self._show_current()
