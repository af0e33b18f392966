"""Provides an exam question: the course's question card, fed from the bundle, with the saved answer
put back and responses in the exam's form (indexes into the bundle's lists).

The card's own hint (which speaks of checking answers) is hidden: nothing is checked in an exam.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioButton, Select, SelectionList, TextArea

from course.widgets.question_card import QuestionCard, card_for
from engine.services import Choice, QuestionView

__all__ = ["ExamQuestion", "question_view"]


def question_view(item_id: str, question: dict[str, Any], order: tuple[int, ...], saved: Any) -> QuestionView:
    """The card's view of a bundle question in this candidate's display order."""
    common: dict[str, Any] = {"id": item_id, "kind": question["kind"], "level": question["level"],
                              "prompt": question["prompt"], "tags": tuple(question.get("tags", [])), "lesson": None}
    kind = question["kind"]
    if kind in ("single", "multiple"):
        return QuestionView(**common, choices=tuple(Choice(i, question["options"][i]) for i in order))
    if kind == "order":
        shown = list(saved) if isinstance(saved, list) and sorted(saved) == sorted(order) else list(order)
        return QuestionView(**common, items=tuple(question["items"][i] for i in shown))
    if kind == "match":
        return QuestionView(**common, lefts=tuple(question["lefts"]),
                            rights=tuple(question["rights"][i] for i in order))
    return QuestionView(**common)


class ExamQuestion(Vertical):
    """One exam question.

    Args:
        item_id: the item.
        question: its public part in the bundle.
        order: this candidate's display order.
        saved: the answer saved so far (None when none).
    """

    DEFAULT_CSS = """
    ExamQuestion { height: auto; }
    ExamQuestion .card-hint { display: none; }
    ExamQuestion > .exam-hint { color: $text-muted; margin-top: 1; }
    """

    HINTS = {"single": "↑ ↓ move · Space choose", "multiple": "↑ ↓ move · Space tick or untick",
             "order": "Shift+↑ / Shift+↓ (or K / J) move the highlighted item",
             "match": "Tab to each item · Enter opens the choices", "short": "Type the answer",
             "free": "Write your answer"}

    def __init__(self, item_id: str, question: dict[str, Any], order: tuple[int, ...], saved: Any) -> None:
        super().__init__(classes="exam-question")
        self.item_id = item_id
        self.question = question
        self.saved = saved
        self.view = question_view(item_id, question, order, saved)
        self.card: QuestionCard = card_for(self.view)

    def compose(self) -> ComposeResult:
        yield self.card
        yield Label(self.HINTS.get(self.view.kind, "") + " · Ctrl+S save · Ctrl+N next · Ctrl+P previous",
                    classes="exam-hint")

    def on_mount(self) -> None:
        self.call_after_refresh(self._restore)

    def _restore(self) -> None:
        saved, kind = self.saved, self.view.kind
        if saved is None:
            return
        if kind == "single":
            for button, choice in zip(self.card.query(RadioButton), self.view.choices, strict=False):
                if choice.key == saved:
                    button.value = True
        elif kind == "multiple" and isinstance(saved, list):
            selection = self.card.query_one(SelectionList)
            for key in saved:
                selection.select(key)
        elif kind == "match" and isinstance(saved, list):
            for n, right in enumerate(saved):
                if isinstance(right, int) and 0 <= right < len(self.question["rights"]):
                    self.card.query_one(f"#match-{n}", Select).value = self.question["rights"][right]
        elif kind == "short" and isinstance(saved, str):
            self.card.query_one(Input).value = saved
        elif kind == "free" and isinstance(saved, str):
            self.card.query_one(TextArea).text = saved

    def focus_answer(self) -> None:
        """Focus the answer area."""
        self.card.focus_answer()

    def response(self) -> Any:
        """The answer in the exam's form, or None while there is none."""
        value = self.card.response()
        if value is None:
            return None
        kind = self.view.kind
        if kind == "order":
            return [self.question["items"].index(text) for text in value]
        if kind == "match":
            return [self.question["rights"].index(value[left]) for left in self.question["lefts"]]
        return value
