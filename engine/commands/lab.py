"""Provides ``relaylab lab list|start|check|grade|hint``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands._common import add_course_option, course_root, emit_json, stdout_console
from engine.errors import LabError, UsageError
from engine.paths import data_home, store_path

if TYPE_CHECKING:
    from engine.labrun import LabRunner, Outcome
    from engine.loader import CourseTree
    from engine.store import Store
    from grading import Result

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the lab commands."""
    lab = sub.add_parser("lab", help="hands-on labs: fix a device or the tenant, graded on what the tenant captured")
    lsub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND", required=True)

    p = lsub.add_parser("list", help="list the labs and your results")
    _common(p)
    p.set_defaults(handler=cmd_list)

    p = lsub.add_parser("start", help="write the device's starting config to a file and show the task")
    p.add_argument("lab", help="lab id")
    p.add_argument("--output", type=Path, help="where to write the config (default: in RELAYLAB_HOME)")
    p.add_argument("--byo", action="store_true",
                   help="also run the lab's tenant in the foreground for your own client (swaks, curl, a script)")
    p.add_argument("--port-base", type=int, default=10000, help="with --byo: listen on N + real port (0: free ports)")
    _common(p)
    p.set_defaults(handler=cmd_start)

    p = lsub.add_parser("check", help="run the device with your config against a fresh tenant and grade it")
    p.add_argument("lab", help="lab id")
    p.add_argument("--config", type=Path, help="the device config (default: the file 'lab start' wrote)")
    p.add_argument("--admin", action="append", default=[], metavar="CMDLET",
                   help="an admin cmdlet to run against the tenant first (repeatable)")
    p.add_argument("--watch", action="store_true", help="check again on every save of the config file")
    _common(p)
    p.set_defaults(handler=cmd_check)

    p = lsub.add_parser("grade", help="grade what your own client sent to the tenant of 'lab start --byo'")
    p.add_argument("lab", help="lab id")
    _common(p)
    p.set_defaults(handler=cmd_grade)

    p = lsub.add_parser("hint", help="show the next hint (hints used are recorded)")
    p.add_argument("lab", help="lab id")
    _common(p)
    p.set_defaults(handler=cmd_hint)


def _common(p: argparse.ArgumentParser) -> None:
    add_course_option(p)
    p.add_argument("--learner", help="learner profile (default: $RELAYLAB_LEARNER, or the last one used)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _tree(args: argparse.Namespace) -> CourseTree:
    from engine.coursecache import load_course_cached

    return load_course_cached(course_root(args.course))


def _learner(store: Store, name: str | None) -> str:
    name = name or os.environ.get("RELAYLAB_LEARNER")
    if name:
        return store.get_or_create_learner(name).id
    known = store.learners()
    return known[0].id if known else store.create_learner("trainee").id


def _lab_home(lab_id: str) -> Path:
    return data_home() / "labs" / lab_id


def _config_file(args: argparse.Namespace) -> Path:
    return args.config if getattr(args, "config", None) else _lab_home(args.lab) / "device.yaml"


# -- list / hint ---------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from engine.store import Store
    
    tree = _tree(args)
    with Store(store_path()) as store:
        learner = _learner(store, args.learner)
        rows: list[dict[str, Any]] = []
        for lab_id in [*tree.lab_order(), *sorted(set(tree.labs) - set(tree.lab_order()))]:
            lab = tree.labs[lab_id]
            attempts = store.lab_attempts(learner, lab_id)
            best = max((a.score / a.max_score * 100 for a in attempts if a.max_score), default=None)
            rows.append({"id": lab_id, "level": lab.level, "title": lab.title, "minutes": lab.minutes,
                         "attempts": len(attempts), "passed": any(a.passed for a in attempts),
                         "best_percent": round(best, 1) if best is not None else None})
    if args.json:
        emit_json(rows)
        return 0
    from rich.table import Table

    table = Table(title=f"Labs ({len(rows)})", title_justify="left")
    for col in ("id", "level", "title", "result"):
        table.add_column(col, overflow="fold")
    for r in rows:
        result = "✓ passed" if r["passed"] else (f"✗ best {r['best_percent']:.0f}%" if r["attempts"] else "not tried")
        table.add_row(str(r["id"]), str(r["level"]), str(r["title"]), result)
    stdout_console().print(table)
    return 0


def cmd_hint(args: argparse.Namespace) -> int:
    from engine.labrun import LabRunner
    from engine.store import Store
    
    tree = _tree(args)
    if args.lab not in tree.labs:
        LabRunner(tree, args.lab)  # raises the usage error with a suggestion
    lab = tree.labs[args.lab]
    with Store(store_path()) as store:
        learner = _learner(store, args.learner)
        shown = store.hints_shown(learner, lab.id)
        if shown >= len(lab.hints):
            hint = None
        else:
            shown = store.record_hint(learner, lab.id)
            hint = lab.hints[shown - 1]
    if args.json:
        emit_json({"hint": shown if hint else None, "of": len(lab.hints), "text": hint})
        return 0
    if hint is None:
        print(f"No more hints: all {len(lab.hints)} have been shown. The rubric messages of 'relaylab lab check' "
              "say what is still wrong.")
    else:
        print(f"Hint {shown} of {len(lab.hints)}:\n")
        stdout_console().print(_markdown(hint, tree, lab.id))
    return 0


def _markdown(text: str, tree: CourseTree, lab_id: str | None = None) -> Any:
    """Render lab text with the names of the lab's own tenant (its overrides included)."""
    from rich.markdown import Markdown

    from engine.render import render_markdown

    scenario = tree.labs[lab_id].scenario(tree) if lab_id else None
    return Markdown(render_markdown(text, tree.template_vars(scenario)))


# -- start -------------------------------------------------------------------------------------------


def cmd_start(args: argparse.Namespace) -> int:
    from engine.labrun import LabRunner
    
    tree = _tree(args)
    runner = LabRunner(tree, args.lab, port_base=args.port_base, state_dir=_lab_home(args.lab) / "tenant")
    lab = runner.lab
    target = args.output or _lab_home(lab.id) / "device.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Device config for lab '{lab.id}': {lab.title}\n# Device: {lab.device} ({runner.profile.name}).\n"
              f"# Edit it, then run: relaylab lab check {lab.id}" + (f" --config {target}" if args.output else ""))
    target.write_text(LabRunner.config_yaml(runner.starting_config(), header))
    if args.json and not args.byo:
        emit_json({"lab": lab.id, "config": str(target), "task": lab.task, "situation": lab.situation})
        return 0
    if not args.json:
        console = stdout_console()
        console.rule(f"[bold]{lab.title}[/] ({lab.level}, about {lab.minutes} min)")
        console.print(_markdown(lab.situation, tree, lab.id))
        console.print(_markdown("**Your task.** " + lab.task, tree, lab.id))
        for task in lab.admin_tasks:
            console.print(_markdown("- " + task, tree, lab.id))
        console.print(f"\nThe device's starting config is in [bold]{target}[/]. Edit it and run "
                      f"[bold]relaylab lab check {lab.id}[/]. Stuck? [bold]relaylab lab hint {lab.id}[/]")
    if args.byo:
        return _run_byo(runner, args)
    return 0


def _run_byo(runner: LabRunner, args: argparse.Namespace) -> int:
    from engine.commands.tenant import _print_ready, run_event_loop, serve_until_stopped

    def announce(info: dict[str, Any]) -> None:
        if args.json:
            sys.stdout.write(json.dumps({"lab": runner.lab.id, **info}, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        else:
            _print_ready(info, runner.tenant.state)
            print(f"\nSend with your own client, then grade: relaylab lab grade {runner.lab.id}")

    async def main() -> None:
        await runner.start()
        try:
            await serve_until_stopped(runner.tenant, announce)
        finally:
            await runner.stop()

    run_event_loop(main())
    return 0


# -- check and grade -------------------------------------------------------------------------------------


def _print_outcome(outcome: Outcome, lab_title: str, json_out: bool) -> None:
    if json_out:
        emit_json(outcome.to_json())
        return
    from rich.table import Table

    console = stdout_console()
    result = outcome.result
    if outcome.admin_output:
        console.print("\n".join(outcome.admin_output), markup=False)
    if outcome.device is not None:
        status = "sent" if outcome.device.ok else f"failed: {outcome.device.error}"
        console.print(f"[bold]Device:[/] {status}", markup=True)
    if not result.gradable:
        console.print(f"[bold yellow]Not gradable:[/] {result.reason}")
        return
    table = Table(title=f"{lab_title}: {result.score:g}/{result.max_score:g} "
                        f"({result.percent:.0f}%) — {'PASSED' if result.passed else 'NOT PASSED'}",
                  title_justify="left", show_lines=False)
    table.add_column("", width=2)
    table.add_column("check", overflow="fold")
    table.add_column("points", justify="right")
    table.add_column("feedback", overflow="fold")
    for c in result.checks:
        glyph = {"pass": "✓", "fail": "✗", "skipped": "–"}[c.status]
        word = {"pass": "PASS", "fail": "FAIL", "skipped": "SKIPPED"}[c.status]
        feedback = c.message + (f"\n[dim]seen: {c.observed}[/]" if c.observed and not c.passed else "")
        if c.lesson and not c.passed:
            feedback += f"\n[dim]reread: {c.lesson}[/]"
        table.add_row(glyph, f"{word} {c.title}", f"{c.points:g}/{c.max_points:g}", feedback)
    console.print(table)


def _check_once(args: argparse.Namespace, tree: CourseTree, config_text: str, config_name: str) -> Result:
    from engine.labrun import LabRunner
    from engine.store import Store
    
    config = LabRunner.parse_config(config_text, config_name)
    from engine.commands.tenant import run_event_loop

    with Store(store_path()) as store:
        learner = _learner(store, args.learner)

        async def main() -> Outcome:
            async with LabRunner(tree, args.lab, store=store, learner_id=learner) as runner:
                return await runner.check(config, args.admin)

        outcome: Outcome = run_event_loop(main())
    _print_outcome(outcome, tree.labs[args.lab].title, args.json)
    return outcome.result


def cmd_check(args: argparse.Namespace) -> int:
    from engine.labrun import LabRunner
    
    tree = _tree(args)
    if args.lab not in tree.labs:
        LabRunner(tree, args.lab)
    path = _config_file(args)
    if not path.is_file():
        if args.config:
            raise UsageError(f"{path}: no such file")
        raise UsageError(f"no config for lab {args.lab!r} yet: run 'relaylab lab start {args.lab}' first, or pass --config FILE")
    if not args.watch:
        result = _check_once(args, tree, path.read_text(), str(path))
        return 0 if result.passed else 1
    print(f"watching {path}; press Ctrl+C to stop", file=sys.stderr)
    last = None
    try:
        while True:
            stamp = path.stat().st_mtime_ns if path.exists() else None
            if stamp != last:
                last = stamp
                try:
                    _check_once(args, tree, path.read_text(), str(path))
                except LabError as exc:
                    print(f"relaylab: error: {exc.message}", file=sys.stderr)
                print(f"\nwaiting for changes to {path} ...", file=sys.stderr)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from engine.labrun import LabRunner, Outcome
    from engine.store import Store
    from grading import Result
    from labs.tenant.capture import CaptureReader
    
    tree = _tree(args)
    if args.lab not in tree.labs:
        LabRunner(tree, args.lab)
    lab = tree.labs[args.lab]
    state_dir = _lab_home(lab.id) / "tenant"
    info_file = state_dir / "tenant.json"
    if not info_file.is_file():
        raise LabError(f"no tenant has run for lab {lab.id!r}: start one with 'relaylab lab start {lab.id} --byo'")
    info = json.loads(info_file.read_text())
    reader = CaptureReader(state_dir / "capture.sqlite3")
    run_id = info["run_id"]
    try:
        records = reader.sessions(run_id)
        trace = reader.trace(run_id)
        audit = reader.audit(run_id)
    except (FileNotFoundError, ValueError) as exc:
        result = Result.not_gradable(f"the capture could not be read: {exc}")
        _print_outcome(Outcome(result), lab.title, args.json)
        return 1
    state = info.get("state") or lab.scenario(tree).model_dump(mode="json")
    from grading import grade

    result = grade(records, state, lab.rubric, trace=trace, audit=audit, run_id=run_id)
    with Store(store_path()) as store:
        learner = _learner(store, args.learner)
        from engine.store import LabAttempt, utcnow

        store.save_lab_attempt(LabAttempt(os.urandom(16).hex(), learner, lab.id, utcnow(), utcnow(), result.score,
                                          result.max_score, result.passed, result.gradable, result.to_json(),
                                          [r.id for r in records], store.hints_shown(learner, lab.id), {"client": "byo"}))
    _print_outcome(Outcome(result, records=records), lab.title, args.json)
    return 0 if result.passed else 1
