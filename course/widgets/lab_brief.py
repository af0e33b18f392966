"""Provides the lab brief: the situation, the task, the device, hints so far, and how to point the
trainee's own client at the lab's tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.services import EndpointInfo, LabView

__all__ = ["brief_markdown", "client_markdown"]


def brief_markdown(view: LabView) -> str:
    """The situation, task and device as Markdown."""
    parts = [f"# {view.title}", "", f"`{view.level}` · about {view.minutes} min · fix on the {view.fix_on}", "",
             "## Situation", "", view.situation, "", "## Task", "", view.task, ""]
    if view.admin_tasks:
        parts += ["## Tenant tasks", ""] + [f"- {t}" for t in view.admin_tasks] + [""]
    parts += ["## Device", "", f"**{view.device}** — {view.device_kind}", ""]
    if view.lessons:
        parts += ["## Lessons", ""] + [f"- [{ref.title}](lesson:{ref.id})" for ref in view.lessons] + [""]
    if view.hints_shown:
        parts += ["## Hints", ""] + [f"{n}. {h}" for n, h in enumerate(view.hints_shown, start=1)] + [""]
    left = view.hints_total - len(view.hints_shown)
    parts.append(f"*{left} hint{'s' if left != 1 else ''} left (Ctrl+E).*" if left else "*No hints left.*")
    return "\n".join(parts)


def client_markdown(endpoints: Sequence[EndpointInfo], sources: Sequence[tuple[str, str, str]],
                    site: str, sender: str, recipient: str) -> str:
    """How to reach the lab's tenant with your own client while this screen is open."""
    if not endpoints:
        return "*The lab's tenant is starting…*"
    lines = ["## Your own client", "", "While this screen is open the tenant listens on loopback:", "",
             "| Endpoint | Stands for | Listens on |", "|---|---|---|"]
    lines += [f"| {e.name} | `{e.host}:{e.port}` | `{e.listen}` |" for e in endpoints]
    source = next((src for name, _ip, src in sources if name == site), None)
    mx = next((e for e in endpoints if e.name == "mx"), endpoints[0])
    lines += ["", f"Sites are told apart by source address (site `{site}` is `{source}`)." if source else ""]
    if source:
        lines += ["", "```", f"swaks --server {mx.listen} --local-interface {source} \\",
                  f"      --from {sender} --to {recipient} --tls", "```"]
    lines += ["", "Its sessions appear in the transcript; Ctrl+G grades them."]
    return "\n".join(lines)
