"""The course loader: every problem located, cross-references resolved, nothing raised."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import ContentError
from engine.loader import load_course, validate_course
from tests.conftest import DATA

TINY = DATA / "course"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(TINY, root)
    return root


def problems_of(root: Path) -> list[str]:
    _tree, problems = validate_course(root)
    return [str(p).replace(str(root) + "/", "") for p in problems]


def edit(root: Path, rel: str, change: Callable[[str], str]) -> None:
    path = root / rel
    path.write_text(change(path.read_text()))


def test_tiny_course_loads_with_every_question_kind(course: Path) -> None:
    tree = load_course(course)
    assert tree.lesson_order() == ["ports"]
    assert {q.kind for q in tree.questions.values()} == {"single", "multiple", "order", "match", "short", "free"}
    assert tree.template_vars()["tenant"]["mx_host"] == "tiny-example.mail.protection.outlook.com"


@pytest.mark.parametrize(
    ("rel", "old", "new", "expected"),
    [
        # an unknown key, with a suggestion
        ("lessons/ports.yaml", "title: Ports", "titel: Ports", "lessons/ports.yaml:3:1: unknown key 'titel'. Did you mean 'title'?"),
        # a missing required key points at the mapping that lacks it
        ("lessons/ports.yaml", "summary: Which port each method uses.\n", "", "lessons/ports.yaml:1:1: missing required key 'summary' (One sentence shown in the course map)"),
        # a wrong type names what was expected and what was found
        ("lessons/ports.yaml", "minutes: 10\n" if False else "level: L1", "level: L4", "lessons/ports.yaml:2:8: expected one of 'L1', 'L2' or 'L3'; got 'L4'"),
        ("lessons/ports.yaml", "objectives:\n  - Name the port of each method.", "objectives: 5",
         "lessons/ports.yaml:5:13: expected a list; got 5"),
        # an unknown question kind, with a suggestion
        ("questions/ports.yaml", "kind: single", "kind: singel", "questions/ports.yaml:4:11: unknown kind 'singel'"),
        # a single-choice question with two right answers
        ("questions/ports.yaml", '      - text: "587"\n', '      - text: "587"\n        correct: true\n',
         "questions/ports.yaml:3:5: a single-choice question needs exactly one option"),
        # a near miss that the patterns accept
        ("questions/ports.yaml", "SmtpClientAuthenticationDisabled $true", "SmtpClientAuthenticationDisabled $false ",
         "questions/ports.yaml:37:5: near miss"),
        # cross-references
        ("lessons/ports.yaml", "questions: [ports-single,", "questions: [ports-singel,",
         "lessons/ports.yaml:9:13: unknown question id 'ports-singel'. Did you mean 'ports-single'?"),
        ("course.yaml", "lessons: [ports]", "lessons: [portz]", "course.yaml:10:19: unknown lesson id 'portz'. Did you mean 'ports'?"),
        ("course.yaml", "scenario: tiny", "scenario: tinny", "course.yaml:3:11: unknown tenant scenario id 'tinny'"),
        # templates: unknown variable and syntax error, located on the body line
        ("lessons/ports.yaml", "{{ tenant.mx_host }}", "{{ tenant.mx_hots }}", "lessons/ports.yaml:13:1: unknown template variable"),
        ("lessons/ports.yaml", "{{ tenant.mx_host }}", "{{ tenant.mx_host ", "lessons/ports.yaml:13:1: template syntax error"),
        ("lessons/ports.yaml", "{{ tenant.mx_host }}", "{{ ''.__class__.__mro__ }}", "lessons/ports.yaml:13:1: not allowed in a template"),
        # internal links
        ("lessons/ports.yaml", "(lesson:ports)", "(lesson:portss)", "lessons/ports.yaml:19:1: link to unknown lesson 'portss'"),
        # duplicate ids across question files
        ("questions/ports.yaml", "id: ports-multi", "id: ports-single", "questions/ports.yaml:13:9: duplicate question id 'ports-single'"),
        # scenario rules
        ("tenants/tiny.yaml", "source: 127.0.0.20", "source: 10.0.0.20", "tenants/tiny.yaml:14:13: '10.0.0.20' is not a loopback address"),
    ],
)
def test_broken_content_gets_a_located_error(course: Path, rel: str, old: str, new: str, expected: str) -> None:
    edit(course, rel, lambda text: text.replace(old, new, 1))
    problems = problems_of(course)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_collected_not_just_the_first(course: Path) -> None:
    edit(course, "lessons/ports.yaml", lambda t: t.replace("title: Ports", "titel: Ports").replace("level: L1", "level: L9"))
    edit(course, "questions/ports.yaml", lambda t: t.replace("kind: order", "kind: ordr"))
    problems = problems_of(course)
    assert len(problems) >= 3
    assert {p.split(":")[0] for p in problems} == {"lessons/ports.yaml", "questions/ports.yaml"}


def test_stray_files_and_unlisted_lessons_are_reported(course: Path) -> None:
    (course / "lessons" / "notes.txt").write_text("hello")
    shutil.copy(course / "lessons" / "ports.yaml", course / "lessons" / "extra.yaml")
    edit(course, "lessons/extra.yaml", lambda t: t.replace("id: ports", "id: extra"))
    problems = problems_of(course)
    assert any(p.startswith("lessons/notes.txt: unexpected file") for p in problems), problems
    assert any("lesson 'extra' is not listed in any module" in p for p in problems), problems


def test_load_course_raises_with_all_problems(course: Path) -> None:
    edit(course, "lessons/ports.yaml", lambda t: t.replace("title: Ports", "titel: Ports"))
    with pytest.raises(ContentError) as info:
        load_course(course)
    assert any("unknown key 'titel'" in p.message for p in info.value.problems)
    assert info.value.message.endswith("(and 1 more)")


def test_missing_course_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path)
    assert problems == ["course.yaml: course.yaml not found: a course folder starts with it"]
