"""Pilot-driven flows through the real app at a fixed size: learner, lesson, checks of every kind,
flashcards, the question bank, links, the palette, themes, help, and a restart."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Markdown, OptionList, RadioSet, Select, SelectionList, TextArea

from course.app import RelaylabApp
from course.dialogs.glossary import GlossaryDialog
from course.dialogs.learner import LearnerDialog
from course.messages import Navigate
from course.screens.bank import BankScreen
from course.screens.check import CheckScreen
from course.screens.course_map import CourseMapScreen
from course.screens.flashcards import FlashcardsScreen
from course.screens.help import HelpScreen
from course.screens.lesson import LessonScreen
from course.screens.progress import ProgressScreen
from course.widgets.feedback import FeedbackPanel
from course.widgets.lesson_markdown import CourseMarkdown
from course.widgets.question_card import OrderList, QuestionCard
from engine.services import CourseService, Target
from tests.course.helpers import SIZE, make_app, screen_text, settle


async def test_first_start_asks_for_a_learner_and_shows_the_course_map() -> None:
    app = make_app(learner=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LearnerDialog)
        await pilot.press(*"Ada", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CourseMapScreen)
        assert app.ctx is not None and app.ctx.learner.name == "Ada"
        text = screen_text(app)
        assert "L1 Foundations" in text and "Continue: What relay is" in text
        assert "○ Lab: Scan to inbox over Direct Send" in text


async def test_read_a_lesson_mark_it_complete_and_continue_to_its_check() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the cursor starts on "Continue"'s lesson
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)
        text = screen_text(app)
        assert "Contoso Ltd has printers" in text and "│ Direct" in text  # tenant names and a real table
        await pilot.press("m")
        await settle(pilot)
        assert "✓ completed" in screen_text(app)
        await pilot.press("n")  # next lesson, switched in place
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson_id == "ports"
        await pilot.press("escape")
        await settle(pilot)
        assert "✓ What relay is" in screen_text(app)
        await pilot.press("c")  # Continue: the last lesson opened (ports) is unfinished
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson_id == "ports"
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, CheckScreen) and "Question 1 of 3" in screen_text(app)


async def test_links_open_lessons_and_the_glossary_inside_the_app_and_never_a_browser() -> None:
    app = make_app()
    opened: list[str] = []
    app.open_url = lambda url, **kw: opened.append(url)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        markdown = screen.query_one(CourseMarkdown)
        markdown.post_message(Markdown.LinkClicked(markdown, "glossary:mx"))
        await settle(pilot)
        assert isinstance(app.screen, GlossaryDialog) and "MX host" in screen_text(app)
        await pilot.press("escape")
        markdown.post_message(Markdown.LinkClicked(markdown, "https://learn.microsoft.com/"))
        await settle(pilot)
        markdown.post_message(Markdown.LinkClicked(markdown, "lesson:ports"))
        await settle(pilot)
        assert app.screen is screen and screen.lesson_id == "ports"
    assert opened == []


async def _answer(pilot, app: RelaylabApp, service: CourseService, right: bool) -> None:  # type: ignore[no-untyped-def]
    """Answer the question on screen by keyboard only, rightly or wrongly."""
    card = app.screen.query_one(QuestionCard)
    view = card.view
    if view.kind == "single":
        target = next(i for i, c in enumerate(view.choices) if service.tree.questions[view.id].options[c.key].correct == right)
        assert app.focused is card.query_one(RadioSet)
        await pilot.press(*(["down"] * target), "enter")
    elif view.kind == "multiple":
        options = service.tree.questions[view.id].options
        assert app.focused is card.query_one(SelectionList)
        for i, choice in enumerate(view.choices):
            if options[choice.key].correct == right or (not right and i == 0):
                await pilot.press("space")
            await pilot.press("down")
    elif view.kind == "order":
        order = card.query_one(OrderList)
        correct = ["EHLO", "MAIL FROM", "RCPT TO", "DATA"]
        if right:  # selection sort with Shift+↑ only
            for position, item in enumerate(correct):
                index = order.items.index(item)
                await pilot.press("home", *(["down"] * index), *(["shift+up"] * (index - position)))
        assert (order.items == correct) == right
    elif view.kind == "match":
        pairs = {p.left: p.right for p in service.tree.questions[view.id].pairs}
        for n, left in enumerate(view.lefts):
            wanted = pairs[left] if right else "Web mail"
            card.query_one(f"#match-{n}", Select).focus()
            await pilot.press("enter", *(["down"] * (view.rights.index(wanted) + 1)), "enter")
    elif view.kind == "short":
        await pilot.press(*("587" if right else "25"))
        await pilot.press("enter")
        return
    elif view.kind == "free":
        assert isinstance(app.focused, TextArea)
        text = "submission password" if right else "no"
        await pilot.press(*text)
    await pilot.press("ctrl+s")


async def test_every_question_kind_answered_wrong_then_right_with_feedback_stored() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.ctx is not None
        service, learner = app.ctx.service, app.ctx.learner_id
        for lesson, kinds in (("what-is-relay", ["single", "multiple", "order"]), ("ports", ["match", "short", "free"])):
            app.post_message(Navigate(Target("check", lesson, lesson)))
            await settle(pilot)
            assert isinstance(app.screen, CheckScreen)
            for right in (False, True):
                for kind in kinds:
                    assert app.screen.query_one(QuestionCard).view.kind == kind
                    await _answer(pilot, app, service, right)
                    await settle(pilot)
                    feedback = app.screen.query_one(FeedbackPanel)
                    assert feedback.display and ("✓ Right" in feedback.source) == right, feedback.source
                    assert "**Why**" in feedback.source and "Read again: [" in feedback.source
                    assert "✓ Right" in screen_text(app) or not right  # scrolled into view
                    await pilot.press("n")
                    await settle(pilot)
                assert f"{3 if right else 0} of 3 right" in screen_text(app)
                if not right:
                    await pilot.press("enter")  # "Retry the ones I missed" has the focus
                    await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
        answers = service.store.answers(learner)
        assert len(answers) == 12
        assert [a.correct for a in answers] == [False] * 3 + [True] * 3 + [False] * 3 + [True] * 3
        assert "✓ Knowledge check: What relay is" in screen_text(app)


async def test_unanswered_question_is_not_checked() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(Navigate(Target("check", "what-is-relay", "check")))
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CheckScreen) and not app.screen.answered


async def test_flashcards_flip_rate_and_bring_hard_cards_back() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FlashcardsScreen)
        assert "Think of your answer" in screen_text(app) and "3 left in this sitting" in screen_text(app)
        first = screen.card.question.id if screen.card else None
        await pilot.press("1")  # rating before revealing does nothing
        await settle(pilot)
        assert screen.card is not None and screen.card.question.id == first
        await pilot.press("space")
        await settle(pilot)
        assert "Model answer" in screen_text(app) and "Key points" in screen_text(app)
        await pilot.press("1")  # hard: it comes back in this sitting
        await settle(pilot)
        for _ in range(2):
            await pilot.press("space", "2")
            await settle(pilot)
        assert screen.card is not None and screen.card.question.id == first
        await pilot.press("space", "3")
        await settle(pilot)
        assert "Nothing more is due" in screen_text(app)
        assert app.ctx is not None
        cards = app.ctx.service.store.flashcards(app.ctx.learner_id)
        assert cards[first][0] == 3 and cards[first][2] == 2  # hard → box 1, then easy → box 3; two reviews


async def test_bank_search_and_free_text_practice_scored_on_key_points() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BankScreen)
        assert "3 questions" in screen_text(app)
        await pilot.press("slash", *"certif")
        await settle(pilot)
        assert "1 question" in screen_text(app) and "A sensor sits on a dynamic IP" in screen_text(app)
        await pilot.press("enter")  # back to the table
        await pilot.press("enter")  # practise
        await settle(pilot)
        assert isinstance(app.screen, CheckScreen)
        await pilot.press(*"certificate")
        await pilot.press("ctrl+s")
        await settle(pilot)
        text = screen_text(app)
        assert "Partly right" in text and "✓ Use a certificate-based connector" in text
        assert "✗ IP-based connectors cannot follow a changing IP" in text
        assert app.ctx is not None
        assert [a.mode for a in app.ctx.service.store.answers(app.ctx.learner_id)] == ["interview"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BankScreen)
        await pilot.press("f")  # flashcards from the current filter: the one question found
        await settle(pilot)
        assert isinstance(app.screen, FlashcardsScreen) and "1 left in this sitting" in screen_text(app)


async def test_bank_kept_between_visits_lists_fresh_marks_and_forgets_on_learner_switch() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        bank = app.screen
        assert isinstance(bank, BankScreen) and "3 questions" in screen_text(app)
        await pilot.press("down", "enter")  # practise the second question (single choice)
        await settle(pilot)
        assert isinstance(app.screen, CheckScreen)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is bank
        table = bank.query_one("#bank-table", DataTable)
        assert table.cursor_row == 1  # still on the question just practised
        assert "1×" in str(table.get_row_at(1)[3]) or "✓" in str(table.get_row_at(1)[3])
        await pilot.press("slash", *"certif", "escape")
        await settle(pilot)
        assert isinstance(app.screen, CourseMapScreen)
        await pilot.press("b")  # the bank again: the same screen, filter kept
        await settle(pilot)
        assert app.screen is bank and bank.query_one("#bank-search", Input).value == "certif"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("tab", *"Grace", "enter")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BankScreen) and app.screen is not bank
        rows = app.screen.query_one("#bank-table", DataTable)
        assert all(str(rows.get_row_at(i)[3]) == "" for i in range(rows.row_count))  # Grace answered nothing


async def test_palette_finds_a_lesson_by_name() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Ports and TLS")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson_id == "ports"


async def test_help_mentions_the_plain_paths_and_themes_cycle() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = app.screen.query_one(Markdown).source
        assert "relaylab quiz" in help_text and "relaylab lab check" in help_text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("question_mark")  # the other usual key for help
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        themes = []
        for _ in range(3):
            await pilot.press("ctrl+t")
            themes.append(app.theme)
        assert themes == ["textual-light", "relaylab-high-contrast", "textual-dark"]
        await settle(pilot)


async def test_progress_survives_a_restart() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("m", "ctrl+t")
        await settle(pilot)
    again = make_app(learner=None)  # one learner on file: picked without asking
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(again.screen, CourseMapScreen)
        assert again.theme == "textual-light"  # remembered per learner
        text = screen_text(again)
        assert "✓ What relay is" in text and "Continue: What relay is" in text.replace("Knowledge check: ", "")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(again.screen, ProgressScreen)
        assert "1/2" in screen_text(again)  # L1 lessons done


async def test_switch_learner_from_the_palette() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDialog)
        assert app.screen.query_one(OptionList).option_count == 1
        await pilot.press("tab", *"Grace", "enter")
        await settle(pilot)
        assert app.ctx is not None and app.ctx.learner.name == "Grace"
        assert isinstance(app.screen, CourseMapScreen) and app.sub_title == "Grace"


def test_relaylab_without_arguments_opens_the_app(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    import course.app
    from engine.cli import main

    calls: list[object] = []
    monkeypatch.setattr(course.app, "run", lambda root=None, learner=None: calls.append(root) or 0)
    assert main([]) == 0
    assert main(["tui", "--course", "/tmp/elsewhere"]) == 0
    assert calls == [None, Path("/tmp/elsewhere")]


def test_the_app_paints_before_loading_the_engine() -> None:
    """Cold start: importing the app (and its home screen) must not import the course engine."""
    import subprocess
    import sys

    code = ("import sys, course.app; "
            "bad = [m for m in ('engine.services', 'engine.loader', 'pydantic') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_lesson_links_are_reachable_from_the_keyboard() -> None:
    from course.dialogs.links import LinksDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LinksDialog)
        assert "Lesson: Ports and TLS" in screen_text(app) and "Glossary: MX host" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen.lesson_id == "ports"
