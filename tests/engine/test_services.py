"""The façade the app uses: outline and completion, lessons, answers of every kind, the bank,
flashcards, progress, links, and lab sessions (a real tenant on free ports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import LabError, UsageError
from engine.services import CourseService, check_field, line_mark, load_course_cached, plain_text
from engine.store import Store
from labs.records import Line
from tests.course.fixture import fixture_course

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> CourseService:
    svc = CourseService.open(fixture_course(), tmp_path / "progress.sqlite3")
    svc.now = lambda: NOW
    yield svc
    svc.close()


@pytest.fixture
def learner(service: CourseService) -> str:
    return service.choose_learner("Ada").id


RIGHT = {
    "wir-single": lambda s: next(c.key for c in s.question("wir-single").choices if c.text == "The MX host"),
    "wir-multiple": lambda s: [0, 1],
    "wir-order": lambda s: ["EHLO", "MAIL FROM", "RCPT TO", "DATA"],
    "ports-match": lambda s: {"25": "Server-to-server (MX)", "587": "Client submission with STARTTLS"},
    "ports-short": lambda s: " Port 587 ",
    "ports-free": lambda s: "587 is client submission, so the printer must sign in with a password.",
}
WRONG = {
    "wir-single": lambda s: 1,
    "wir-multiple": lambda s: [0, 2],
    "wir-order": lambda s: ["MAIL FROM", "EHLO", "RCPT TO", "DATA"],
    "ports-match": lambda s: {"25": "Web mail", "587": "Client submission with STARTTLS"},
    "ports-short": lambda s: "25",
    "ports-free": lambda s: "It is a firewall thing.",
}


def test_outline_lists_levels_modules_lessons_checks_and_labs(service: CourseService, learner: str) -> None:
    outline = service.outline(learner)
    assert [lv.id for lv in outline.levels] == ["L1", "L2", "L3"]
    kinds = [(i.kind, i.id) for i in outline.levels[0].modules[0].items]
    assert kinds == [("lesson", "what-is-relay"), ("check", "what-is-relay"), ("lesson", "ports"),
                     ("check", "ports"), ("lab", "scan-to-inbox")]
    assert all(i.status == "todo" for lv in outline.levels for m in lv.modules for i in m.items)
    assert outline.resume is not None and outline.resume.id == "what-is-relay"


def test_lesson_is_rendered_with_tenant_names_tables_and_neighbours(service: CourseService, learner: str) -> None:
    view = service.open_lesson(learner, "what-is-relay")
    assert "Contoso Ltd" in view.markdown and "{{" not in view.markdown
    assert "| Direct Send | `contoso-com.mail.protection.outlook.com` | 25 |" in view.markdown
    assert view.previous is None and view.next is not None and view.next.id == "ports"
    assert view.position == "Lesson 1 of 4" and view.module == "Relay basics"
    assert [(link.kind, link.target, link.title) for link in view.links] == [
        ("lesson", "ports", "Ports and TLS"), ("glossary", "mx", "MX host")]
    assert not view.completed
    assert service.complete_lesson(learner, "what-is-relay").completed
    outline = service.outline(learner)
    assert outline.levels[0].modules[0].items[0].status == "done"
    # "Continue" moves on to the lesson's knowledge check
    assert outline.resume is not None and (outline.resume.kind, outline.resume.id) == ("check", "what-is-relay")


def test_unknown_lesson_is_a_usage_error(service: CourseService) -> None:
    with pytest.raises(UsageError, match="no lesson"):
        service.lesson("nope")


@pytest.mark.parametrize("qid", sorted(RIGHT))
def test_every_kind_scores_right_and_wrong_answers_and_stores_them(service: CourseService, learner: str, qid: str) -> None:
    good = service.answer(learner, qid, RIGHT[qid](service))
    assert good.correct and good.verdict == "Right", good
    bad = service.answer(learner, qid, WRONG[qid](service))
    assert not bad.correct
    assert bad.explanation and bad.answer
    assert bad.lesson is not None
    stored = service.store.answers(learner, qid)
    assert [a.correct for a in stored] == [True, False]


def test_free_text_feedback_lists_key_points_made_and_missed(service: CourseService, learner: str) -> None:
    feedback = service.answer(learner, "ports-free", "Port 587 is for submission.")
    assert feedback.verdict == "Partly right"
    assert [(h.point, h.made) for h in feedback.key_points] == [("587 is client submission", True),
                                                                 ("It needs authentication", False)]
    assert feedback.model_answer.startswith("Port 587")


def test_choice_feedback_explains_each_option(service: CourseService, learner: str) -> None:
    feedback = service.answer(learner, "wir-single", 1)
    chosen = [n for n in feedback.options if n.chosen]
    assert len(chosen) == 1 and not chosen[0].correct and chosen[0].why == "That is the client submission host."


def test_badly_shaped_responses_are_refused(service: CourseService, learner: str) -> None:
    with pytest.raises(UsageError):
        service.answer(learner, "wir-order", ["EHLO"])
    with pytest.raises(UsageError):
        service.answer(learner, "ports-short", 587)


def test_question_views_are_shuffled_the_same_way_every_time(service: CourseService) -> None:
    order = service.question("wir-order")
    assert list(order.items) != ["EHLO", "MAIL FROM", "RCPT TO", "DATA"]
    assert sorted(order.items) == sorted(["EHLO", "MAIL FROM", "RCPT TO", "DATA"])
    match = service.question("ports-match")
    assert set(match.rights) == {"Server-to-server (MX)", "Client submission with STARTTLS", "Web mail"}
    again = CourseService(service.tree, service.store)
    assert again.question("wir-order").items == order.items


def test_check_is_done_when_every_question_was_answered_right(service: CourseService, learner: str) -> None:
    for qid in ("wir-single", "wir-multiple"):
        service.answer(learner, qid, RIGHT[qid](service))
    item = service.outline(learner).levels[0].modules[0].items[1]
    assert (item.status, item.detail) == ("started", "2/3 right")
    service.answer(learner, "wir-order", RIGHT["wir-order"](service))
    assert service.outline(learner).levels[0].modules[0].items[1].status == "done"
    assert service.check(learner, "what-is-relay").right == {"wir-single", "wir-multiple", "wir-order"}


def test_bank_search_by_text_level_tag_and_scope(service: CourseService, learner: str) -> None:
    assert [e.id for e in service.search_bank(learner)] == ["ports-free", "auth-single", "design-free"]
    assert [e.id for e in service.search_bank(learner, "certificate")] == ["design-free"]
    assert [e.id for e in service.search_bank(learner, level="L2")] == ["auth-single"]
    assert [e.id for e in service.search_bank(learner, tag="tls")] == ["ports-free"]
    everything = service.search_bank(learner, interview_only=False)
    assert len(everything) == 8
    assert [e.id for e in service.search_bank(learner, "587 submission", interview_only=False)] == ["ports-free", "ports-match", "ports-short"]


def test_flashcards_bring_hard_cards_back_first(service: CourseService, learner: str) -> None:
    queue = service.flashcard_queue(learner)
    assert queue.remaining == ["ports-free", "auth-single", "design-free"]
    card = service.card(learner, "ports-free")
    assert card.due == "new" and card.key_points and card.answer.startswith("Port 587")
    assert service.rate_card(learner, "ports-free", "hard").box == 1
    assert service.rate_card(learner, "auth-single", "easy").box == 3
    service.rate_card(learner, "design-free", "good")
    # ten minutes later only the hard card is due again
    service.now = lambda: NOW + timedelta(minutes=11)
    assert service.flashcard_queue(learner).remaining == ["ports-free"]
    # a day later the good one (box 2) is due too, after the shakier hard one
    service.now = lambda: NOW + timedelta(days=1, minutes=1)
    assert service.flashcard_queue(learner).remaining == ["ports-free", "design-free"]
    assert service.card(learner, "auth-single").due == "in 2 days"


def test_links_resolve_inside_the_course_and_never_outside(service: CourseService) -> None:
    assert service.resolve_link("lesson:ports").kind == "lesson"
    assert service.resolve_link("lesson:ports").title == "Ports and TLS"
    glossary = service.resolve_link("glossary:mx")
    assert (glossary.kind, glossary.title) == ("glossary", "MX host")
    assert service.resolve_link("https://learn.microsoft.com").kind == "external"
    assert service.resolve_link("#port-25").kind == "anchor"
    assert service.resolve_link("lesson:nope").kind == "unknown"
    entry = service.glossary("mx")
    assert entry is not None and entry.lessons[0].id == "ports"


def test_palette_finds_lessons_checks_labs_and_questions(service: CourseService) -> None:
    kinds = {(e.kind, e.id) for e in service.palette_entries()}
    assert {("lesson", "ports"), ("check", "ports"), ("lab", "scan-to-inbox"), ("question", "design-free")} <= kinds


def test_progress_summarises_levels_time_and_weakest_topics(service: CourseService, learner: str) -> None:
    service.open_lesson(learner, "ports")
    service.complete_lesson(learner, "ports")
    service.answer(learner, "ports-short", "25")
    service.answer(learner, "wir-single", RIGHT["wir-single"](service))
    progress = service.progress(learner)
    l1 = progress.levels[0]
    assert (l1.lessons_done, l1.lessons_total, l1.checks_total, l1.labs_total) == (1, 2, 2, 1)
    assert (progress.answered, progress.right) == (2, 1)
    assert progress.weakest[0].tag == "ports" and progress.weakest[0].percent == 0.0
    assert [p.series for p in progress.points] == ["answers"] and progress.points[0].percent == 50.0
    assert set(progress.seconds) == {"reading", "practice", "labs", "total"}


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("host", "smtp.office365.com", True),
        ("host", "smtp office365", False),  # a space
        ("host", "", False),
        ("host", "127.0.0.1", True),
        ("port", "587", True),
        ("port", "70000", False),
        ("port", "abc", False),
        ("from_address", "scanner@contoso.com", True),
        ("from_address", "scanner", False),
        ("to", "a@contoso.com, b@contoso.com", True),
        ("to", "a@contoso.com, nobody", False),
        ("username", "", True),  # optional
    ],
)
def test_check_field(name: str, value: str, ok: bool) -> None:
    assert (check_field(name, value) is None) == ok


@pytest.mark.parametrize(
    ("direction", "text", "mark"),
    [
        ("C", "EHLO printer", "client"),
        ("S", "250 2.1.0 Sender OK", "server"),
        ("C", "STARTTLS", "tls"),
        ("I", "TLS TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384", "tls"),
        ("C", "AUTH LOGIN", "auth"),
        ("C", "<redacted>", "auth"),
        ("S", "235 2.7.0 Authentication successful", "auth"),
        ("S", "550 5.7.54 Unable to relay", "error"),
        ("I", "attribution: anonymous", "info"),
    ],
)
def test_line_mark(direction: str, text: str, mark: str) -> None:
    assert line_mark(Line(0.0, direction, text)) == mark  # type: ignore[arg-type]


def test_plain_text_strips_markdown() -> None:
    assert plain_text("Which **host** does `Direct Send` use? See [this](lesson:x).") == \
        "Which host does Direct Send use? See this."
    assert plain_text("x" * 20, 10) == "xxxxxxxxx…"


def test_cached_course_loads_the_same_tree_without_validating_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import engine.coursecache

    root = tmp_path / "course"
    shutil.copytree(fixture_course(), root)
    first = load_course_cached(root)
    assert engine.coursecache.cache_file(root).is_file()

    def no_full_load(_root: Path) -> None:
        raise AssertionError("the cached tree was not used")

    with monkeypatch.context() as patch:
        patch.setattr(engine.coursecache, "load_course", no_full_load)
        second = load_course_cached(root)
    assert second.lessons == first.lessons and second.questions.keys() == first.questions.keys()
    # an edited file is read again
    lesson = next((root / "lessons").glob("*.yaml"))
    lesson.write_text(lesson.read_text() + "\n")
    assert not engine.coursecache.cache_file(root).is_file()
    third = load_course_cached(root)
    assert third.lessons.keys() == first.lessons.keys()


def test_device_form_follows_the_device_capabilities(service: CourseService, learner: str) -> None:
    session = service.open_lab("scan-to-inbox", learner)
    form = {f.name: f for f in session.form()}
    assert [v for _, v in form["security"].options] == ["none", "starttls"]  # a printer: no implicit TLS
    assert [v for _, v in form["auth"].options] == ["none", "login"]  # and no OAuth
    assert "oauth.client_id" not in form and "client_certificate" not in form
    values = session.form_values(session.starting_config())
    assert values["host"] == "contoso-com.mail.protection.outlook.com" and values["to"] == "megan.bowen@contoso.com"
    values["security"] = "starttls"
    config = session.config_from_form(values)
    assert config.security == "starttls" and config.to == ["megan.bowen@contoso.com"]
    with pytest.raises(LabError, match="Port"):
        session.config_from_form({**values, "port": "99999"})
    with pytest.raises(LabError, match="line 1|device config"):
        session.parse_yaml("host: [")
    assert session.parse_yaml(session.config_yaml(config)) == config


async def test_lab_session_runs_fails_then_passes_and_stores_attempts(service: CourseService, learner: str) -> None:
    session = service.open_lab("scan-to-inbox", learner)
    events = []
    await session.start()
    try:
        session.subscribe(events.append)
        assert {e.name for e in session.endpoints()} == {"mx", "submission", "smtps"}
        first = await session.run(session.starting_config())
        assert first.result.gradable and not first.result.passed
        assert [c.passed for c in first.result.checks] == [True, False]
        assert session.next_hint() == (1, "Look at the connection security setting.")
        values = session.form_values(session.starting_config())
        values["security"] = "starttls"
        second = await session.run(session.config_from_form(values))
        assert second.result.passed and second.percent == 100.0
    finally:
        await session.stop()
    assert any(e.kind == "line" for e in events)
    attempts = service.store.lab_attempts(learner, "scan-to-inbox")
    assert [a.passed for a in attempts] == [False, True] and attempts[1].hints_used == 1
    progress = service.progress(learner)
    assert progress.labs[0].passed and progress.labs[0].attempts == 2
    assert service.outline(learner).levels[0].modules[0].items[-1].status == "done"


def test_service_open_defaults_to_the_bundled_course(tmp_path: Path) -> None:
    svc = CourseService.open(store=tmp_path / "p.sqlite3")
    try:
        assert svc.tree.lessons and isinstance(svc.store, Store)
    finally:
        svc.close()


# -- the plain-text quiz (relaylab quiz) ------------------------------------------------------------


def test_quiz_questions_put_the_ones_never_answered_right_first(service: CourseService, learner: str) -> None:
    service.answer(learner, "ports-short", "587")
    picked = service.quiz_questions(learner, level="L1", count=6, seed=3)
    assert len(picked) == 6 and picked[-1] == "ports-short"
    assert service.quiz_questions(learner, tag="smtp-auth") == ["auth-single"]
    with pytest.raises(UsageError, match="no question matches"):
        service.quiz_questions(learner, tag="nope")


def test_plain_quiz_reads_answers_from_stdin_and_stores_them(service: CourseService, learner: str) -> None:
    import io

    from engine.commands.quiz import _run

    single = service.question("wir-single")
    right_number = next(i for i, c in enumerate(single.choices, start=1) if c.text == "The MX host")
    order = service.question("wir-order")
    order_numbers = " ".join(str(order.items.index(item) + 1) for item in ["EHLO", "MAIL FROM", "RCPT TO", "DATA"])
    stdin = io.StringIO(f"9\n{right_number}\nnonsense\n{order_numbers}\ns\n587\nsubmission and a password\n\n")
    stdout = io.StringIO()
    _run(service, learner, ["wir-single", "wir-order", "wir-multiple", "ports-short", "ports-free"], stdin, stdout)
    out = stdout.getvalue()
    assert "Please type one number from 1 to 3." in out
    assert "Please type each number from 1 to 4 once, in order." in out
    assert "Skipped." in out and "4 of 4 answered right." in out
    assert "made: It needs authentication" in out
    assert [a.mode for a in service.store.answers(learner)] == ["quiz"] * 4


def test_plain_quiz_stops_on_q_and_at_end_of_input(service: CourseService, learner: str) -> None:
    import io

    from engine.commands.quiz import _run

    stdout = io.StringIO()
    _run(service, learner, ["ports-short", "wir-single"], io.StringIO("q\n"), stdout)
    assert "Stopped." in stdout.getvalue() and "No questions answered." in stdout.getvalue()
    stdout = io.StringIO()
    _run(service, learner, ["ports-short"], io.StringIO(""), stdout)
    assert "Stopped." in stdout.getvalue()


def test_relaylab_quiz_command_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from engine.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("587\n"))
    code = main(["quiz", "--course", str(fixture_course()), "--tag", "ports", "--count", "1", "--seed", "1",
                 "--learner", "Ada"])
    out = capsys.readouterr().out
    assert code == 0 and "Question 1 of 1" in out
    assert main(["quiz", "--course", str(fixture_course()), "--count", "0"]) == 2


@pytest.mark.parametrize(
    ("text", "sections"),
    [
        ("# T\n\nintro\n\n## A\n\na\n\n## B\n\nb\n", ["# T\n\nintro\n", "## A\n\na\n", "## B\n\nb\n"]),
        # a "## " line inside a fenced block is code, not a heading
        ("# T\n\n```\n## not a heading\n```\n\n## A\n", ["# T\n\n```\n## not a heading\n```\n", "## A\n"]),
        ("## First\n\nx\n", ["## First\n\nx\n"]),  # no empty section before the first heading
        ("~~~~\n## x\n~~~\n## still code\n~~~~\n", ["~~~~\n## x\n~~~\n## still code\n~~~~\n"]),
    ],
)
def test_split_sections(text: str, sections: list[str]) -> None:
    from engine.services import split_sections

    assert list(split_sections(text)) == sections


def test_every_bundled_lesson_splits_into_sections_that_add_up(tmp_path: Path) -> None:
    from engine.services import split_sections

    svc = CourseService.open(store=tmp_path / "p.sqlite3")
    try:
        for lesson_id in svc.tree.lesson_order():
            view = svc.lesson(lesson_id)
            assert len(view.sections) >= 2, lesson_id
            assert "".join(view.sections).replace("\n", "") == view.markdown.replace("\n", ""), lesson_id
            assert split_sections(view.markdown) == view.sections
    finally:
        svc.close()


def test_the_device_form_can_express_every_bundled_lab_config(tmp_path: Path) -> None:
    """Starting configs, reference solutions and known-wrong fixes of every bundled lab survive a trip
    through the form (settings the device does not use with the chosen authentication excepted)."""
    from engine.models.lab import patch_config

    svc = CourseService.open(store=tmp_path / "p.sqlite3")
    try:
        for lab_id in svc.lab_ids():
            session = svc.open_lab(lab_id, None)
            lab, start = session.lab, session.starting_config()
            configs = [start, session.runner.solution_config()] + [patch_config(start, w.config) for w in lab.wrong_fixes]
            for config in configs:
                back = session.config_from_form(session.form_values(config), base=start)
                if config.auth == "none":
                    config = config.model_copy(update={"username": None, "password": None, "oauth": None})
                assert back == config, lab_id
    finally:
        svc.close()


def test_flashcards_can_be_drawn_from_a_list_of_questions(service: CourseService, learner: str) -> None:
    assert service.flashcard_queue(learner, question_ids=["design-free", "nope", "ports-free"]).remaining == \
        ["design-free", "ports-free"]
