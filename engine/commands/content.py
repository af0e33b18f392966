"""Provides ``relaylab validate``, ``relaylab schema``, ``relaylab outline`` and ``relaylab tui``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands._common import add_course_option, course_root, emit_json, stdout_console
from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.loader import CourseTree
    from engine.problems import Problems

__all__ = ["register"]

FORMAT_NAMES = ["assessment", "course", "coverage", "glossary", "lab", "lesson", "questions", "tenant"]
"""The content formats (engine.schema.FORMATS, listed here so that --help needs no models)."""


def register(sub: Any) -> None:
    """Add the content commands."""
    p = sub.add_parser("tui", help="open the course in the terminal app (the default)")
    add_course_option(p)
    p.set_defaults(handler=cmd_tui)

    p = sub.add_parser("validate", help="check course content; print every error as FILE:LINE:COL: message")
    p.add_argument("dir", nargs="?", type=Path, default=None, help="course folder (default: the bundled course)")
    p.add_argument("--json", action="store_true", help="print problems as JSON")
    p.add_argument("--no-labs", action="store_true",
                   help="skip running every lab's solution, starting config and wrong fixes through a real tenant")
    p.add_argument("--lab", action="append", default=[], metavar="ID", help="self-test only these labs")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the content formats (for editors)")
    p.add_argument("format", nargs="?", choices=FORMAT_NAMES, help="one format (default: all)")
    p.add_argument("--out", metavar="DIR", type=Path, help="write <format>.json files into DIR instead")
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser("outline", help="print the course outline")
    add_course_option(p)
    p.add_argument("--json", action="store_true", help="print the outline as JSON")
    p.set_defaults(handler=cmd_outline)


def cmd_validate(args: argparse.Namespace) -> int:
    from engine.loader import validate_course

    root = course_root(args.dir)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    started = time.perf_counter()
    extra = None
    if not args.no_labs:
        from engine.labcheck import lab_problems

        def extra(tree: CourseTree, problems: Problems) -> None:
            if tree.labs:
                if not args.json:
                    print(f"running {len(args.lab or tree.labs)} labs through a real tenant ...", file=sys.stderr)
                lab_problems(tree, problems, args.lab or None)

    tree, problems = validate_course(root, extra_checks=extra)
    elapsed = time.perf_counter() - started
    if args.json:
        emit_json({"ok": not problems, "problems": [p.to_json() for p in problems], "seconds": round(elapsed, 3),
                   "counts": _counts(tree) if tree else {}})
        return 1 if problems else 0
    if problems:
        from engine.commands._common import stderr_console

        console = stderr_console()
        for p in problems:
            console.print(f"[bold]{p.location()}[/]: {p.message}", markup=True, highlight=False, soft_wrap=True)
            if p.source_line is not None and p.source_line.strip():
                console.print(f"    {p.source_line.rstrip()}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.", highlight=False)
        return 1
    assert tree is not None
    counts = _counts(tree)
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    print(f"{root}: ok ({summary}) in {elapsed:.2f} s")
    return 0


def _counts(tree: CourseTree) -> dict[str, int]:
    return {
        "lessons": len(tree.lessons),
        "questions": len(tree.questions),
        "labs": len(tree.labs),
        "tenant scenarios": len(tree.tenants),
        "assessments": len(tree.assessments),
    }


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.schema import FORMATS, schema_for, write_schemas

    if args.out is not None:
        for path in write_schemas(args.out):
            print(path)
        return 0
    if args.format:
        print(json.dumps(schema_for(args.format), indent=2, sort_keys=True))
    else:
        print(json.dumps({name: schema_for(name) for name in FORMATS}, indent=2, sort_keys=True))
    return 0


def outline_data(tree: CourseTree) -> dict[str, Any]:
    """Return the course outline as data."""
    return {
        "title": tree.course.title,
        "levels": [
            {
                "id": level.id,
                "title": level.title,
                "modules": [
                    {
                        "id": m.id,
                        "title": m.title,
                        "lessons": [{"id": lid, "title": tree.lessons[lid].title, "minutes": tree.lessons[lid].minutes,
                                     "questions": len(tree.lessons[lid].questions)} for lid in m.lessons],
                        "labs": [{"id": lab, "title": tree.labs[lab].title} for lab in m.labs],
                    }
                    for m in level.modules
                ],
            }
            for level in tree.course.levels
        ],
    }


def cmd_outline(args: argparse.Namespace) -> int:
    from engine.coursecache import load_course_cached

    tree = load_course_cached(course_root(args.course))
    data = outline_data(tree)
    if getattr(args, "json", False):
        emit_json(data)
        return 0
    from rich.tree import Tree

    console = stdout_console()
    root = Tree(f"[bold]{data['title']}[/]")
    for level in data["levels"]:
        lnode = root.add(f"[bold cyan]{level['id']}[/] {level['title']}")
        for module in level["modules"]:
            mnode = lnode.add(f"[bold]{module['title']}[/]")
            for lesson in module["lessons"]:
                mnode.add(f"lesson  {lesson['title']} [dim]({lesson['minutes']} min, {lesson['questions']} questions)[/]")
            for lab in module["labs"]:
                mnode.add(f"lab     {lab['title']}")
    console.print(root)
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    # The one place the engine starts the app (allowed in tests/test_architecture.py); imported
    # here so that no other command loads Textual.
    from course.app import run

    return int(run(args.course))
