"""Provides ``relaylab export --format xapi|csv|junit``: progress, lab attempts and exam results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.commands._common import add_course_option, course_root

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the export command."""
    p = sub.add_parser("export", help="export progress, lab attempts and exam results (xAPI, CSV, JUnit XML)")
    p.add_argument("--format", required=True, choices=["xapi", "csv", "junit"],
                   help="xapi: JSON list of xAPI statements; csv: one row per record; junit: lab checks as tests")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    p.add_argument("--learner", help="only this learner (and exam candidate) by name")
    p.add_argument("--results", nargs="+", type=Path, default=[], metavar="FILE",
                   help="exam result files to include (this machine's own attempts are always included)")
    p.add_argument("--bundle", type=Path, action="append", default=[], help="bundles to grade results with")
    add_course_option(p)
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.coursecache import load_course_cached
    from engine.errors import ContentError
    from engine.exam.attempt import exams_home
    from engine.exam.export import collect, to_csv, to_junit, to_xapi
    from engine.loader import CourseTree
    from engine.paths import store_path
    from engine.store import Store

    tree: CourseTree | None
    try:
        tree = load_course_cached(course_root(args.course))
    except ContentError:
        tree = None
    with Store(store_path()) as store:
        records = collect(store, tree, learner=args.learner, result_files=args.results, exams_folder=exams_home(),
                          bundles=args.bundle)
    for reason in records.skipped:
        print(f"relaylab: left out: {reason}", file=sys.stderr)
    if args.format == "xapi":
        text = json.dumps(to_xapi(records, tree), ensure_ascii=False, indent=1) + "\n"
    elif args.format == "csv":
        text = to_csv(records, tree)
    else:
        text = to_junit(records, tree)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"Exported {len(records.learners)} learner{'s' if len(records.learners) != 1 else ''} and "
              f"{len(records.exams)} exam result{'s' if len(records.exams) != 1 else ''} to {args.output}",
              file=sys.stderr)
    return 0
