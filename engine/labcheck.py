"""Provides the author's self-test of the lab catalogue (as ``rustlings dev check`` does for exercises).

For every lab, against a real tenant and the real grader:

* its starting config must fail;
* its reference solution (config and admin commands) must score 100 % and pass;
* each known-wrong fix must not pass, and the checks it names must fail (or be skipped).

Each attempt gets a fresh tenant, so admin commands of one attempt never leak into another.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.labrun import AdminCommandError, LabRunner, Outcome
from engine.loader import CourseTree
from engine.models.lab import patch_config
from engine.problems import Problems
from engine.yamlsrc import read_yaml_file
from labs.devices.config import DeviceConfig

__all__ = ["LabCheck", "check_labs", "lab_problems"]


@dataclass(frozen=True)
class LabCheck:
    """What one attempt of the self-test did."""

    lab: str
    what: str
    """start, solution or wrong-fix N."""
    path: tuple[str | int, ...]
    """Where in lab.yaml a problem points."""
    outcome: Outcome | None
    error: str | None


async def _attempt(tree: CourseTree, lab_id: str, config: DeviceConfig, admin: Sequence[str],
                   root: Path, timeout: float) -> tuple[Outcome | None, str | None]:
    runner = LabRunner(tree, lab_id, device_timeout=timeout, state_dir=Path(tempfile.mkdtemp(dir=root)))
    try:
        await runner.start()
        return await runner.check(config, admin), None
    except AdminCommandError as exc:
        return None, f"admin command failed: {exc.message}"
    finally:
        await runner.stop()


async def check_labs(tree: CourseTree, lab_ids: Sequence[str] | None = None, *, timeout: float = 0.5,
                     progress: Callable[[str], None] | None = None) -> list[LabCheck]:
    """Run the self-test of the given labs (all by default)."""
    out: list[LabCheck] = []
    with tempfile.TemporaryDirectory(prefix="relaylab-labcheck-") as tmp:
        root = Path(tmp)
        for lab_id in lab_ids or sorted(tree.labs):
            lab = tree.labs[lab_id]
            if progress:
                progress(lab_id)
            plan: list[tuple[str, tuple[str | int, ...], DeviceConfig, Sequence[str]]] = [
                ("start", ("start_config",), lab.start_config, ()),
                ("solution", ("solution",), patch_config(lab.start_config, lab.solution.config), lab.solution.admin),
            ]
            for i, wrong in enumerate(lab.wrong_fixes):
                plan.append((f"wrong fix {i + 1} ({wrong.title})", ("wrong_fixes", i),
                             patch_config(lab.start_config, wrong.config), wrong.admin))
            for what, path, config, admin in plan:
                outcome, error = await _attempt(tree, lab_id, config, admin, root, timeout)
                out.append(LabCheck(lab_id, what, path, outcome, error))
    return out


def lab_problems(tree: CourseTree, problems: Problems, lab_ids: Sequence[str] | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
    """Add a located problem for every lab whose solution, starting config or wrong fixes misbehave."""
    from engine.commands.tenant import run_event_loop

    results: list[LabCheck] = run_event_loop(check_labs(tree, lab_ids, progress=progress))
    for item in results:
        lab = tree.labs[item.lab]
        origin = tree.origins[("lab", item.lab)]

        def report(message: str, path: tuple[str | int, ...] = item.path, file: str = origin.file) -> None:
            doc = read_yaml_file(Path(file), file, Problems()) if Path(file).is_file() else None
            mark = doc.locate(path, prefer_key=True) if doc else None
            problems.add(file, message, mark.line if mark else None, mark.col if mark else None,
                         doc.text if doc else None)

        if item.error is not None:
            report(f"{item.what}: {item.error}")
            continue
        assert item.outcome is not None
        result = item.outcome.result
        failing = {c.id for c in result.checks if not c.passed}
        summary = ", ".join(f"{c.id} {c.status}" for c in result.checks) or result.reason
        if item.what == "start":
            if result.passed:
                report("the starting config already passes the rubric; the lab has nothing to fix")
        elif item.what == "solution":
            if not result.gradable or not result.passed or result.score < result.max_score:
                device = item.outcome.device_error or (item.outcome.device.error if item.outcome.device else None)
                report(f"the reference solution scores {result.score:g}/{result.max_score:g}"
                       f"{' (not gradable: ' + result.reason + ')' if not result.gradable else ''}"
                       f"{'; device: ' + device if device else ''}; checks: {summary}")
        else:
            index = int(item.path[1])
            wrong = lab.wrong_fixes[index]
            if result.passed:
                report(f"{item.what} passes the rubric; it must not")
            elif result.gradable and result.score <= 0 and not any(c.passed for c in result.checks):
                report(f"{item.what} scores no points at all; a known-wrong fix should earn partial credit")
            missing = [cid for cid in wrong.failing if cid not in failing]
            if missing and result.gradable:
                report(f"{item.what}: checks {', '.join(missing)} pass, but the lab says they fail ({summary})",
                       (*item.path, "failing"))
