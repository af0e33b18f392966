"""Provides tenant scenarios by name or file, and where each tenant's state lives.

A running tenant writes ``tenant.json`` (its endpoints, CA and run id) into its state folder;
``relaylab tenant trace``, ``tenant mailbox``, ``tenant exec`` and ``token`` find it there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ContentError, TenantError, UsageError
from engine.paths import bundled_content, data_home
from engine.problems import Problems, did_you_mean

if TYPE_CHECKING:
    from labs.tenant.scenario import TenantScenario

__all__ = ["load_scenario", "pki_dir", "running_info", "state_dir_for"]


def load_scenario(name_or_file: str, course: Path | None = None) -> TenantScenario:
    """Load a tenant scenario: a path to a YAML file, or the name of one in the course.

    Raises:
        UsageError: when no such scenario exists.
        ContentError: when the file does not validate (every problem located).
    """
    from engine.validation import validate_doc
    from engine.yamlsrc import read_yaml_file
    from labs.tenant.scenario import TenantScenario

    path = Path(name_or_file)
    if not (path.suffix in (".yaml", ".yml") or "/" in name_or_file):
        folder = (course or bundled_content()) / "tenants"
        path = folder / f"{name_or_file}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in folder.glob("*.yaml"))
            raise UsageError(f"no tenant scenario {name_or_file!r}.{did_you_mean(name_or_file, known)} "
                             f"Known: {', '.join(known)}")
    elif not path.is_file():
        raise UsageError(f"{path}: no such file")
    problems = Problems()
    doc = read_yaml_file(path, str(path), problems)
    scenario = validate_doc(TenantScenario, doc, problems) if doc is not None else None
    if scenario is None or problems:
        items = problems.sorted()
        raise ContentError(str(items[0]) + (f" (and {len(items) - 1} more)" if len(items) > 1 else ""), items)
    return scenario


def state_dir_for(scenario_id: str) -> Path:
    """The state folder of ``relaylab tenant up`` for a scenario."""
    return data_home() / "tenants" / scenario_id


def pki_dir() -> Path:
    """The local PKI shared by every tenant of this user."""
    return data_home() / "pki"


def running_info(scenario_id: str | None = None, state_dir: Path | None = None) -> dict[str, Any]:
    """Return the ``tenant.json`` of a tenant (running, or the last one that ran).

    Raises:
        TenantError: when no tenant has run there.
    """
    if state_dir is None:
        if scenario_id is None:
            tenants = data_home() / "tenants"
            found = sorted(tenants.glob("*/tenant.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            if not found:
                raise TenantError("no tenant has run yet: start one with 'relaylab tenant up'")
            state_dir = found[0].parent
        else:
            state_dir = state_dir_for(scenario_id)
    info_file = state_dir / "tenant.json"
    if not info_file.is_file():
        raise TenantError(f"no tenant has run in {state_dir}: start one with 'relaylab tenant up'")
    try:
        info: dict[str, Any] = json.loads(info_file.read_text())
    except (OSError, ValueError) as exc:
        raise TenantError(f"{info_file} is unreadable: {exc}") from None
    info["state_dir"] = str(state_dir)
    return info
