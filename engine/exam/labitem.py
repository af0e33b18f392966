"""Provides lab items of an exam: the public and sealed parts a bundle carries, the candidate's
randomised lab (run against a local tenant exactly as in training), what one run captured, and
the assessor's grading of that capture.

The candidate's machine never has the rubric: it runs the lab with a placeholder rubric, keeps
what the tenant captured (session records, message trace, admin audit, the tenant's state) and
shows no score. The assessor rebuilds the same randomised lab with the real rubric and grades the
capture with :func:`grading.grade`, which is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin, get_type_hints

from engine.errors import ExamError, LabError
from engine.exam.randomise import TenantMapping, tenant_mapping
from grading import Result, Rubric, grade
from labs.records import AuditEntry, SessionRecord, TraceEntry, record_to_json

if TYPE_CHECKING:
    # Building and running a lab needs the course models; grading a capture (what a report does
    # for every result) does not, so they are imported where they are used.
    from engine.loader import CourseTree
    from engine.models.lab import Lab
    from labs.devices.config import DeviceConfig

__all__ = [
    "ExamLab",
    "LabCapture",
    "build_exam_lab",
    "exam_rubric",
    "grade_capture",
    "public_lab",
    "run_capture",
    "sealed_lab",
]

_PLACEHOLDER_RUBRIC = {"checks": [{"id": "captured", "check": "messages", "min": 0, "title": "captured",
                                   "fail": "-", "points": 1}]}


def _render(text: str, variables: Mapping[str, Any]) -> str:
    from engine.render import RenderError, render_markdown

    try:
        return render_markdown(text, variables)
    except RenderError:
        return text


def public_lab(tree: CourseTree, lab_id: str) -> dict[str, Any]:
    """The part of a lab a candidate's bundle carries: texts (rendered), scenario and starting config.

    Hints, the rubric, the reference solution and the known-wrong fixes are left out.
    """
    lab = tree.labs[lab_id]
    scenario = lab.scenario(tree)
    variables = tree.template_vars(scenario)
    return {
        "id": lab.id, "title": lab.title, "level": lab.level, "tags": list(lab.tags), "minutes": lab.minutes,
        "summary": lab.summary, "situation": _render(lab.situation, variables), "task": _render(lab.task, variables),
        "admin_tasks": [_render(t, variables) for t in lab.admin_tasks], "fix_on": lab.fix_on,
        "device": lab.device, "scenario": scenario.model_dump(mode="json"),
        "start_config": lab.start_config.model_dump(mode="json"),
    }


def sealed_lab(tree: CourseTree, lab_id: str) -> dict[str, Any]:
    """The part of a lab only the assessor may read: rubric and reference solution."""
    lab = tree.labs[lab_id]
    return {"rubric": lab.rubric.model_dump(mode="json", by_alias=True, exclude_none=True),
            "solution": lab.solution.model_dump(mode="json")}


@dataclass(frozen=True)
class ExamLab:
    """One candidate's randomised lab, ready for :class:`engine.labrun.LabRunner`."""

    tree: CourseTree
    lab: Lab
    mapping: TenantMapping
    situation: str
    task: str
    admin_tasks: tuple[str, ...]

    @property
    def solution_config(self) -> DeviceConfig:
        """The randomised reference solution's config (meaningful on the assessor's side only)."""
        from engine.models.lab import patch_config

        return patch_config(self.lab.start_config, self.lab.solution.config)


def build_exam_lab(public: Mapping[str, Any], seed: str, sealed: Mapping[str, Any] | None = None) -> ExamLab:
    """Randomise a lab for one attempt.

    Args:
        public: the lab's public part (:func:`public_lab`).
        seed: the attempt's seed.
        sealed: the lab's sealed part (assessor's side); without it the lab has a placeholder rubric.

    Raises:
        ExamError: when the randomised lab does not validate (a bundle that was tampered with).
    """
    import tempfile

    from engine.loader import CourseTree
    from engine.models.course import Course
    from engine.models.lab import Lab, LabSolution
    from labs.devices.config import DeviceConfig
    from labs.tenant.scenario import TenantScenario

    texts = [public.get("situation", ""), public.get("task", ""), *public.get("admin_tasks", [])]
    mapping = tenant_mapping(seed, public["scenario"], public["start_config"], texts)
    try:
        scenario = TenantScenario.model_validate(mapping.data(public["scenario"]))
        start = DeviceConfig.model_validate(mapping.data(public["start_config"]))
        rubric = Rubric.model_validate(mapping.data(sealed["rubric"]) if sealed else _PLACEHOLDER_RUBRIC)
        solution = LabSolution.model_validate(mapping.data(sealed["solution"])) if sealed else LabSolution()
        course = Course.model_validate({
            "id": "exam", "title": "exam", "scenario": scenario.id,
            "levels": [{"id": public["level"], "title": "exam", "modules": [{"id": "exam", "title": "exam",
                                                                              "labs": [public["id"]]}]}]})
        lab = Lab.model_validate({
            "id": public["id"], "level": public["level"], "title": public["title"], "summary": public["summary"],
            "minutes": public.get("minutes", 15), "tags": public.get("tags", []),
            "situation": mapping.text(public["situation"]), "task": mapping.text(public["task"]),
            "admin_tasks": [mapping.text(t) for t in public.get("admin_tasks", [])],
            "tenant": {"scenario": scenario.id}, "device": public["device"], "start_config": start,
            "fix_on": public.get("fix_on", "device"), "hints": ["(no hints in an exam)"], "rubric": rubric,
            "solution": solution,
        })
    except (KeyError, TypeError, ValueError) as exc:
        raise ExamError(f"lab {public.get('id')!r} of the bundle is not valid: {str(exc).splitlines()[0]}") from None
    tree = CourseTree(root=Path(tempfile.gettempdir()), course=course, tenants={scenario.id: scenario},
                      labs={lab.id: lab})
    return ExamLab(tree, lab, mapping, lab.situation, lab.task, tuple(lab.admin_tasks))


@dataclass
class LabCapture:
    """What one run of an exam lab captured (everything the assessor needs to grade it)."""

    lab: str
    config: dict[str, Any]
    """The device config with secrets redacted."""
    admin: list[str]
    device_ran: bool
    device_error: str | None
    run_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    admin_output: list[str] = field(default_factory=list)
    device_summary: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form (stored in the journal and the result)."""
        return {"lab": self.lab, "config": self.config, "admin": self.admin, "device_ran": self.device_ran,
                "device_error": self.device_error, "run_id": self.run_id, "records": self.records,
                "trace": self.trace, "audit": self.audit, "state": self.state, "admin_output": self.admin_output,
                "device_summary": self.device_summary}

    @classmethod
    def from_json(cls, data: Any) -> LabCapture:
        """Rebuild from :meth:`to_json`.

        Raises:
            ExamError: when the data has another shape.
        """
        if not isinstance(data, Mapping):
            raise ExamError("a lab capture is not a mapping")
        try:
            return cls(str(data["lab"]), dict(data["config"]), [str(a) for a in data["admin"]], bool(data["device_ran"]),
                       data.get("device_error"), str(data["run_id"]), list(data.get("records", [])),
                       list(data.get("trace", [])), list(data.get("audit", [])), dict(data.get("state", {})),
                       [str(x) for x in data.get("admin_output", [])], str(data.get("device_summary", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ExamError(f"a lab capture is damaged: {exc}") from None


async def run_capture(runner: Any, config: DeviceConfig, admin: Sequence[str]) -> LabCapture:
    """Run admin commands and the device on an exam lab's tenant and keep what it captured.

    Args:
        runner: a started :class:`engine.labrun.LabRunner` of the randomised lab.
        config: the candidate's device config.
        admin: admin cmdlets to run first.

    Raises:
        LabError: when an admin command fails (nothing is captured; the tenant keeps earlier changes).
    """
    import asyncio

    from engine.labrun import redact_config

    outcome = await runner.check(config, admin)
    tenant = runner.tenant
    reader = tenant.reader()
    ids = {r.id for r in outcome.records}
    trace = [t for t in await asyncio.to_thread(reader.trace, tenant.run_id) if t.session_id in ids]
    audit = await asyncio.to_thread(reader.audit, tenant.run_id)
    device = outcome.device
    summary = ("sent" if device.ok else f"failed: {device.error}") if device is not None else \
        f"refused the config: {outcome.device_error}"
    return LabCapture(runner.lab.id, redact_config(config), list(admin), device is not None, outcome.device_error,
                      tenant.run_id, [record_to_json(r) for r in outcome.records],
                      [record_to_json(t) for t in trace], [record_to_json(a) for a in audit],
                      tenant.state_snapshot(), list(outcome.admin_output), summary)


def exam_rubric(public: Mapping[str, Any], seed: str, sealed: Mapping[str, Any]) -> Rubric:
    """The lab's real rubric, randomised for one attempt (what the assessor grades a capture with).

    Raises:
        ExamError: when the sealed rubric does not validate.
    """
    texts = [public.get("situation", ""), public.get("task", ""), *public.get("admin_tasks", [])]
    mapping = tenant_mapping(seed, public["scenario"], public["start_config"], texts)
    try:
        return Rubric.model_validate(mapping.data(sealed["rubric"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ExamError(f"the rubric of lab {public.get('id')!r} is not valid: {str(exc).splitlines()[0]}") from None


_Decoder = Callable[[Any], Any]
_DECODERS: dict[Any, _Decoder] = {}


def _decoder(tp: Any) -> _Decoder:
    """A decoder for one record type, built once: what :func:`labs.records.record_from_json` does, without
    looking at the type hints again for every value (a report decodes thousands of records)."""
    found = _DECODERS.get(tp)
    if found is not None:
        return found
    origin = get_origin(tp)
    decode: _Decoder
    if isinstance(tp, type) and is_dataclass(tp):
        hints = get_type_hints(tp)
        names = [f.name for f in fields(tp)]
        _DECODERS[tp] = lambda v: decode(v)  # recursive types resolve through the table
        parts = {name: _decoder(hints[name]) for name in names}
        kept = [k for k in names if parts[k] is _keep]  # values taken as they are
        built = [(k, parts[k]) for k in names if parts[k] is not _keep]
        cls = tp

        def decode(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise ValueError(f"{cls.__name__}: expected a mapping")
            try:
                kwargs = {k: value[k] for k in kept if k in value}
                for k, part in built:
                    if k in value:
                        kwargs[k] = part(value[k])
                return cls(**kwargs)
            except (TypeError, KeyError, AttributeError) as exc:
                raise ValueError(f"{cls.__name__}: {exc}") from None
    elif origin is tuple:
        inner = _decoder(get_args(tp)[0])

        def decode(value: Any) -> Any:
            return None if value is None else tuple(inner(v) for v in value)
    elif origin is not None and type(None) in get_args(tp):
        decode = _decoder([a for a in get_args(tp) if a is not type(None)][0])
    elif origin is Mapping or origin is dict:
        def decode(value: Any) -> Any:
            return None if value is None else dict(value)
    else:
        decode = _keep
    _DECODERS[tp] = decode
    return decode


def _keep(value: Any) -> Any:
    return value


def grade_capture(rubric: Rubric, capture: LabCapture) -> Result:
    """Grade a capture against the (randomised) real rubric; pure apart from parsing.

    A damaged capture is not gradable rather than wrong.
    """
    max_score = float(sum(c.points for c in rubric.checks))
    if capture.device_error is not None:
        return Result.not_gradable(f"the device refused the config: {capture.device_error}", max_score)
    try:
        records = [_decoder(SessionRecord)(r) for r in capture.records]
        trace = [_decoder(TraceEntry)(t) for t in capture.trace]
        audit = [_decoder(AuditEntry)(a) for a in capture.audit]
    except (ValueError, TypeError):
        return Result.not_gradable("the captured sessions are damaged", max_score)
    return grade(records, capture.state, rubric, trace=trace, audit=audit, run_id=capture.run_id,
                 attempted=capture.device_ran)


def start_runner(exam_lab: ExamLab, state_dir: Path, *, device_timeout: float = 3.0) -> Any:
    """A :class:`engine.labrun.LabRunner` for the randomised lab (not started)."""
    from engine.labrun import LabRunner

    return LabRunner(exam_lab.tree, exam_lab.lab.id, state_dir=state_dir, device_timeout=device_timeout)


def capture_error(exc: LabError) -> str:
    """The one-line message of a failed lab run."""
    return exc.message.splitlines()[0]
