"""Provides the lab runner: start a lab's tenant, run the trainee's device config (or wait for their
own client), grade what the tenant captured, and store the attempt.

One :class:`LabRunner` owns one tenant for as long as a lab is open (the CLI opens one per check;
the app keeps one while the lab screen is shown). Each attempt grades only the sessions that
arrived since it started, so attempts do not see each other's mail, and two labs never share a
tenant.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import LabError, UsageError
from engine.loader import CourseTree
from engine.models.lab import Lab, patch_config
from engine.paths import data_home
from engine.problems import Problems, did_you_mean
from engine.store import LabAttempt, Store, utcnow
from engine.tenants import pki_dir
from engine.validation import validate_doc
from engine.yamlsrc import parse_yaml
from grading import Result, grade
from labs.devices.config import DeviceConfig
from labs.devices.profiles import PROFILES, DeviceError, Profile
from labs.devices.runner import DeviceRun, run_device
from labs.records import SessionRecord
from labs.tenant.clock import Clock
from labs.tenant.scenario import TenantScenario
from labs.tenant.server import Tenant, TenantStartError

__all__ = ["AdminCommandError", "LabRunner", "Outcome", "redact_config"]

SECRET_FIELDS = ("password", "client_secret")


class AdminCommandError(LabError):
    """An admin command of an attempt failed (its PowerShell-style error is the message)."""


@dataclass
class Outcome:
    """One graded attempt."""

    result: Result
    device: DeviceRun | None = None
    device_error: str | None = None
    """The device refused the config (what its settings page says)."""
    admin_output: list[str] = field(default_factory=list)
    records: list[SessionRecord] = field(default_factory=list)
    attempt_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"attempt": self.attempt_id, "result": self.result.to_json(),
                "device": self.device.to_json() if self.device else None, "device_error": self.device_error,
                "admin": self.admin_output, "sessions": [r.id for r in self.records]}


def redact_config(config: DeviceConfig) -> dict[str, Any]:
    """The config as data with secrets replaced, for storing and showing."""
    data = config.model_dump(mode="json")
    for key in SECRET_FIELDS:
        if data.get(key):
            data[key] = "<redacted>"
    if isinstance(data.get("oauth"), dict) and data["oauth"].get("client_secret"):
        data["oauth"]["client_secret"] = "<redacted>"
    return data


class LabRunner:
    """A lab with its running tenant."""

    def __init__(self, tree: CourseTree, lab_id: str, *, store: Store | None = None, learner_id: str | None = None,
                 port_base: int = 0, device_timeout: float = 3.0, state_dir: Path | None = None,
                 clock: Clock | None = None) -> None:
        if lab_id not in tree.labs:
            raise UsageError(f"no lab {lab_id!r}.{did_you_mean(lab_id, list(tree.labs))} See 'relaylab lab list'.")
        self.tree = tree
        self.lab: Lab = tree.labs[lab_id]
        self.store = store
        self.learner_id = learner_id
        self.port_base = port_base
        self.device_timeout = device_timeout
        self.scenario: TenantScenario = self.lab.scenario(tree)
        run = uuid.uuid4().hex[:12]
        self.state_dir = state_dir or data_home() / "labs" / lab_id / f"run-{run}"
        self.tenant = Tenant(self.scenario, state_dir=self.state_dir, pki_dir=pki_dir(), port_base=port_base,
                             clock=clock, run_id=run)
        self._graded: set[str] = set()
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the lab's tenant on the running event loop."""
        try:
            await self.tenant.start()
        except TenantStartError as exc:
            raise LabError(str(exc)) from None
        self._started = True

    async def stop(self) -> None:
        """Stop the tenant (capture and mail are kept)."""
        if self._started:
            await self.tenant.stop()
            self._started = False

    async def __aenter__(self) -> LabRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- configs --------------------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        """What the lab's device can do."""
        device = next(d for d in self.scenario.devices if d.id == self.lab.device)
        return PROFILES[device.profile]

    def starting_config(self) -> DeviceConfig:
        """The device's starting (broken) config."""
        return self.lab.start_config

    def solution_config(self) -> DeviceConfig:
        """The reference solution's config (never shown to trainees; used by the author checker)."""
        return patch_config(self.lab.start_config, self.lab.solution.config)

    @staticmethod
    def parse_config(text: str, shown_as: str = "device config") -> DeviceConfig:
        """Parse a device config from YAML.

        Raises:
            LabError: with every problem as FILE:LINE:COL: message.
        """
        problems = Problems()
        doc = parse_yaml(text, shown_as, problems)
        config = None
        if doc is not None:
            if not isinstance(doc.data, dict):
                problems.add(shown_as, "expected a mapping of settings (host, port, security, ...)", 1, 1, text)
            else:
                config = validate_doc(DeviceConfig, doc, problems)
        if config is None or problems:
            items = problems.sorted()
            raise LabError("\n".join(str(p) for p in items) if items else f"{shown_as}: invalid config")
        return config

    @staticmethod
    def config_yaml(config: DeviceConfig, header: str = "") -> str:
        """A config as the YAML file a trainee edits."""
        import yaml

        data = config.model_dump(mode="json", exclude_defaults=False)
        data = {k: v for k, v in data.items() if v is not None}
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return (header + "\n" if header else "") + text

    # -- attempts -------------------------------------------------------------------------------

    def run_admin(self, commands: Sequence[str]) -> list[str]:
        """Run admin cmdlets against the tenant, in order (stops at the first failure).

        Raises:
            AdminCommandError: with the cmdlet's one-line error.
        """
        if not commands:
            return []
        shell = self.shell()
        out = []
        for line in commands:
            result = shell.execute(line)
            out.append(f"PS> {line}")
            if result.output:
                out.append(result.output.rstrip())
            if not result.ok:
                raise AdminCommandError(result.error or f"{line}: failed")
        return out

    def shell(self) -> Any:
        """The admin cmdlet shell of this lab's tenant."""
        make = getattr(self.tenant, "shell", None)
        if make is None:
            raise LabError("the admin shell is not available in this build")
        return make()

    async def check(self, config: DeviceConfig, admin: Sequence[str] = (), *, hints_used: int | None = None) -> Outcome:
        """Run the device with ``config`` (after ``admin`` commands), grade, and store the attempt."""
        started = utcnow()
        admin_output = self.run_admin(admin)
        device: DeviceRun | None = None
        device_error = None
        try:
            device = await run_device(config, endpoints=self.tenant.endpoints, scenario=self.tenant.state,
                                      pki=self.tenant.pki, profile=self.profile.id, device_id=self.lab.device,
                                      timeout=self.device_timeout)
        except DeviceError as exc:
            device_error = str(exc)
        outcome = await self._grade(started, config, device, device_error, hints_used)
        outcome.admin_output = admin_output
        return outcome

    async def grade_sessions(self, *, hints_used: int | None = None) -> Outcome:
        """Grade what the trainee's own clients sent since the last grading."""
        return await self._grade(utcnow(), None, None, None, hints_used)

    async def _grade(self, started: str, config: DeviceConfig | None, device: DeviceRun | None,
                     device_error: str | None, hints_used: int | None) -> Outcome:
        await self.tenant.settle()
        records = await asyncio.to_thread(self.tenant.records)
        fresh = [r for r in records if r.id not in self._graded]
        reader = self.tenant.reader()
        session_ids = {r.id for r in fresh}
        trace = [t for t in reader.trace(self.tenant.run_id) if t.session_id in session_ids]
        audit = reader.audit(self.tenant.run_id)
        state = self.tenant.state_snapshot()
        if device_error is not None:
            result = Result.not_gradable(f"the device refused the config: {device_error}",
                                         float(sum(c.points for c in self.lab.rubric.checks)))
        else:
            result = grade(fresh, state, self.lab.rubric, trace=trace, audit=audit, run_id=self.tenant.run_id,
                           attempted=device is not None)
        self._graded |= session_ids
        outcome = Outcome(result, device, device_error, records=fresh)
        outcome.attempt_id = uuid.uuid4().hex
        if self.store is not None and self.learner_id is not None:
            hints = hints_used if hints_used is not None else self.store.hints_shown(self.learner_id, self.lab.id)
            attempt = LabAttempt(outcome.attempt_id, self.learner_id, self.lab.id, started, utcnow(), result.score,
                                 result.max_score, result.passed, result.gradable, result.to_json(),
                                 [r.id for r in fresh], hints, redact_config(config) if config else {})
            await asyncio.to_thread(self.store.save_lab_attempt, attempt)
        return outcome

    def next_hint(self) -> tuple[int, str] | None:
        """Show the next hint (recorded when a learner is known); None when all were shown."""
        shown = self.store.hints_shown(self.learner_id, self.lab.id) if (self.store and self.learner_id) else 0
        if shown >= len(self.lab.hints):
            return None
        if self.store is not None and self.learner_id is not None:
            shown = self.store.record_hint(self.learner_id, self.lab.id)
        else:
            shown += 1
        return shown, self.lab.hints[shown - 1]


def validate_config_patch(start: DeviceConfig, patch: dict[str, Any]) -> DeviceConfig:
    """Apply a patch to a config; raise LabError on an invalid result."""
    try:
        return patch_config(start, patch)
    except ValidationError as exc:
        raise LabError(f"invalid config: {exc.errors()[0]['msg']}") from None
