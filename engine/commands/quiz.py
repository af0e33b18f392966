"""Provides ``relaylab quiz``: knowledge checks and interview questions as plain text, one prompt at
a time on standard input and output — the path for screen readers and terminals without the app.

Answers are scored and stored exactly as in the app (``engine.services``), so progress is shared.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from engine.commands._common import add_course_option, course_root

__all__ = ["register"]

KINDS = {"single": "single choice", "multiple": "multiple choice", "order": "ordering", "match": "matching",
         "short": "short answer", "free": "free text"}


class _Quit(Exception):
    """The trainee typed q (or the input ended)."""


def register(sub: Any) -> None:
    """Add the quiz command."""
    p = sub.add_parser("quiz", help="answer knowledge-check and interview questions as plain text (screen-reader friendly)",
                       description="Questions one at a time on standard input and output, scored and stored like "
                                   "in the app. Type the number(s) of your choice, or your answer; 's' skips, 'q' quits.")
    p.add_argument("--level", choices=["L1", "L2", "L3"], help="only this level")
    p.add_argument("--tag", help="only questions with this topic tag")
    p.add_argument("--count", type=int, default=10, help="how many questions (default 10)")
    p.add_argument("--learner", help="learner profile (default: $RELAYLAB_LEARNER, or the last one used)")
    p.add_argument("--seed", type=int, default=None, help="fix the order of questions (for repeatable runs)")
    add_course_option(p)
    p.set_defaults(handler=cmd_quiz)


def plain(markdown: str) -> str:
    """Markdown as plain text for reading aloud: no heading marks, code ticks or emphasis stars."""
    out = []
    for line in markdown.strip().splitlines():
        line = re.sub(r"^#+\s*", "", line)
        line = re.sub(r"`([^`]*)`", r"\1", line)
        line = re.sub(r"\*\*([^*]+)\*\*|\*([^*]+)\*", lambda m: m.group(1) or m.group(2), line)
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
        out.append(line)
    return "\n".join(out)


def _numbers(text: str, top: int) -> list[int] | None:
    """'2', '1 3', '1,3' → zero-based indexes; None when any is not a number from 1 to top."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts or not all(p.isdigit() and 1 <= int(p) <= top for p in parts):
        return None
    return [int(p) - 1 for p in parts]


def cmd_quiz(args: argparse.Namespace) -> int:
    from engine.errors import UsageError
    from engine.services import CourseService

    if args.count < 1:
        raise UsageError("--count must be at least 1")
    service = CourseService.open(course_root(args.course))
    try:
        name = args.learner or os.environ.get("RELAYLAB_LEARNER")
        if name:
            learner = service.choose_learner(name)
        else:
            known = service.learners()
            learner = service.choose_learner(known[0].name if known else "trainee")
        ids = service.quiz_questions(learner.id, args.level, args.tag, args.count, args.seed)
        return _run(service, learner.id, ids, sys.stdin, sys.stdout)
    finally:
        service.close()


def _run(service: Any, learner_id: str, ids: list[str], stdin: TextIO, stdout: TextIO) -> int:
    def say(text: str = "") -> None:
        stdout.write(text + "\n")
        stdout.flush()

    def ask(prompt: str) -> str:
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise _Quit
        answer = line.rstrip("\n")
        if answer.strip().lower() == "q":
            raise _Quit
        return answer

    say(f"{len(ids)} question{'s' if len(ids) != 1 else ''}. Type 's' to skip a question and 'q' to stop.")
    right = answered = 0
    try:
        for n, qid in enumerate(ids, start=1):
            view = service.question(qid)
            say()
            say(f"Question {n} of {len(ids)} ({view.level}, {KINDS[view.kind]}):")
            say(plain(view.prompt))
            response = _read_response(view, say, ask)
            if response is None:
                say("Skipped.")
                continue
            feedback = service.answer(learner_id, qid, response, "quiz")
            answered += 1
            right += feedback.correct
            _show_feedback(feedback, say)
    except _Quit:
        say()
        say("Stopped.")
    say()
    say(f"{right} of {answered} answered right." if answered else "No questions answered.")
    return 0


def _read_response(view: Any, say: Callable[[str], None], ask: Callable[[str], str]) -> Any:
    """Ask until the answer has the right shape; None when skipped."""
    if view.kind in ("single", "multiple"):
        for i, choice in enumerate(view.choices, start=1):
            say(f"  {i}. {plain(choice.text)}")
        hint = "Your choice (a number): " if view.kind == "single" else "Your choices (numbers separated by spaces): "
        while True:
            text = ask(hint)
            if text.strip().lower() == "s":
                return None
            picked = _numbers(text, len(view.choices))
            if picked is not None and (view.kind == "multiple" or len(picked) == 1):
                keys = [view.choices[i].key for i in picked]
                return keys[0] if view.kind == "single" else sorted(set(keys))
            say(f"Please type {'one number' if view.kind == 'single' else 'numbers'} from 1 to {len(view.choices)}.")
    if view.kind == "order":
        for i, item in enumerate(view.items, start=1):
            say(f"  {i}. {plain(item)}")
        while True:
            text = ask("The numbers in the right order, separated by spaces: ")
            if text.strip().lower() == "s":
                return None
            picked = _numbers(text, len(view.items))
            if picked is not None and sorted(picked) == list(range(len(view.items))):
                return [view.items[i] for i in picked]
            say(f"Please type each number from 1 to {len(view.items)} once, in order.")
    if view.kind == "match":
        say("Choices:")
        for i, right in enumerate(view.rights, start=1):
            say(f"  {i}. {plain(right)}")
        chosen: dict[str, str] = {}
        for left in view.lefts:
            while True:
                text = ask(f"{plain(left)} — which choice? ")
                if text.strip().lower() == "s":
                    return None
                picked = _numbers(text, len(view.rights))
                if picked is not None and len(picked) == 1:
                    chosen[left] = view.rights[picked[0]]
                    break
                say(f"Please type one number from 1 to {len(view.rights)}.")
        return chosen
    if view.kind == "short":
        text = ask("Your answer: ")
        return None if text.strip().lower() in ("", "s") else text
    say("Write your answer; finish with an empty line.")
    lines: list[str] = []
    while True:
        line = ask("> " if not lines else "  ")
        if not line.strip():
            break
        lines.append(line)
    text = "\n".join(lines)
    return None if text.strip().lower() in ("", "s") else text


def _show_feedback(feedback: Any, say: Callable[[str], None]) -> None:
    say(f"{feedback.verdict}." + (f" {feedback.detail}." if feedback.detail else ""))
    for note in feedback.options:
        if note.chosen and not note.correct and note.why:
            say(f"  You chose: {plain(note.text)} — {plain(note.why)}")
    if feedback.key_points:
        say("Key points:")
        for hit in feedback.key_points:
            say(f"  {'made' if hit.made else 'missed'}: {plain(hit.point)}")
    if not feedback.correct or feedback.key_points:
        say("Model answer:" if feedback.key_points else "Right answer:")
        say(plain(feedback.answer))
    say("Why: " + plain(feedback.explanation))
    if feedback.lesson is not None:
        say(f"Lesson: {feedback.lesson.title}")
