"""Provides the question cards: one widget per question kind, all driven from the keyboard.

A card shows the prompt and an answer area. The screen asks ``card.response()`` (None while the
answer is incomplete) and calls ``card.freeze()`` once the answer is checked. A card posts
:class:`QuestionCard.Submitted` when the trainee presses Enter where that means "check".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import (
    Input,
    Label,
    Markdown,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    TextArea,
)
from textual.widgets.option_list import Option

from course.widgets.inline import inline_text
from engine.services import md_parser

if TYPE_CHECKING:
    from engine.services import QuestionView

__all__ = ["QuestionCard", "card_for"]


class QuestionCard(Vertical):
    """The prompt and an answer area for one question."""

    DEFAULT_CSS = """
    QuestionCard { height: auto; }
    QuestionCard > .card-prompt { margin: 0 0 1 0; }
    QuestionCard > .card-hint { color: $text-muted; margin-top: 1; }
    """

    HINT: ClassVar[str] = ""

    @dataclass
    class Submitted(Message):
        """The trainee asked to check the answer from inside the card."""

        card: QuestionCard

        @property
        def control(self) -> QuestionCard:
            """The card."""
            return self.card

    def __init__(self, view: QuestionView) -> None:
        super().__init__(classes=f"question-card kind-{view.kind}")
        self.view = view

    def compose(self) -> ComposeResult:
        yield Markdown(self.view.prompt, classes="card-prompt", parser_factory=md_parser, open_links=False)
        yield from self.compose_answer()
        yield Label(self.HINT, classes="card-hint")

    def compose_answer(self) -> ComposeResult:
        """The kind's answer widgets."""
        yield from ()

    def response(self) -> Any | None:
        """The answer in the shape the engine scores, or None while incomplete."""
        return None

    def freeze(self) -> None:
        """Stop editing once the answer was checked."""
        for widget in self.query("RadioSet, SelectionList, OptionList, Select, Input, TextArea"):
            widget.disabled = True

    def focus_answer(self) -> None:
        """Put the focus on the answer area."""
        for widget in self.query("RadioSet, SelectionList, OptionList, Select, Input, TextArea"):
            widget.focus()
            return


class SingleChoiceCard(QuestionCard):
    """Exactly one option: a radio set."""

    HINT = "↑ ↓ move · Enter or Space choose · Ctrl+S check"

    def compose_answer(self) -> ComposeResult:
        with RadioSet(classes="card-answer"):
            for choice in self.view.choices:
                yield RadioButton(inline_text(choice.text))

    def response(self) -> Any | None:
        index = self.query_one(RadioSet).pressed_index
        return self.view.choices[index].key if index >= 0 else None


class MultipleChoiceCard(QuestionCard):
    """Any number of options: a selection list."""

    HINT = "↑ ↓ move · Space tick or untick · Ctrl+S check"

    def compose_answer(self) -> ComposeResult:
        yield SelectionList[int](*((inline_text(c.text), c.key) for c in self.view.choices), classes="card-answer")

    def response(self) -> Any | None:
        chosen = self.query_one(SelectionList).selected
        return sorted(chosen) if chosen else None


class OrderList(OptionList):
    """An option list whose highlighted item moves up and down with Shift+↑ / Shift+↓."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("shift+up,K", "move(-1)", "Move up"),
        Binding("shift+down,J", "move(1)", "Move down"),
    ]

    def __init__(self, items: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items = list(items)

    def on_mount(self) -> None:
        self._rebuild(0)

    def _rebuild(self, highlight: int) -> None:
        self.clear_options()
        self.add_options(Option(inline_text(f"{n}. ") + inline_text(item)) for n, item in enumerate(self.items, start=1))
        self.highlighted = highlight

    def action_move(self, step: int) -> None:
        """Move the highlighted item."""
        index = self.highlighted
        if index is None or self.disabled:
            return
        target = index + step
        if 0 <= target < len(self.items):
            self.items[index], self.items[target] = self.items[target], self.items[index]
            self._rebuild(target)


class OrderCard(QuestionCard):
    """Put items in order."""

    HINT = "↑ ↓ highlight · Shift+↑ / Shift+↓ (or K / J) move the item · Ctrl+S check"

    def compose_answer(self) -> ComposeResult:
        yield OrderList(self.view.items, classes="card-answer")

    def response(self) -> Any | None:
        return list(self.query_one(OrderList).items)


class MatchCard(QuestionCard):
    """Pick the right-hand entry for each left item."""

    HINT = "Tab to each item · Enter opens the choices · Ctrl+S check"

    def compose_answer(self) -> ComposeResult:
        options = [(inline_text(r), r) for r in self.view.rights]
        with Vertical(classes="card-answer match-rows"):
            for n, left in enumerate(self.view.lefts):
                with Horizontal(classes="match-row"):
                    yield Label(inline_text(left), classes="match-left")
                    yield Select[str](options, prompt="Choose…", id=f"match-{n}", classes="match-right")

    def response(self) -> Any | None:
        chosen: dict[str, str] = {}
        for n, left in enumerate(self.view.lefts):
            value = self.query_one(f"#match-{n}", Select).value
            if not isinstance(value, str):
                return None
            chosen[left] = value
        return chosen


class ShortAnswerCard(QuestionCard):
    """A short typed answer."""

    HINT = "Type the answer · Enter check"

    def compose_answer(self) -> ComposeResult:
        yield Input(placeholder="Your answer", classes="card-answer")

    def response(self) -> Any | None:
        value = self.query_one(Input).value
        return value if value.strip() else None

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self))


class FreeTextCard(QuestionCard):
    """An open answer, scored on the key points it makes."""

    HINT = "Write your answer (Enter starts a new line) · Ctrl+S check"

    def compose_answer(self) -> ComposeResult:
        yield TextArea(classes="card-answer free-answer", soft_wrap=True, show_line_numbers=False)

    def response(self) -> Any | None:
        text = self.query_one(TextArea).text
        return text if text.strip() else None

    def freeze(self) -> None:
        self.query_one(TextArea).read_only = True


CARDS: dict[str, type[QuestionCard]] = {
    "single": SingleChoiceCard,
    "multiple": MultipleChoiceCard,
    "order": OrderCard,
    "match": MatchCard,
    "short": ShortAnswerCard,
    "free": FreeTextCard,
}


def card_for(view: QuestionView) -> QuestionCard:
    """The card widget for a question's kind."""
    return CARDS[view.kind](view)
