"""Provides the feedback panel shown after an answer: verdict, per-option notes, key points, the
explanation, the right answer and the lesson to reread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Markdown

from engine.services import md_parser

if TYPE_CHECKING:
    from engine.services import Feedback

__all__ = ["FeedbackPanel", "feedback_markdown"]


def feedback_markdown(feedback: Feedback) -> str:
    """The feedback as Markdown (the lesson is a ``lesson:`` link the screen opens in the app)."""
    mark = "✓" if feedback.correct else ("◐" if feedback.fraction > 0 else "✗")
    lines = [f"### {mark} {feedback.verdict}" + (f" — {feedback.detail}" if feedback.detail else ""), ""]
    if feedback.options:
        for note in feedback.options:
            sign = "✓" if note.correct else ("✗" if note.chosen else "·")
            chosen = " *(your choice)*" if note.chosen else ""
            why = f" — {note.why}" if note.why and (note.chosen or note.correct) else ""
            lines.append(f"- {sign} {note.text}{chosen}{why}")
        lines.append("")
    if feedback.key_points:
        lines.append("**Key points**")
        lines.append("")
        lines += [f"- {'✓' if hit.made else '✗'} {hit.point}" for hit in feedback.key_points]
        lines.append("")
    if not feedback.options:
        lines += ["**Model answer**" if feedback.key_points else "**Right answer**", "", feedback.answer, ""]
    lines += ["**Why**", "", feedback.explanation, ""]
    if feedback.lesson is not None:
        lines.append(f"Read again: [{feedback.lesson.title}](lesson:{feedback.lesson.id})")
    return "\n".join(lines)


class FeedbackPanel(Markdown):
    """Feedback on the last answer."""

    DEFAULT_CSS = """
    FeedbackPanel { height: auto; border: round $primary; padding: 0 1; margin-top: 1; }
    FeedbackPanel.-right { border: round $success; }
    FeedbackPanel.-wrong { border: round $error; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parser_factory=md_parser, open_links=False, **kwargs)

    async def show(self, feedback: Feedback) -> None:
        """Show feedback."""
        self.set_class(feedback.correct, "-right")
        self.set_class(not feedback.correct, "-wrong")
        self.display = True
        await self.update(feedback_markdown(feedback))
