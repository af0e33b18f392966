"""Provides ``grade``: a pure, deterministic scoring of captured sessions against a rubric."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grading.checks import CHECKS, Facts
from grading.result import CheckResult, Result
from grading.rubric import Rubric
from labs.records import AuditEntry, SessionRecord, TraceEntry

__all__ = ["grade"]


def grade(records: Sequence[Any], tenant_state: Mapping[str, Any], rubric: Rubric, *,
          trace: Sequence[TraceEntry] = (), audit: Sequence[AuditEntry] = (), run_id: str | None = None,
          attempted: bool = False) -> Result:
    """Score an attempt.

    Args:
        records: the session records the tenant captured.
        tenant_state: the tenant's state after the attempt, as plain data (a scenario's JSON form).
        rubric: the checks.
        trace: message-trace entries of the attempt.
        audit: admin commands run during the attempt.
        run_id: when given, only records of this run count (another lab's sessions are ignored).
        attempted: a device ran for this attempt; reaching nothing is then a wrong attempt (graded, every
            session check failing), not an attempt with nothing to grade.

    Returns:
        The result; ``gradable`` is False (with a reason) when there is nothing to grade.
    """
    max_score = float(sum(c.points for c in rubric.checks))
    if any(not isinstance(r, SessionRecord) for r in records):
        return Result.not_gradable("a session record is corrupted or of an unknown version", max_score)
    mine = [r for r in records if run_id is None or r.run_id == run_id]
    tenant_id = tenant_state.get("id") if isinstance(tenant_state, Mapping) else None
    if tenant_id is not None:
        mine = [r for r in mine if r.tenant == tenant_id]
    admin_only = bool(audit) and all(c.check in ("tenant", "connector", "audit") for c in rubric.checks)
    if not mine and not admin_only and not attempted:
        if records:
            return Result.not_gradable("the captured sessions belong to another lab or tenant run", max_score)
        return Result.not_gradable("the tenant captured no SMTP session: did the device (or your client) connect "
                                   "to the lab's tenant?", max_score)
    facts = Facts.build(mine, tenant_state, [t for t in trace if run_id is None or t.run_id == run_id],
                        [a for a in audit if run_id is None or a.run_id == run_id])
    outcomes: dict[str, CheckResult] = {}
    for check in rubric.checks:
        blocked = [r for r in check.requires if not outcomes[r].passed]
        if blocked:
            outcomes[check.id] = CheckResult(check.id, check.title, 0.0, float(check.points), False, True,
                                             f"Skipped: needs '{outcomes[blocked[0]].title}' first.", "", check.lesson)
            continue
        passed, observed = CHECKS[check.check](check, facts)
        message = (check.pass_message or check.title) if passed else check.fail_message
        outcomes[check.id] = CheckResult(check.id, check.title, float(check.points) if passed else 0.0,
                                         float(check.points), passed, False, message, observed,
                                         None if passed else check.lesson)
    checks = tuple(outcomes[c.id] for c in rubric.checks)
    score = sum(c.points for c in checks)
    percent = 100.0 * score / max_score if max_score else 0.0
    return Result(True, score, max_score, percent >= rubric.pass_percent, checks, "", len(mine),
                  tuple(r.id for r in mine))
