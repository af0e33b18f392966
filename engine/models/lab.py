"""Provides the lab model (``content/labs/<id>/lab.yaml``).

A lab puts a trainee in front of a device whose mail does not flow. It names the tenant scenario
(plus overrides), the device and its starting (broken) config, the task, progressive hints, the
rubric that grades what the tenant captured, and a reference solution the app never shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError

from engine.models._base import ContentModel, Id, Level, NonEmptyStr
from grading.rubric import Rubric
from labs.devices.config import DeviceConfig
from labs.tenant.overrides import merge_overrides
from labs.tenant.scenario import TenantScenario

if TYPE_CHECKING:
    from engine.loader import CourseTree

__all__ = ["Lab", "LabSolution", "LabTenant", "WrongFix", "patch_config"]

Report = Callable[[tuple[str | int, ...], str], None]


def patch_config(base: DeviceConfig, patch: dict[str, Any]) -> DeviceConfig:
    """Return ``base`` with the keys of ``patch`` replaced (``oauth`` merges key by key).

    Raises:
        ValidationError: when the result is not a valid config.
    """
    data = base.model_dump(mode="json", exclude_none=False)
    for key, value in patch.items():
        if key == "oauth" and isinstance(value, dict) and isinstance(data.get("oauth"), dict):
            data["oauth"] = {**data["oauth"], **value}
        else:
            data[key] = value
    return DeviceConfig.model_validate(data)


class LabTenant(ContentModel):
    """The tenant the lab runs against."""

    scenario: Id
    """Base tenant scenario id."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Changes to the base scenario (merged by key; see labs.tenant.overrides)."""


class LabSolution(ContentModel):
    """The reference fix. Never shown in the app; ``relaylab validate`` proves it passes."""

    config: dict[str, Any] = Field(default_factory=dict)
    """Changes to the starting config."""
    admin: list[NonEmptyStr] = Field(default_factory=list)
    """Admin commands run against the tenant before the device runs."""
    explanation: str = ""
    """Why this is the right fix (shown to assessors and in the instructor's notes)."""


class WrongFix(ContentModel):
    """A plausible wrong fix that must earn partial credit at most, failing the named checks."""

    title: NonEmptyStr
    """What the trainee tried."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Changes to the starting config."""
    admin: list[NonEmptyStr] = Field(default_factory=list)
    """Admin commands run first."""
    failing: list[Id] = Field(min_length=1)
    """Check ids that must fail (or be skipped)."""


class Lab(ContentModel):
    """A hands-on lab."""

    format_version: Literal[1] = 1
    """Content format version."""
    id: Id
    """Lab id (its folder name)."""
    level: Level
    """Course level."""
    title: NonEmptyStr
    """Lab title."""
    summary: NonEmptyStr
    """One sentence for the lab list."""
    minutes: int = Field(default=15, ge=1, le=240)
    """Expected time."""
    tags: list[Id] = Field(default_factory=list)
    """Topics."""
    lessons: list[Id] = Field(default_factory=list)
    """Lessons the lab practises."""
    situation: NonEmptyStr
    """What is going on, in Markdown (``{{ tenant.* }}`` variables allowed)."""
    task: NonEmptyStr
    """What the trainee must achieve, in Markdown."""
    tenant: LabTenant
    """Tenant scenario and overrides."""
    device: Id
    """Device id in the scenario whose config the trainee fixes."""
    start_config: DeviceConfig
    """The device's starting (broken) config."""
    fix_on: Literal["device", "tenant", "both"] = "device"
    """Where the fix belongs: the device config, the tenant (admin commands) or both."""
    admin_tasks: list[NonEmptyStr] = Field(default_factory=list)
    """Tenant-side tasks, in Markdown, shown with the task."""
    hints: list[NonEmptyStr] = Field(min_length=1)
    """Progressive hints, most general first."""
    rubric: Rubric
    """How the attempt is graded."""
    solution: LabSolution
    """Reference solution."""
    wrong_fixes: list[WrongFix] = Field(default_factory=list)
    """Known-wrong fixes (at least two), checked by ``relaylab validate``."""

    def scenario_data(self, tree: CourseTree) -> dict[str, Any]:
        """Return the lab's scenario as data: the base scenario with the overrides merged."""
        base = tree.tenants[self.tenant.scenario].model_dump(mode="json")
        return merge_overrides(base, self.tenant.overrides)

    def scenario(self, tree: CourseTree) -> TenantScenario:
        """Return the lab's tenant scenario."""
        return TenantScenario.model_validate(self.scenario_data(tree))

    def cross_check(self, tree: CourseTree, report: Report) -> None:
        """Check references to other content and that every config and override is valid."""
        if self.tenant.scenario not in tree.tenants:
            report(("tenant", "scenario"), f"unknown tenant scenario {self.tenant.scenario!r}")
            return
        try:
            scenario = self.scenario(tree)
        except ValidationError as exc:
            for err in exc.errors(include_url=False)[:5]:
                where = ".".join(str(p) for p in err["loc"])
                report(("tenant", "overrides"), f"overrides make an invalid scenario at {where}: {err['msg']}")
            return
        if not any(d.id == self.device for d in scenario.devices):
            report(("device",), f"device {self.device!r} is not in scenario {scenario.id!r}")
        if scenario.site(self.start_config.site) is None:
            report(("start_config", "site"), f"unknown site {self.start_config.site!r} in scenario {scenario.id!r}")
        for i, lesson in enumerate(self.lessons):
            if lesson not in tree.lessons:
                report(("lessons", i), f"unknown lesson id {lesson!r}")
        for i, check in enumerate(self.rubric.checks):
            if check.lesson is not None and check.lesson not in tree.lessons:
                report(("rubric", "checks", i, "lesson"), f"unknown lesson id {check.lesson!r}")
        configs: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [(("solution", "config"), self.solution.config)]
        configs += [(("wrong_fixes", i, "config"), w.config) for i, w in enumerate(self.wrong_fixes)]
        for path, patch in configs:
            try:
                patched = patch_config(self.start_config, patch)
            except ValidationError as exc:
                for err in exc.errors(include_url=False)[:5]:
                    key = err["loc"][0] if err["loc"] else None
                    report(path + ((key,) if key in patch else ()), f"config {'.'.join(map(str, err['loc']))}: {err['msg']}")
                continue
            if scenario.site(patched.site) is None:
                report(path, f"unknown site {patched.site!r}")
        ids = {c.id for c in self.rubric.checks}
        for i, wrong in enumerate(self.wrong_fixes):
            for j, cid in enumerate(wrong.failing):
                if cid not in ids:
                    report(("wrong_fixes", i, "failing", j), f"unknown check id {cid!r}")
        if len(self.wrong_fixes) < 2:
            report(("wrong_fixes",), "a lab needs at least two known-wrong fixes")
