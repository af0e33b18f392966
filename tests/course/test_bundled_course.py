"""Done-when, on the bundled course: a new trainee reads the first L1 lesson, passes its knowledge
check and completes the first L1 lab without leaving the app, and finds it all after a restart."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Select, SelectionList

from course.app import RelaylabApp
from course.screens.check import CheckScreen
from course.screens.lab import LabScreen
from course.screens.lesson import LessonScreen
from course.widgets.config_form import ConfigForm
from course.widgets.question_card import OrderList, QuestionCard
from engine.models.question import Matching, MultipleChoice, Ordering, ShortAnswer, SingleChoice
from engine.services import CourseService
from tests.course.helpers import SIZE, screen_text, settle, wait_for_text


async def _answer_right(pilot: Pilot[Any], service: CourseService, card: QuestionCard) -> None:
    """Answer the card's question correctly with the keyboard."""
    view, question = card.view, service.tree.questions[card.view.id]
    if isinstance(question, SingleChoice):
        card.query_one(RadioSet).focus()
        index = next(i for i, c in enumerate(view.choices) if question.options[c.key].correct)
        await pilot.press(*(["down"] * index), "enter")
    elif isinstance(question, MultipleChoice):
        card.query_one(SelectionList).focus()
        for choice in view.choices:
            if question.options[choice.key].correct:
                await pilot.press("space")
            await pilot.press("down")
    elif isinstance(question, Ordering):
        order = card.query_one(OrderList)
        order.focus()
        for position, item in enumerate(service.render(i) for i in question.items):
            index = order.items.index(item)
            await pilot.press("home", *(["down"] * index), *(["shift+up"] * (index - position)))
    elif isinstance(question, Matching):
        for n, left in enumerate(view.lefts):
            right = next(service.render(p.right) for p in question.pairs if service.render(p.left) == left)
            card.query_one(f"#match-{n}", Select).focus()
            await pilot.press("enter", *(["down"] * (view.rights.index(right) + 1)), "enter")
    elif isinstance(question, ShortAnswer):
        card.query_one(Input).value = service.render(question.model_answer)
    else:
        raise AssertionError(f"{view.kind} questions are not in this check")
    await pilot.press("ctrl+s")


async def test_new_trainee_reads_passes_and_completes_a_lab_on_the_bundled_course() -> None:
    app = RelaylabApp(learner=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"Ada", "enter")  # first start: create the learner
        await settle(pilot)
        assert app.ctx is not None
        service = app.ctx.service
        await pilot.press("c")  # Continue: the first L1 lesson
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson_id == service.tree.lesson_order()[0]
        await pilot.press("m", "k")
        await settle(pilot)
        check = app.screen
        assert isinstance(check, CheckScreen)
        for _ in check.questions:
            await _answer_right(pilot, service, check.query_one(QuestionCard))
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
        assert f"{len(check.questions)} of {len(check.questions)} right" in screen_text(app)
        await pilot.press("escape", "escape")
        await settle(pilot)

        lab_id = service.tree.course.levels[0].modules[-1].labs[0]
        from course.messages import Navigate
        from engine.services import Target

        app.post_message(Navigate(Target("lab", lab_id, "")))
        await settle(pilot)
        lab = app.screen
        assert isinstance(lab, LabScreen) and lab.session is not None
        await pilot.press("ctrl+r")  # the broken starting config fails
        await settle(pilot)
        assert "NOT PASSED" in screen_text(app)
        # the trainee fixes the settings in the form (here: the reference fix, typed into the form)
        lab.query_one(ConfigForm).set_values(lab.session.form_values(lab.session.runner.solution_config()))
        for command in lab.session.lab.solution.admin:  # and any tenant change, as typed in the admin shell
            assert lab.session.admin(command).ok, command
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "PASSED" in screen_text(app) and "NOT PASSED" not in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)

    again = RelaylabApp(learner=None)
    async with again.run_test(size=SIZE) as pilot:
        first = service.tree.lessons[service.tree.lesson_order()[0]].title
        text = await wait_for_text(pilot, f"✓ {first[:20]}", f"✓ Knowledge check: {first[:10]}")
        assert f"✓ {first[:20]}" in text and f"✓ Knowledge check: {first[:10]}" in text
        assert again.ctx is not None
        assert any(a.passed for a in again.ctx.service.store.lab_attempts(again.ctx.learner_id, lab_id))
