"""Provides cmdlet and parameter declarations and PowerShell's parameter binding.

Binding works as PowerShell's does, with its error texts:

* parameter names are case-insensitive and accept an unambiguous prefix (``-Smtp`` for
  ``-SmtpClientAuthenticationDisabled``); an exact name wins over longer ones;
* ``-Switch`` means ``$true``; ``-Param:value`` binds a value to any parameter (``-Confirm:$false``);
* arguments without a name bind to the positional parameters in order (``Get-Mailbox app``);
* pipeline input binds by property name (``Get-CASMailbox app | Set-CASMailbox ...``);
* values are converted to the parameter's type: ``-RequireTls maybe`` fails as it would in
  PowerShell, since Boolean parameters take only ``$true``, ``$false``, 1 or 0.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from labs.tenant.admin.errors import PSError
from labs.tenant.admin.parser import ScriptBlock

if TYPE_CHECKING:
    from labs.tenant.admin.shell import Context

__all__ = [
    "COMMON_PARAMETERS",
    "MISSING",
    "Bound",
    "CmdletSpec",
    "MultiValue",
    "ParamSpec",
    "ParamType",
    "RawElement",
    "bind",
    "convert",
    "did_you_mean",
    "parse_date",
    "resolve_parameter",
]

ParamType = Literal["string", "strings", "multivalue", "bool", "nullable-bool", "switch", "int", "unlimited",
                    "datetime", "enum", "enums", "hashtable", "scriptblock", "any"]
"""Parameter types: ``multivalue`` is Exchange's MultiValuedProperty (a list or ``@{Add=...; Remove=...}``),
``unlimited`` an integer or the word Unlimited, ``nullable-bool`` a Boolean that may be ``$null``."""

_TYPE_LABEL = {
    "string": "System.String", "strings": "System.String[]", "bool": "System.Boolean",
    "nullable-bool": "System.Nullable`1[System.Boolean]", "switch": "System.Management.Automation.SwitchParameter",
    "int": "System.Int32", "unlimited": "Microsoft.Exchange.Data.Unlimited`1[System.Int32]",
    "datetime": "System.DateTime", "hashtable": "System.Collections.Hashtable",
    "scriptblock": "System.Management.Automation.ScriptBlock", "any": "System.Object",
    "multivalue": "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marks a parameter given without a value (a switch, or a missing argument)."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a cmdlet.

    Args:
        name: the parameter's name as Microsoft spells it.
        type: how values convert (see :data:`ParamType`).
        mandatory: the cmdlet cannot run without it.
        position: 0-based position for unnamed arguments (None: named only).
        choices: the valid values of an ``enum``/``enums`` parameter, in canonical case.
        pipeline: bound from a pipeline object's property of the same name.
        type_label: the .NET type shown in conversion errors (defaults by type).
        minimum: smallest accepted integer.
        maximum: largest accepted integer.
    """

    name: str
    type: ParamType = "string"
    mandatory: bool = False
    position: int | None = None
    choices: tuple[str, ...] = ()
    pipeline: bool = False
    type_label: str = ""
    minimum: int | None = None
    maximum: int | None = None

    @property
    def label(self) -> str:
        """The .NET type name used in PowerShell's messages."""
        return self.type_label or _TYPE_LABEL.get(self.type, "System.String")


COMMON_PARAMETERS = (
    ParamSpec("Verbose", "switch"),
    ParamSpec("Debug", "switch"),
    ParamSpec("ErrorAction", "enum", choices=("Continue", "Ignore", "Inquire", "SilentlyContinue", "Stop", "Suspend"),
              type_label="System.Management.Automation.ActionPreference"),
    ParamSpec("WarningAction", "enum", choices=("Continue", "Ignore", "Inquire", "SilentlyContinue", "Stop",
                                                "Suspend"),
              type_label="System.Management.Automation.ActionPreference"),
)
"""Common parameters every cmdlet accepts (and relaylab ignores)."""


@dataclass(frozen=True)
class MultiValue:
    """An ``@{Add=...; Remove=...}`` change to a multi-valued property."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def apply(self, current: Sequence[str]) -> list[str]:
        """Return ``current`` with the additions appended and the removals dropped (case-insensitive)."""
        removed = {r.lower() for r in self.remove}
        out = [v for v in current if v.lower() not in removed]
        seen = {v.lower() for v in out}
        for v in self.add:
            if v.lower() not in seen:
                out.append(v)
                seen.add(v.lower())
        return out

    def to_plain(self) -> dict[str, list[str]]:
        """The change as plain data (for the audit log)."""
        out: dict[str, list[str]] = {}
        if self.add:
            out["Add"] = list(self.add)
        if self.remove:
            out["Remove"] = list(self.remove)
        return out


Bound = dict[str, Any]
"""Bound parameters: canonical name → converted value."""

Runner = Callable[["Context", Bound], list[Any]]


@dataclass(frozen=True)
class CmdletSpec:
    """A cmdlet: its name, parameters and implementation.

    Args:
        name: Verb-Noun as Microsoft spells it.
        params: its own parameters (the common ones are added).
        run: ``(ctx, params) -> objects``; it changes state only through ``ctx.commit``.
        changes_state: a Set/New/Remove/Add cmdlet: audited, and ``-WhatIf``/``-Confirm`` apply.
        module: the PowerShell module it comes from (shown by Get-Command).
        takes_objects: the cmdlet processes pipeline objects itself (Select-Object, Where-Object ...).
        local: runs in the shell only (Get-Help, Get-Command): no tenant state involved.
    """

    name: str
    params: tuple[ParamSpec, ...]
    run: Runner
    changes_state: bool = False
    module: str = "ExchangeOnlineManagement"
    takes_objects: bool = False
    local: bool = False
    all_params: tuple[ParamSpec, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        extra = list(COMMON_PARAMETERS)
        if self.changes_state:
            extra += [ParamSpec("Confirm", "switch"), ParamSpec("WhatIf", "switch")]
        own = {p.name.lower() for p in self.params}
        object.__setattr__(self, "all_params", self.params + tuple(p for p in extra if p.name.lower() not in own))

    def param(self, name: str) -> ParamSpec:
        """Return a parameter by its canonical name."""
        for p in self.all_params:
            if p.name == name:
                return p
        raise KeyError(name)


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """Return ``"Did you mean 'X'?"`` for the closest candidate, or ''."""
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"Did you mean '{lowered[hits[0]]}'?" if hits else ""


def resolve_parameter(spec: CmdletSpec, typed: str) -> ParamSpec:
    """Resolve a typed parameter name: exact (any case), else an unambiguous prefix.

    Raises:
        PSError: no parameter matches, or the prefix is ambiguous.
    """
    wanted = typed.lower()
    for p in spec.all_params:
        if p.name.lower() == wanted:
            return p
    matches = [p for p in spec.all_params if p.name.lower().startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = " ".join(f"-{p.name}" for p in matches)
        raise PSError(f"Parameter cannot be processed because the parameter name '{typed}' is ambiguous. "
                      f"Possible matches include: {names}.")
    raise PSError(f"A parameter cannot be found that matches parameter name '{typed}'.",
                  did_you_mean(typed, [p.name for p in spec.all_params]))


@dataclass(frozen=True)
class RawElement:
    """An evaluated element of a command: a named parameter or an argument.

    Args:
        name: the parameter name as typed (None for an argument).
        value: the evaluated value (``MISSING`` for a parameter with no colon value).
        text: how the argument was written (for messages).
    """

    name: str | None
    value: Any
    text: str = ""


def _type_error(spec: ParamSpec, value: Any) -> PSError:
    shown = "" if value is None else _shown(value)
    if spec.type in ("bool", "nullable-bool", "switch"):
        return PSError(f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert value "
                       f"\"{shown}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and "
                       "numbers, such as $True, $False, 1 or 0.")
    if spec.type == "int" or spec.type == "unlimited":
        return PSError(f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert value "
                       f"\"{shown}\" to type \"{spec.label}\". Error: \"Input string was not in a correct format.\"")
    if spec.type == "datetime":
        return PSError(f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert value "
                       f"\"{shown}\" to type \"System.DateTime\". Error: \"String '{shown}' was not recognized as "
                       "a valid DateTime.\"")
    if isinstance(value, dict):
        return PSError(f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert the "
                       f"\"System.Collections.Hashtable\" value of type \"System.Collections.Hashtable\" to type "
                       f"\"{spec.label}\".")
    if isinstance(value, list):
        return PSError(f"Cannot convert 'System.Object[]' to the type '{spec.label}' required by parameter "
                       f"'{spec.name}'. Specified method is not supported.")
    return PSError(f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert value "
                   f"\"{shown}\" to type \"{spec.label}\".")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return "System.Object[]"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    if isinstance(value, ScriptBlock):
        return value.text[1:-1].strip()
    return str(value)


_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_date(text: str) -> datetime | None:
    """Parse a date as PowerShell (en-US) would; a date without a zone is taken as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
        for fmt in _DATE_FORMATS:
            try:
                moment = datetime.strptime(text.upper(), fmt)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _enum(spec: ParamSpec, value: Any) -> str:
    text = _shown(value)
    for choice in spec.choices:
        if choice.lower() == text.lower():
            return choice
    raise PSError(f"Cannot bind parameter '{spec.name}'. Cannot convert value \"{text}\" to type \"{spec.label}\". "
                  f"Error: \"Unable to match the identifier name {text} to a valid enumerator name. Specify one of "
                  f"the following enumerator names and try again: {', '.join(spec.choices)}\"",
                  did_you_mean(text, spec.choices))


def _string(spec: ParamSpec, value: Any) -> str:
    if isinstance(value, list | dict | ScriptBlock):
        raise _type_error(spec, value)
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        from labs.tenant.admin.format import ps_date

        return ps_date(value)
    return str(value)


def _strings(spec: ParamSpec, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, list | dict | ScriptBlock):
            raise _type_error(spec, item)
        out.append(_string(spec, item))
    return out


def convert(spec: ParamSpec, value: Any) -> Any:
    """Convert a value to the parameter's type.

    Raises:
        PSError: with PowerShell's transformation or validation message.
    """
    kind = spec.type
    if value is None:
        if kind in ("nullable-bool", "any", "strings", "multivalue") and not spec.mandatory:
            return None
        if kind in ("bool", "switch"):
            raise _type_error(spec, None)
        raise PSError(f"Cannot bind argument to parameter '{spec.name}' because it is null.")
    if kind == "any":
        return value
    if kind in ("bool", "nullable-bool", "switch"):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        raise _type_error(spec, value)
    if kind in ("int", "unlimited"):
        if isinstance(value, str) and kind == "unlimited" and value.strip().lower() == "unlimited":
            return "Unlimited"
        if isinstance(value, bool):
            number = int(value)
        elif isinstance(value, int):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            number = int(value)
        else:
            raise _type_error(spec, value)
        if spec.minimum is not None and number < spec.minimum:
            raise PSError(f"Cannot validate argument on parameter '{spec.name}'. The {number} argument is less than "
                          f"the minimum allowed range of {spec.minimum}. Supply an argument that is greater than or "
                          f"equal to {spec.minimum} and then try the command again.")
        if spec.maximum is not None and number > spec.maximum:
            raise PSError(f"Cannot validate argument on parameter '{spec.name}'. The {number} argument is greater "
                          f"than the maximum allowed range of {spec.maximum}. Supply an argument that is less than "
                          f"or equal to {spec.maximum} and then try the command again.")
        return number
    if kind == "datetime":
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        moment = parse_date(value) if isinstance(value, str) else None
        if moment is None:
            raise _type_error(spec, value)
        return moment
    if kind == "enum":
        if isinstance(value, list | dict):
            raise _type_error(spec, value)
        return _enum(spec, value)
    if kind == "enums":
        return [_enum(spec, v) for v in (value if isinstance(value, list) else [value])]
    if kind == "hashtable":
        if not isinstance(value, dict):
            raise PSError(f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert the "
                          f"\"{_shown(value)}\" value of type \"{type(value).__name__}\" to type "
                          "\"System.Collections.Hashtable\".")
        return value
    if kind == "scriptblock":
        if not isinstance(value, ScriptBlock):
            raise PSError(f"Cannot bind parameter '{spec.name}'. Cannot convert the \"{_shown(value)}\" value of "
                          "type \"System.String\" to type \"System.Management.Automation.ScriptBlock\".")
        return value
    if kind == "strings":
        if isinstance(value, dict):
            raise _type_error(spec, value)
        return _strings(spec, value)
    if kind == "multivalue":
        if isinstance(value, dict):
            add: list[str] = []
            remove: list[str] = []
            for key, item in value.items():
                if key.lower() == "add":
                    add += _strings(spec, item)
                elif key.lower() == "remove":
                    remove += _strings(spec, item)
                else:
                    raise PSError(f"Cannot process argument transformation on parameter '{spec.name}'. The "
                                  f"hashtable key '{key}' is not valid: use Add and Remove, for example "
                                  "@{Add=\"value\"}.")
            return MultiValue(tuple(add), tuple(remove))
        return _strings(spec, value)
    text = _string(spec, value)
    if spec.mandatory and text == "":
        raise PSError(f"Cannot bind argument to parameter '{spec.name}' because it is an empty string.")
    return text


def bind(spec: CmdletSpec, elements: Sequence[RawElement], pipeline_object: Any = MISSING) -> Bound:
    """Bind evaluated elements (and one pipeline object) to a cmdlet's parameters.

    Args:
        spec: the cmdlet.
        elements: its parameters and arguments, evaluated, in the order typed.
        pipeline_object: the current pipeline input (bound by property name), if any.

    Returns:
        Canonical parameter name → converted value.

    Raises:
        PSError: an unknown or ambiguous name, a duplicate, a missing or extra argument, a
            missing mandatory parameter, or a value of the wrong type.
    """
    named: dict[str, tuple[ParamSpec, Any]] = {}
    positional: list[RawElement] = []
    i = 0
    while i < len(elements):
        el = elements[i]
        i += 1
        if el.name is None:
            positional.append(el)
            continue
        p = resolve_parameter(spec, el.name)
        if p.name in named:
            raise PSError(f"Cannot bind parameter because parameter '{p.name}' is specified more than once. To "
                          "provide multiple values to parameters that can accept multiple values, use the array "
                          "syntax. For example, \"-parameter value1,value2,value3\".")
        value = el.value
        if p.type == "switch":
            value = True if value is MISSING else value
        elif value is MISSING:
            if i < len(elements) and elements[i].name is None:
                value = elements[i].value
                i += 1
            else:
                raise PSError(f"Missing an argument for parameter '{p.name}'. Specify a parameter of type "
                              f"'{p.label}' and try again.")
        named[p.name] = (p, value)
    free = sorted((p for p in spec.all_params if p.position is not None and p.name not in named),
                  key=lambda p: p.position or 0)
    for el in positional:
        if not free:
            raise PSError(f"A positional parameter cannot be found that accepts argument '{el.text or _shown(el.value)}'.")
        p = free.pop(0)
        named[p.name] = (p, el.value)
    if pipeline_object is not MISSING:
        _bind_pipeline(spec, named, pipeline_object)
    missing = [p.name for p in spec.all_params if p.mandatory and p.name not in named]
    if missing:
        raise PSError("Cannot process command because of one or more missing mandatory parameters: "
                      f"{' '.join(missing)}.")
    return {name: convert(p, value) for name, (p, value) in named.items()}


def _bind_pipeline(spec: CmdletSpec, named: dict[str, tuple[ParamSpec, Any]], obj: Any) -> None:
    from labs.tenant.admin.format import PSObject

    takers = [p for p in spec.all_params if p.pipeline and p.name not in named]
    if not takers:
        raise PSError("The input object cannot be bound to any parameters for the command either because the "
                      "command does not take pipeline input or the input and its properties do not match any of "
                      "the parameters that take pipeline input.")
    bound_any = False
    for p in takers:
        if isinstance(obj, PSObject):
            real = obj.find(p.name)
            if real is not None:
                named[p.name] = (p, obj.props[real])
                bound_any = True
        elif isinstance(obj, str) and p.position == 0:
            named[p.name] = (p, obj)
            bound_any = True
    if not bound_any:
        raise PSError("The input object cannot be bound to any parameters for the command either because the "
                      "command does not take pipeline input or the input and its properties do not match any of "
                      "the parameters that take pipeline input.")


def plain_parameters(bound: Mapping[str, Any]) -> dict[str, Any]:
    """Bound parameters as plain data for the audit log (changes as ``{"Add": [...]}``)."""
    out: dict[str, Any] = {}
    for name, value in bound.items():
        if isinstance(value, MultiValue):
            out[name] = value.to_plain()
        elif isinstance(value, datetime):
            out[name] = value.isoformat()
        elif isinstance(value, ScriptBlock):
            out[name] = value.text
        else:
            out[name] = value
    return out
