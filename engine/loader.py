"""Provides the course loader: read every content file, validate it, resolve cross-references.

``validate_course(root)`` collects *every* problem; ``load_course(root)`` raises ``ContentError``
when there is any. The tree it returns is immutable and knows where each item came from.

Layout of a course folder::

    course.yaml                 levels and modules in order
    glossary.yaml               terms (optional)
    coverage.yaml               source sections → ids (optional)
    lessons/<id>.yaml           one lesson each
    questions/<set>.yaml        a titled list of questions each
    tenants/<id>.yaml           one tenant scenario each
    labs/<id>/lab.yaml          one lab each (see engine.models.lab)
    assessments/<id>.yaml       one assessment each
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from engine.errors import ContentError
from engine.models.assessment import Assessment
from engine.models.course import Course, Coverage, Glossary
from engine.models.lab import Lab
from engine.models.lesson import Lesson
from engine.models.question import Question, QuestionItem, QuestionSet
from engine.problems import Problem, Problems, did_you_mean
from engine.render import RenderError, internal_links, render_markdown
from engine.validation import validate_doc
from engine.yamlsrc import YamlDoc, read_yaml_file
from labs.tenant.scenario import TenantScenario

__all__ = ["CourseTree", "Origin", "load_course", "validate_course"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Origin:
    """Where an item was defined: its file and key path inside it."""

    file: str
    path: tuple[str | int, ...]


@dataclass
class CourseTree:
    """A loaded course: every item by id, plus where each came from."""

    root: Path
    course: Course
    lessons: dict[str, Lesson] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    question_sets: dict[str, QuestionSet] = field(default_factory=dict)
    tenants: dict[str, TenantScenario] = field(default_factory=dict)
    labs: dict[str, Lab] = field(default_factory=dict)
    assessments: dict[str, Assessment] = field(default_factory=dict)
    glossary: Glossary | None = None
    coverage: Coverage | None = None
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    lab_dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def scenario(self) -> TenantScenario:
        """The course's tenant scenario (whose names lessons use)."""
        return self.tenants[self.course.scenario]

    def template_vars(self, scenario: TenantScenario | None = None) -> dict[str, Any]:
        """Return the Jinja2 context for lesson and question text."""
        return {"tenant": (scenario or self.scenario).template_vars()}

    def lesson_order(self) -> list[str]:
        """Return every lesson id in teaching order."""
        return [lid for level in self.course.levels for module in level.modules for lid in module.lessons]

    def lab_order(self) -> list[str]:
        """Return every lab id in course order."""
        return [lab for level in self.course.levels for module in level.modules for lab in module.labs]


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems = Problems()
        self.docs: dict[str, YamlDoc] = {}
        self.broken_files: set[str] = set()
        """Stems of files that did not validate: references to them are not reported again."""
        self.broken_ids: set[str] = set()
        """Ids of items that did not validate."""
        self._glossary_ids: set[str] | None = None

    # -- reading ---------------------------------------------------------------------------

    def shown(self, file: Path) -> str:
        try:
            return str(file.relative_to(Path.cwd()))
        except ValueError:
            return str(file)

    def read(self, file: Path) -> YamlDoc | None:
        doc = read_yaml_file(file, self.shown(file), self.problems)
        if doc is not None:
            self.docs[doc.path] = doc
        return doc

    def model(self, model: type[M], file: Path) -> tuple[M | None, YamlDoc | None]:
        doc = self.read(file)
        if doc is None:
            self.broken_files.add(file.parent.name if file.name == "lab.yaml" else file.stem)
            return None, None
        if not isinstance(doc.data, dict):
            self.problems.add(doc.path, f"expected a mapping of keys to values at the top level; got {type(doc.data).__name__}", 1, 1, doc.text)
            self.broken_files.add(file.stem)
            return None, doc
        result = validate_doc(model, doc, self.problems)
        if result is None:
            self.broken_files.add(file.parent.name if file.name == "lab.yaml" else file.stem)
            if isinstance(doc.data.get("id"), str):
                self.broken_ids.add(doc.data["id"])
        return result, doc

    def at(self, origin: Origin, message: str, *, key: bool = False) -> None:
        doc = self.docs.get(origin.file)
        mark = doc.locate(origin.path, prefer_key=key) if doc else None
        self.problems.add(origin.file, message, mark.line if mark else None, mark.col if mark else None,
                          doc.text if doc else None)

    def files(self, folder: str, pattern: str) -> list[Path]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return sorted(base.glob(pattern))

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> CourseTree | None:
        course_file = self.root / "course.yaml"
        if not course_file.is_file():
            self.problems.add(self.shown(course_file), "course.yaml not found: a course folder starts with it")
            return None
        course, course_doc = self.model(Course, course_file)
        tree = CourseTree(root=self.root, course=course) if course else None
        lessons: dict[str, Lesson] = {}
        questions: dict[str, Question] = {}
        origins: dict[tuple[str, str], Origin] = {}

        def register(kind: str, item_id: str, origin: Origin, store: dict[str, Any], item: Any) -> None:
            if item_id in store:
                first = origins[(kind, item_id)]
                self.at(Origin(origin.file, (*origin.path, "id")),
                        f"duplicate {kind} id {item_id!r} (first defined in {first.file})")
                return
            store[item_id] = item
            origins[(kind, item_id)] = origin

        self.check_stray("lessons", {".yaml"})
        for file in self.files("lessons", "*.yaml"):
            lesson, doc = self.model(Lesson, file)
            if lesson and doc:
                if lesson.id != file.stem:
                    self.at(Origin(doc.path, ("id",)), f"lesson id {lesson.id!r} does not match its file name {file.name!r}")
                register("lesson", lesson.id, Origin(doc.path, ()), lessons, lesson)

        sets: dict[str, QuestionSet] = {}
        self.check_stray("questions", {".yaml"})
        for file in self.files("questions", "*.yaml"):
            self.load_question_set(file, sets, questions, register)

        tenants: dict[str, TenantScenario] = {}
        self.check_stray("tenants", {".yaml"})
        for file in self.files("tenants", "*.yaml"):
            scenario, doc = self.model(TenantScenario, file)
            if scenario and doc:
                if scenario.id != file.stem:
                    self.at(Origin(doc.path, ("id",)), f"scenario id {scenario.id!r} does not match its file name {file.name!r}")
                register("tenant", scenario.id, Origin(doc.path, ()), tenants, scenario)

        labs: dict[str, Lab] = {}
        lab_dirs: dict[str, Path] = {}
        for folder in self.files("labs", "*"):
            if not folder.is_dir():
                self.problems.add(self.shown(folder), "unexpected file: each lab is a folder with a lab.yaml")
                continue
            lab_file = folder / "lab.yaml"
            if not lab_file.is_file():
                self.problems.add(self.shown(folder), "lab folder has no lab.yaml")
                continue
            lab, doc = self.model(Lab, lab_file)
            if lab and doc:
                if lab.id != folder.name:
                    self.at(Origin(doc.path, ("id",)), f"lab id {lab.id!r} does not match its folder name {folder.name!r}")
                register("lab", lab.id, Origin(doc.path, ()), labs, lab)
                lab_dirs[lab.id] = folder

        assessments: dict[str, Assessment] = {}
        self.check_stray("assessments", {".yaml"})
        for file in self.files("assessments", "*.yaml"):
            assessment, doc = self.model(Assessment, file)
            if assessment and doc:
                register("assessment", assessment.id, Origin(doc.path, ()), assessments, assessment)

        glossary = coverage = None
        if (self.root / "glossary.yaml").is_file():
            glossary, _ = self.model(Glossary, self.root / "glossary.yaml")
        if (self.root / "coverage.yaml").is_file():
            coverage, _ = self.model(Coverage, self.root / "coverage.yaml")

        if tree is None or course_doc is None:
            return None
        tree.lessons, tree.questions, tree.question_sets = lessons, questions, sets
        tree.tenants, tree.labs, tree.assessments = tenants, labs, assessments
        tree.glossary, tree.coverage, tree.origins, tree.lab_dirs = glossary, coverage, origins, lab_dirs
        self.cross_check(tree, course_doc)
        return tree

    def load_question_set(self, file: Path, sets: dict[str, QuestionSet], questions: dict[str, Question],
                          register: Callable[..., None]) -> None:
        """Validate a question file question by question, so one bad item hides no other."""
        doc = self.read(file)
        if doc is None:
            self.broken_files.add(file.stem)
            return
        data = doc.data
        if not isinstance(data, dict):
            self.problems.add(doc.path, "expected a mapping with 'title' and 'questions'", 1, 1, doc.text)
            return
        items = data.get("questions")
        header = {k: v for k, v in data.items() if k != "questions"}
        header["questions"] = [{"kind": "free", "id": "xx", "level": "L1", "prompt": "x", "explanation": "x",
                                "model_answer": "x", "key_points": [{"point": "x", "any_of": ["x"]}]}]
        if validate_doc(QuestionSet, doc, self.problems, data=header) is None:
            return
        if not isinstance(items, list) or not items:
            mark = doc.locate(("questions",), prefer_key=True)
            self.problems.add(doc.path, "expected 'questions': a list of at least one question",
                              mark.line if mark else 1, mark.col if mark else 1, doc.text)
            return
        good: list[Question] = []
        for i, item in enumerate(items):
            validated = validate_doc(QuestionItem, doc, self.problems, data=item, base=("questions", i))
            if validated is None:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    self.broken_ids.add(item["id"])
                continue
            good.append(validated.root)
            register("question", validated.root.id, Origin(doc.path, ("questions", i)), questions, validated.root)
        if good:
            sets[file.stem] = QuestionSet(title=data.get("title", file.stem), questions=good)

    def check_stray(self, folder: str, allowed: set[str]) -> None:
        base = self.root / folder
        if not base.is_dir():
            return
        for entry in sorted(base.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir() or entry.suffix not in allowed:
                self.problems.add(self.shown(entry), f"unexpected {'folder' if entry.is_dir() else 'file'} in {folder}/: "
                                  f"only {', '.join(sorted(allowed))} files belong here")

    # -- cross references -------------------------------------------------------------------

    def ref(self, origin: Origin, kind: str, value: str, known: Collection[str]) -> bool:
        if value in known:
            return True
        if value in self.broken_ids or value in self.broken_files:
            return False  # the item itself failed to validate and was reported there
        self.at(origin, f"unknown {kind} id {value!r}.{did_you_mean(value, list(known))}")
        return False

    def cross_check(self, tree: CourseTree, course_doc: YamlDoc) -> None:
        cfile = course_doc.path
        scenario_ok = self.ref(Origin(cfile, ("scenario",)), "tenant scenario", tree.course.scenario, tree.tenants)
        placed: dict[str, str] = {}
        for li, level in enumerate(tree.course.levels):
            for mi, module in enumerate(level.modules):
                for i, lid in enumerate(module.lessons):
                    origin = Origin(cfile, ("levels", li, "modules", mi, "lessons", i))
                    if not self.ref(origin, "lesson", lid, tree.lessons):
                        continue
                    if lid in placed:
                        self.at(origin, f"lesson {lid!r} is already listed in module {placed[lid]!r}")
                    placed[lid] = module.id
                    if tree.lessons[lid].level != level.id:
                        self.at(origin, f"lesson {lid!r} is level {tree.lessons[lid].level} but sits in level {level.id}")
                for i, lab_id in enumerate(module.labs):
                    self.ref(Origin(cfile, ("levels", li, "modules", mi, "labs", i)), "lab", lab_id, tree.labs)
        seen_levels = [level.id for level in tree.course.levels]
        if len(set(seen_levels)) != len(seen_levels):
            self.at(Origin(cfile, ("levels",)), "each level (L1, L2, L3) may appear only once")
        for lid in tree.lessons:
            if lid not in placed:
                self.at(Origin(tree.origins[("lesson", lid)].file, ("id",)), f"lesson {lid!r} is not listed in any module of course.yaml")

        variables = tree.template_vars() if scenario_ok else None
        for lid, lesson in tree.lessons.items():
            origin = tree.origins[("lesson", lid)]
            for i, qid in enumerate(lesson.questions):
                self.ref(Origin(origin.file, ("questions", i)), "question", qid, tree.questions)
            self.check_text(origin, ("body",), lesson.body, variables, tree)
        for qid, question in tree.questions.items():
            origin = tree.origins[("question", qid)]
            if question.lesson is not None:
                self.ref(Origin(origin.file, (*origin.path, "lesson")), "lesson", question.lesson, tree.lessons)
            self.check_text(origin, ("prompt",), question.prompt, variables, tree)
            self.check_text(origin, ("explanation",), question.explanation, variables, tree)
        if tree.glossary is not None:
            gfile = self.shown(self.root / "glossary.yaml")
            ids = [t.id for t in tree.glossary.terms]
            for i, term in enumerate(tree.glossary.terms):
                if ids.count(term.id) > 1 and ids.index(term.id) != i:
                    self.at(Origin(gfile, ("terms", i, "id")), f"duplicate glossary id {term.id!r}")
                for j, other in enumerate(term.see_also):
                    self.ref(Origin(gfile, ("terms", i, "see_also", j)), "glossary", other, ids)
                for j, lid in enumerate(term.lessons):
                    self.ref(Origin(gfile, ("terms", i, "lessons", j)), "lesson", lid, tree.lessons)
        if tree.coverage is not None:
            cov = self.shown(self.root / "coverage.yaml")
            for i, section in enumerate(tree.coverage.sections):
                if not (section.lessons or section.questions or section.labs):
                    self.at(Origin(cov, ("sections", i, "heading")), f"section {section.heading!r} is covered by nothing")
                for j, lid in enumerate(section.lessons):
                    self.ref(Origin(cov, ("sections", i, "lessons", j)), "lesson", lid, tree.lessons)
                for j, qid in enumerate(section.questions):
                    self.ref(Origin(cov, ("sections", i, "questions", j)), "question", qid, tree.questions)
                for j, lab_id in enumerate(section.labs):
                    self.ref(Origin(cov, ("sections", i, "labs", j)), "lab", lab_id, tree.labs)
        for lab_id, lab in tree.labs.items():
            origin = tree.origins[("lab", lab_id)]
            try:
                lab_vars: dict[str, Any] | None = tree.template_vars(lab.scenario(tree)) if variables else None
            except ValueError:
                lab_vars = None  # the overrides do not validate; Lab.cross_check reports that
            texts: list[tuple[tuple[str | int, ...], str]] = [(("situation",), lab.situation), (("task",), lab.task)]
            texts += [(("hints", i), h) for i, h in enumerate(lab.hints)]
            texts += [(("admin_tasks", i), t) for i, t in enumerate(lab.admin_tasks)]
            for key, text in texts:
                self.check_text(origin, key, text, lab_vars, tree)
        for kind, items in (("lab", tree.labs), ("assessment", tree.assessments)):
            for item_id, item in items.items():
                item.cross_check(tree, self.reporter(tree.origins[(kind, item_id)]))

    def glossary_ids(self, tree: CourseTree) -> set[str]:
        """Ids of the glossary terms (computed once)."""
        if self._glossary_ids is None:
            self._glossary_ids = {t.id for t in tree.glossary.terms} if tree.glossary else set()
        return self._glossary_ids

    def reporter(self, origin: Origin) -> Callable[[tuple[str | int, ...], str], None]:
        def report(path: tuple[str | int, ...], message: str) -> None:
            self.at(Origin(origin.file, (*origin.path, *path)), message)

        return report

    def check_text(self, origin: Origin, key: tuple[str | int, ...], text: str,
                   variables: dict[str, Any] | None, tree: CourseTree) -> None:
        path = (*origin.path, *key)
        doc = self.docs.get(origin.file)

        def report(line: int | None, message: str) -> None:
            first = doc.block_starts.get(path) if doc else None  # positions are worked out only now
            value_mark = doc.locate(path) if doc else None
            start = first or (value_mark.line if value_mark else 1)
            at_line = start + line - 1 if line is not None else start
            col = 1 if first else (value_mark.col if value_mark else 1)
            self.problems.add(origin.file, message, at_line, col, doc.text if doc else None)

        if variables is not None:
            try:
                text = render_markdown(text, variables)
            except RenderError as exc:
                report(exc.line, exc.message)
                return
        for link in internal_links(text):
            known = tree.lessons if link.scheme == "lesson" else self.glossary_ids(tree)
            if link.target not in known:
                report(link.line, f"link to unknown {link.scheme} {link.target!r}.{did_you_mean(link.target, known)}")


def validate_course(root: Path, *, extra_checks: Callable[[CourseTree, Problems], None] | None = None
                    ) -> tuple[CourseTree | None, list[Problem]]:
    """Load and check the course at ``root``.

    Args:
        root: the course folder.
        extra_checks: further checks over a tree that loaded (e.g. running every lab's solution).

    Returns:
        The tree (None when it could not be built) and every problem found, sorted.
    """
    loader = _Loader(root)
    tree = loader.load()
    if tree is not None and extra_checks is not None and not loader.problems:
        extra_checks(tree, loader.problems)
    return tree, loader.problems.sorted()


def load_course(root: Path) -> CourseTree:
    """Load the course at ``root``.

    Raises:
        ContentError: when any problem is found; ``problems`` lists them all.
    """
    tree, problems = validate_course(root)
    if problems or tree is None:
        first = problems[0] if problems else None
        raise ContentError(
            f"{first} (and {len(problems) - 1} more)" if first and len(problems) > 1 else str(first or "course did not load"),
            problems,
        )
    return tree
