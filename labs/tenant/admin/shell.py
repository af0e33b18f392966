"""Provides :class:`AdminShell`: the Exchange Online admin cmdlets, live against a running tenant.

A trainee types the cmdlets of the course (``Set-CASMailbox``, ``New-InboundConnector``,
``Get-MessageTraceV2`` ...) with their real names and parameters; the shell parses the line,
binds parameters as PowerShell does, runs the cmdlets against a working copy of the tenant's
state and, only when every command of the line succeeded, swaps the new state into the tenant
(:meth:`Tenant.apply`) and writes one audit entry per change. A failing line changes nothing
and leaves no audit row: all or nothing.

Sessions. ``Connect-ExchangeOnline`` and ``Connect-MgGraph`` are supported (they print what the
real modules print) but not required: in a lab the trainee is already the tenant's admin, and a
shell that refused every cmdlet until a sign-in ritual would teach nothing. The name given to
``Connect-ExchangeOnline -UserPrincipalName`` becomes the ``who`` of later audit entries.

The shell is synchronous and runs on the tenant's event-loop thread (the control channel and
the lab runner call it there), so a swap never races an SMTP command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from labs.records import AuditEntry
from labs.tenant.admin.binding import MISSING, CmdletSpec, RawElement, bind, did_you_mean, plain_parameters
from labs.tenant.admin.errors import PSError
from labs.tenant.admin.format import PSObject, default_output, plain
from labs.tenant.admin.parser import (
    ArrayLit,
    Command,
    HashLit,
    Num,
    Param,
    Pipeline,
    ScriptBlock,
    Str,
    SubExpr,
    Var,
    parse,
)
from labs.tenant.clock import iso
from labs.tenant.scenario import TenantScenario

if TYPE_CHECKING:
    from labs.tenant.server import Tenant

__all__ = ["ALIASES", "MAX_LINE", "AdminShell", "CommandResult", "Context", "Formatted", "Session", "commands"]

MAX_LINE = 32_767
"""Longest command line accepted (the Windows command-line limit)."""

ALIASES = {
    "select": "Select-Object", "where": "Where-Object", "?": "Where-Object", "fl": "Format-List",
    "ft": "Format-Table", "sort": "Sort-Object", "help": "Get-Help", "man": "Get-Help", "gcm": "Get-Command",
}
"""PowerShell's built-in aliases of the pipeline cmdlets."""

_SECRET_PARAM = re.compile(r"(password|secret|token|credential)", re.IGNORECASE)
_SECRET_TEXT = re.compile(r"(-\w*(?:password|secret|token|credential)\w*[:\s]+)(\"[^\"]*\"|'[^']*'|\S+)",
                          re.IGNORECASE)


@dataclass(frozen=True)
class CommandResult:
    """What one command line did.

    Args:
        ok: every command succeeded (and any change was applied).
        output: what PowerShell would print (formatted), ending in a newline when not empty.
        objects: the returned objects as plain data (for ``--json`` and tests).
        error: the one-line PowerShell-style error when ``ok`` is False.
    """

    ok: bool
    output: str
    objects: list[Any]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """The result as the control channel's JSON object."""
        return {"ok": self.ok, "output": self.output, "objects": self.objects, "error": self.error}


@dataclass
class Session:
    """What one shell remembers between command lines."""

    who: str
    """The admin named in audit entries."""
    exchange_connected: bool = False
    """Connect-ExchangeOnline has run."""
    graph_connected: bool = False
    """Connect-MgGraph has run."""


@dataclass(frozen=True)
class Formatted:
    """Text a Format-* cmdlet produced, with the objects it formatted."""

    text: str
    objects: tuple[Any, ...] = ()


@dataclass
class _Change:
    cmdlet: str
    parameters: dict[str, Any]
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    command: str


@dataclass
class Context:
    """What a cmdlet works with: the working state, the tenant, the session.

    Cmdlets never mutate: they build a new :class:`TenantScenario` and hand it to
    :meth:`commit`, which the shell applies only when the whole line succeeds.
    """

    tenant: Tenant
    state: TenantScenario
    session: Session
    commands: Mapping[str, CmdletSpec]
    pipeline_input: list[Any] = field(default_factory=list)
    """Objects reaching a cmdlet that processes the pipeline itself (Select-Object ...)."""
    host: list[str] = field(default_factory=list)
    """Lines written to the host (banners, warnings), printed before the objects."""
    changes: list[_Change] = field(default_factory=list)
    invocation: tuple[str, dict[str, Any], str] = ("", {}, "")

    def now(self) -> datetime:
        """The tenant's current time (UTC)."""
        return self.tenant.clock.now()

    def warn(self, text: str) -> None:
        """Print ``WARNING: text``."""
        self.host.append(f"WARNING: {text}")

    def say(self, text: str) -> None:
        """Print a line to the host."""
        self.host.append(text)

    def commit(self, new_state: TenantScenario, *, target: str, before: Mapping[str, Any] | None,
               after: Mapping[str, Any] | None) -> None:
        """Make ``new_state`` the working state and remember the change for the audit log.

        Args:
            new_state: the whole changed tenant state (validated).
            target: the changed object's identity.
            before: the object before (Exchange property names), None when created.
            after: the object after, None when removed.
        """
        cmdlet, parameters, command = self.invocation
        self.state = new_state
        self.changes.append(_Change(cmdlet, parameters, target, _redact(before), _redact(after), command))


def _redact(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = "<redacted>" if _SECRET_PARAM.search(key) and value not in (None, "") else plain(value)
    return out


def redact_command(text: str) -> str:
    """Return a command line with the values of secret parameters (passwords, secrets, tokens) hidden."""
    return _SECRET_TEXT.sub(lambda m: m.group(1) + "<redacted>", text)


def commands() -> dict[str, CmdletSpec]:
    """Every cmdlet of the shell by lower-case name."""
    from labs.tenant.admin import builtins, cmdlets, network

    table: dict[str, CmdletSpec] = {}
    for spec in (*cmdlets.CMDLETS, *network.CMDLETS, *builtins.CMDLETS):
        table[spec.name.lower()] = spec
    return table


_COMMANDS: dict[str, CmdletSpec] | None = None


def _registry() -> dict[str, CmdletSpec]:
    global _COMMANDS
    if _COMMANDS is None:
        _COMMANDS = commands()
    return _COMMANDS


def _check_line(line: str) -> None:
    if len(line) > MAX_LINE:
        raise PSError(f"The command line is too long: {len(line):,} characters, and at most {MAX_LINE:,} are "
                      "accepted.")
    for index, ch in enumerate(line):
        code = ord(ch)
        if (code < 0x20 and ch not in "\t\r\n") or 0x7F <= code < 0xA0:
            raise PSError(f"Unexpected control character U+{code:04X} at position {index + 1} of the command line.")


class AdminShell:
    """The admin cmdlet shell of a running tenant.

    Args:
        tenant: the running tenant whose state the cmdlets read and change.
        who: the admin named in audit entries (default ``admin@<initial domain>``).
    """

    def __init__(self, tenant: Tenant, *, who: str | None = None) -> None:
        self.tenant = tenant
        self.session = Session(who=who or f"admin@{tenant.state.initial_domain}")

    # -- running a line ------------------------------------------------------------------------------

    def execute(self, line: str) -> CommandResult:
        """Run one command line, all or nothing.

        Args:
            line: what the admin typed.

        Returns:
            The result; on any error the tenant's state is unchanged and nothing is audited.
        """
        session = Session(**vars(self.session))
        ctx = Context(self.tenant, self.tenant.state, session, _registry())
        try:
            _check_line(line)
            pipelines = parse(line)
            items: list[Any] = []
            for pipeline in pipelines:
                items += self._pipeline(ctx, pipeline, line)
        except PSError as exc:
            return CommandResult(False, "", [], exc.message)
        except RecursionError:
            return CommandResult(False, "", [], "The command line is nested too deeply.")
        except Exception as exc:  # a fault in relaylab itself: still nothing applied, the tenant keeps serving
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return CommandResult(False, "", [], f"relaylab internal error ({type(exc).__name__}): {reason}")
        output = _render(ctx.host, items)
        if ctx.state is not self.tenant.state:
            self.tenant.apply(ctx.state)
        store = self.tenant.capture_store
        if store is not None:
            for change in ctx.changes:
                store.add_audit(AuditEntry(
                    at=iso(ctx.now()), run_id=self.tenant.run_id, who=session.who, cmdlet=change.cmdlet,
                    parameters=change.parameters, target=change.target, before=change.before, after=change.after,
                    command=change.command))
            if ctx.changes:
                store.flush()  # on disk before the command returns: a grader may read it at once
        self.session = session
        objects = [plain(o) for item in items for o in (item.objects if isinstance(item, Formatted) else (item,))]
        return CommandResult(True, output, objects, None)

    def complete(self, text: str) -> list[str]:
        """Complete the last word of ``text`` (the line up to the cursor).

        Returns:
            Cmdlet names (and aliases) at a command position, ``-Parameter`` names after a dash,
            case-insensitively by prefix, sorted.
        """
        registry = _registry()
        segment = re.split(r"[|;]", text)[-1]
        words = segment.lstrip().split(" ")
        last = words[-1] if words else ""
        if len(words) <= 1:
            names = [s.name for s in registry.values()] + list(ALIASES)
            return sorted({n for n in names if n.lower().startswith(last.lower())}, key=str.lower)
        if not last.startswith("-"):
            return []
        name = ALIASES.get(words[0].lower(), words[0])
        spec = registry.get(name.lower())
        if spec is None:
            return []
        prefix = last[1:].lower()
        return [f"-{p.name}" for p in spec.all_params if p.name.lower().startswith(prefix)]

    # -- pipelines --------------------------------------------------------------------------------------

    def _pipeline(self, ctx: Context, pipeline: Pipeline, line: str) -> list[Any]:
        text = redact_command(line[pipeline.start:pipeline.end].strip())
        items: list[Any] | None = None
        for command in pipeline.commands:
            items = self._command(ctx, command, items, text)
        return items or []

    def _command(self, ctx: Context, command: Command, items: list[Any] | None, text: str) -> list[Any]:
        spec = self.lookup(command.name, ctx.commands)
        if any(isinstance(e, Param) and e.name == "?" for e in command.elements):
            from labs.tenant.admin.help import render_help

            return [Formatted(render_help(spec))]
        elements = [self._element(ctx, e) for e in command.elements]
        if spec.takes_objects or items is None:
            bound = bind(spec, elements)
            ctx.pipeline_input = _unwrap(items or [])
            return self._invoke(ctx, spec, bound, text)
        out: list[Any] = []
        for obj in _unwrap(items):
            bound = bind(spec, elements, obj)
            out += self._invoke(ctx, spec, bound, text)
        return out

    @staticmethod
    def lookup(name: str, registry: Mapping[str, CmdletSpec] | None = None) -> CmdletSpec:
        """Return the cmdlet called ``name`` (or an alias of it).

        Raises:
            PSError: PowerShell's "not recognized" error, with a did-you-mean.
        """
        table = registry if registry is not None else _registry()
        spec = table.get(ALIASES.get(name.lower(), name).lower())
        if spec is None:
            raise PSError(f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, or "
                          "executable program. Check the spelling of the name, or if a path was included, verify "
                          "that the path is correct and try again.",
                          did_you_mean(name, [s.name for s in table.values()]))
        return spec

    def _invoke(self, ctx: Context, spec: CmdletSpec, bound: dict[str, Any], text: str) -> list[Any]:
        if not spec.changes_state:
            return spec.run(ctx, bound)
        ctx.invocation = (spec.name, plain_parameters(bound), text)
        state, changes, host = ctx.state, len(ctx.changes), len(ctx.host)
        out = spec.run(ctx, bound)
        if bound.get("WhatIf"):
            made = ctx.changes[changes:]
            ctx.state = state
            del ctx.changes[changes:]
            del ctx.host[host:]
            for change in made:
                ctx.say(f"What if: Performing the operation \"{spec.name}\" on target \"{change.target}\".")
            return []
        return out

    # -- values ----------------------------------------------------------------------------------------

    def _element(self, ctx: Context, element: Any) -> RawElement:
        if isinstance(element, Param):
            value = MISSING if element.value is None else self._value(ctx, element.value)
            return RawElement(element.name, value)
        node = element.value
        text = node.value if isinstance(node, Str) else ""
        return RawElement(None, self._value(ctx, node), text)

    def _value(self, ctx: Context, node: Any) -> Any:
        if isinstance(node, Str | Num):
            return node.value
        if isinstance(node, Var):
            if node.name == "_":
                raise PSError("The variable '$_' cannot be retrieved because it has not been set: $_ is the current "
                              "object inside a Where-Object script block.")
            return {"true": True, "false": False, "null": None}[node.name]
        if isinstance(node, ArrayLit):
            return [self._value(ctx, item) for item in node.items]
        if isinstance(node, HashLit):
            return {key: self._value(ctx, value) for key, value in node.items}
        if isinstance(node, ScriptBlock):
            return node
        if isinstance(node, SubExpr):
            return self._sub_expression(ctx, node)
        raise PSError("Unexpected token in expression or statement.")

    def _sub_expression(self, ctx: Context, node: SubExpr) -> Any:
        saved = ctx.pipeline_input
        items = _unwrap(self._pipeline(ctx, node.pipeline, ""))
        ctx.pipeline_input = saved
        value: Any = items[0] if len(items) == 1 else (None if not items else items)
        for member in node.members:
            value = _member(value, member.name, None if member.args is None else
                            [self._value(ctx, a) for a in member.args])
        return value


def _member(value: Any, name: str, args: list[Any] | None) -> Any:
    lowered = name.lower()
    if isinstance(value, datetime):
        units = {"adddays": "days", "addhours": "hours", "addminutes": "minutes", "addseconds": "seconds"}
        if lowered in units and args is not None:
            if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
                raise PSError(f"Cannot find an overload for \"{name}\" and the argument count: \"{len(args)}\".")
            return value + timedelta(**{units[lowered]: args[0]})
        if lowered in ("touniversaltime", "tolocaltime") and args is not None:
            return value
    if args is not None:
        raise PSError(f"Method invocation failed because [{type(value).__name__}] does not contain a method named "
                      f"'{name}'.")
    if isinstance(value, PSObject):
        return value.get(name)
    if isinstance(value, list):
        return [v.get(name) for v in value if isinstance(v, PSObject)]
    if isinstance(value, datetime) and lowered in ("year", "month", "day", "hour", "minute", "second"):
        return getattr(value, lowered)
    return None


def _unwrap(items: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, Formatted):
            raise PSError("The object of type \"Microsoft.PowerShell.Commands.Internal.Format.FormatStartData\" is "
                          "not valid or not in the correct sequence. This is likely caused by a user-specified "
                          "\"format-*\" command which is conflicting with the default formatting.")
        out.append(item)
    return out


def _render(host: Sequence[str], items: Sequence[Any]) -> str:
    blocks: list[str] = []
    if host:
        blocks.append("".join(line + "\n" for line in host))
    pending: list[Any] = []
    for item in items:
        if isinstance(item, Formatted):
            if pending:
                blocks.append(default_output(pending))
                pending = []
            blocks.append(item.text)
        else:
            pending.append(item)
    if pending:
        blocks.append(default_output(pending))
    return "\n".join(b for b in blocks if b)
