"""Provides PowerShell's own pipeline cmdlets in the admin shell: Select-Object, Where-Object,
Sort-Object, Format-Table, Format-List, Get-Help, Get-Command and Get-Date.

``Where-Object`` takes a script block of simple comparisons (``{$_.Status -eq 'Delivered'}``,
with ``-and``, ``-or``, ``-not``) or the short form ``Where-Object Status -eq Delivered``.
Comparisons follow PowerShell: case-insensitive unless the operator has a ``c`` prefix, the
right side converted to the left side's type, wildcards for ``-like`` and regular expressions for
``-match``; a collection on the left filters its elements.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labs.tenant.admin.binding import Bound, CmdletSpec, ParamSpec, parse_date
from labs.tenant.admin.errors import PSError
from labs.tenant.admin.format import PSObject, format_list, format_table
from labs.tenant.admin.parser import (
    COMPARISON_OPERATORS,
    ArrayLit,
    Compare,
    Expr,
    HashLit,
    Logical,
    Not,
    Num,
    ScriptBlock,
    Str,
    SubExpr,
    Var,
)

if TYPE_CHECKING:
    from labs.tenant.admin.shell import Context

__all__ = ["CMDLETS", "compare", "evaluate", "truthy"]

_CORE = "Microsoft.PowerShell.Utility"


def truthy(value: Any) -> bool:
    """PowerShell's truth: $null, False, 0, '' and empty collections are false."""
    if isinstance(value, list):
        return any(truthy(v) for v in value) if len(value) == 1 else bool(value)
    return bool(value)


def _coerce(left: Any, right: Any) -> Any:
    """Convert ``right`` to the type of ``left`` as PowerShell's comparison operators do."""
    if isinstance(left, bool):
        if isinstance(right, str):
            return right.strip().lower() not in ("", "false", "0", "$false")
        return bool(right)
    if isinstance(left, int) and isinstance(right, str):
        try:
            return int(right)
        except ValueError:
            return right
    if isinstance(left, datetime) and isinstance(right, str):
        return parse_date(right) or right
    return right


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _split(op: str) -> tuple[str, bool]:
    """Return (operator, case-sensitive) for an operator with an optional c or i prefix."""
    if op[:1] in ("c", "i") and op[1:] in COMPARISON_OPERATORS:
        return op[1:], op[0] == "c"
    return op, False


def _compare_one(base: str, sensitive: bool, left: Any, right: Any) -> bool:
    if base in ("eq", "ne"):
        if left is None or right is None:
            equal = left is None and right is None
        else:
            r = _coerce(left, right)
            if isinstance(left, str):
                equal = left == _text(r) if sensitive else left.lower() == _text(r).lower()
            else:
                equal = bool(left == r)
        return equal if base == "eq" else not equal
    if base in ("like", "notlike"):
        pattern, value = _text(right), _text(left)
        if not sensitive:
            pattern, value = pattern.lower(), value.lower()
        hit = fnmatch.fnmatchcase(value, pattern)
        return hit if base == "like" else not hit
    if base in ("match", "notmatch"):
        try:
            found = re.search(_text(right), _text(left), 0 if sensitive else re.IGNORECASE) is not None
        except re.error as exc:
            raise PSError(f"The regular expression pattern {_text(right)} is not valid: {exc}.") from None
        return found if base == "match" else not found
    if base in ("gt", "ge", "lt", "le"):
        if left is None or right is None:
            return False
        a: Any = left
        b: Any = _coerce(left, right)
        if isinstance(a, str) or isinstance(b, str):
            a, b = _text(a), _text(b)
            if not sensitive:
                a, b = a.lower(), b.lower()
        try:
            return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[base])
        except TypeError:
            raise PSError(f"Cannot compare \"{_text(left)}\" to \"{_text(right)}\".") from None
    raise PSError(f"Unexpected token '-{base}' in expression or statement.")


def compare(op: str, left: Any, right: Any) -> Any:
    """Evaluate ``left -op right``; a collection on the left filters its elements (PowerShell's rule)."""
    base, sensitive = _split(op.lower())
    if base in ("contains", "notcontains"):
        items = left if isinstance(left, list) else [left]
        hit = any(_compare_one("eq", sensitive, i, right) for i in items)
        return hit if base == "contains" else not hit
    if base in ("in", "notin"):
        items = right if isinstance(right, list) else [right]
        hit = any(_compare_one("eq", sensitive, left, i) for i in items)
        return hit if base == "in" else not hit
    if isinstance(left, list):
        return [item for item in left if _compare_one(base, sensitive, item, right)]
    return _compare_one(base, sensitive, left, right)


def evaluate(expr: Expr, current: Any) -> Any:
    """Evaluate a script-block expression with ``$_`` = ``current``."""
    if isinstance(expr, Compare):
        return compare(expr.op, evaluate(expr.left, current), evaluate(expr.right, current))
    if isinstance(expr, Logical):
        left = truthy(evaluate(expr.left, current))
        if expr.op == "and":
            return left and truthy(evaluate(expr.right, current))
        return left or truthy(evaluate(expr.right, current))
    if isinstance(expr, Not):
        return not truthy(evaluate(expr.expr, current))
    if isinstance(expr, Str | Num):
        return expr.value
    if isinstance(expr, Var):
        if expr.name != "_":
            return {"true": True, "false": False, "null": None}[expr.name]
        value = current
        for prop in expr.path:
            if isinstance(value, PSObject):
                value = value.get(prop)
            elif isinstance(value, list):
                value = [v.get(prop) for v in value if isinstance(v, PSObject)]
            else:
                value = None
        return value
    if isinstance(expr, ArrayLit):
        return [evaluate(item, current) for item in expr.items]
    if isinstance(expr, HashLit | SubExpr | ScriptBlock):
        raise PSError("Only comparisons of properties with values are supported in a Where-Object script block.")
    raise PSError("Unexpected token in expression or statement.")


# -- Select-Object ----------------------------------------------------------------------------------------


def _expand(names: list[str], obj: PSObject) -> list[str]:
    out: list[str] = []
    for name in names:
        if any(ch in name for ch in "*?["):
            out += [n for n in obj.names() if fnmatch.fnmatchcase(n.lower(), name.lower()) and n not in out]
        else:
            out.append(obj.find(name) or name)
    return out


def _select(ctx: Context, p: Bound) -> list[Any]:
    items = list(ctx.pipeline_input)
    if p.get("Skip"):
        items = items[p["Skip"]:]
    if "First" in p:
        items = items[:p["First"]]
    if "Last" in p:
        items = items[-p["Last"]:] if p["Last"] else []
    expand = p.get("ExpandProperty")
    props: list[str] = p.get("Property") or []
    out: list[Any] = []
    for obj in items:
        if expand is not None:
            if not isinstance(obj, PSObject) or obj.find(expand) is None:
                raise PSError(f"Property \"{expand}\" cannot be found.")
            value = obj.get(expand)
            out += value if isinstance(value, list) else [value]
            continue
        if not props or not isinstance(obj, PSObject):
            out.append(obj)
            continue
        names = _expand(props, obj)
        out.append(PSObject(f"Selected.{obj.type_name}", {n: obj.get(n) for n in names}))
    if p.get("Unique"):
        seen: list[Any] = []
        unique = []
        for obj in out:
            key = obj.props if isinstance(obj, PSObject) else obj
            if key not in seen:
                seen.append(key)
                unique.append(obj)
        out = unique
    return out


# -- Where-Object and Sort-Object -------------------------------------------------------------------------

_WHERE_OPS = ("EQ", "NE", "GT", "GE", "LT", "LE", "Like", "NotLike", "Match", "NotMatch", "Contains", "NotContains",
              "In", "NotIn", "CEQ", "CNE", "CLike", "CMatch")


def _where(ctx: Context, p: Bound) -> list[Any]:
    script = p.get("FilterScript")
    if isinstance(script, ScriptBlock):
        return [obj for obj in ctx.pipeline_input if truthy(evaluate(script.body, obj))]
    prop = p.get("Property") or (script if isinstance(script, str) else None)
    if prop is None:
        raise PSError("Cannot process command because of one or more missing mandatory parameters: FilterScript.")
    ops = [op for op in _WHERE_OPS if p.get(op)]
    if len(ops) > 1:
        raise PSError("Parameter set cannot be resolved using the specified named parameters.")
    if not ops:
        return [obj for obj in ctx.pipeline_input if isinstance(obj, PSObject) and truthy(obj.get(prop))]
    value = p.get("Value")
    return [obj for obj in ctx.pipeline_input
            if isinstance(obj, PSObject) and truthy(compare(ops[0].lower(), obj.get(prop), value))]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, datetime):
        return (2, value.timestamp())
    return (3, str(value).lower())


def _sort(ctx: Context, p: Bound) -> list[Any]:
    props: list[str] = p.get("Property") or []
    items = list(ctx.pipeline_input)

    def key(obj: Any) -> tuple[Any, ...]:
        if not props:
            return (_sort_key(obj),)
        return tuple(_sort_key(obj.get(n) if isinstance(obj, PSObject) else None) for n in props)

    items.sort(key=key, reverse=bool(p.get("Descending")))
    if p.get("Unique"):
        unique: list[Any] = []
        for obj in items:
            if not unique or key(unique[-1]) != key(obj):
                unique.append(obj)
        items = unique
    return items


# -- Format-Table, Format-List ------------------------------------------------------------------------------


def _format_props(p: Bound, objects: list[PSObject]) -> list[str]:
    requested: list[str] = p.get("Property") or []
    if requested:
        return _expand(requested, objects[0])
    first = objects[0]
    return list(first.display) if first.display else first.names()


def _format_table(ctx: Context, p: Bound) -> list[Any]:
    from labs.tenant.admin.shell import Formatted

    objects = [o for o in ctx.pipeline_input if isinstance(o, PSObject)]
    scalars = [o for o in ctx.pipeline_input if not isinstance(o, PSObject)]
    text = format_table(objects, _format_props(p, objects)) if objects else ""
    text += "".join(f"{s}\n" for s in scalars)
    return [Formatted(text, tuple(ctx.pipeline_input))] if text else []


def _format_list(ctx: Context, p: Bound) -> list[Any]:
    from labs.tenant.admin.shell import Formatted

    objects = [o for o in ctx.pipeline_input if isinstance(o, PSObject)]
    requested: list[str] = p.get("Property") or []
    blocks = []
    for obj in objects:
        names = _expand(requested, obj) if requested else obj.names()
        blocks.append(format_list([obj], names))
    text = "\n".join(blocks) + "".join(f"{s}\n" for s in ctx.pipeline_input if not isinstance(s, PSObject))
    return [Formatted(text, tuple(ctx.pipeline_input))] if text else []


# -- Get-Help, Get-Command, Get-Date ------------------------------------------------------------------------


def _get_help(ctx: Context, p: Bound) -> list[Any]:
    from labs.tenant.admin.help import render_help, render_overview
    from labs.tenant.admin.shell import AdminShell, Formatted

    name = p.get("Name")
    if not name:
        return [Formatted(render_overview(ctx.commands.values()))]
    spec = AdminShell.lookup(name, ctx.commands)
    mode = "full" if p.get("Full") or p.get("Detailed") else "examples" if p.get("Examples") else "normal"
    return [Formatted(render_help(spec, mode=mode, parameter=p.get("Parameter")))]


def _get_command(ctx: Context, p: Bound) -> list[Any]:
    patterns = [n.lower() for n in (p.get("Name") or ["*"])]
    out = []
    for spec in sorted(ctx.commands.values(), key=lambda s: s.name.lower()):
        verb, _, noun = spec.name.partition("-")
        if not any(fnmatch.fnmatchcase(spec.name.lower(), pat) for pat in patterns):
            continue
        if p.get("Verb") and not fnmatch.fnmatchcase(verb.lower(), p["Verb"].lower()):
            continue
        if p.get("Noun") and not fnmatch.fnmatchcase(noun.lower(), p["Noun"].lower()):
            continue
        if p.get("Module") and not fnmatch.fnmatchcase(spec.module.lower(), p["Module"].lower()):
            continue
        out.append(PSObject("CommandInfo", {"CommandType": "Cmdlet", "Name": spec.name, "Source": spec.module},
                            view="table"))
    if not out and patterns != ["*"] and not any("*" in pat for pat in patterns):
        raise PSError(f"The term '{p['Name'][0]}' is not recognized as a name of a cmdlet, function, script file, "
                      "or executable program.")
    return out


def _get_date(ctx: Context, p: Bound) -> list[Any]:
    return [ctx.now()]


def _write_output(ctx: Context, p: Bound) -> list[Any]:
    value = p.get("InputObject")
    return list(value) if isinstance(value, list) else ([] if value is None else [value])


_OP_SWITCHES = tuple(ParamSpec(op, "switch") for op in _WHERE_OPS)

CMDLETS = (
    CmdletSpec("Select-Object", (ParamSpec("Property", "strings", position=0), ParamSpec("ExpandProperty"),
                                 ParamSpec("First", "int", minimum=0), ParamSpec("Last", "int", minimum=0),
                                 ParamSpec("Skip", "int", minimum=0), ParamSpec("Unique", "switch"),
                                 ParamSpec("InputObject", "any")),
               _select, module=_CORE, takes_objects=True, local=True),
    CmdletSpec("Where-Object", (ParamSpec("FilterScript", "any", position=0), ParamSpec("Property"),
                                ParamSpec("Value", "any", position=1), *_OP_SWITCHES,
                                ParamSpec("InputObject", "any")),
               _where, module="Microsoft.PowerShell.Core", takes_objects=True, local=True),
    CmdletSpec("Sort-Object", (ParamSpec("Property", "strings", position=0), ParamSpec("Descending", "switch"),
                               ParamSpec("Unique", "switch")),
               _sort, module=_CORE, takes_objects=True, local=True),
    CmdletSpec("Format-Table", (ParamSpec("Property", "strings", position=0), ParamSpec("AutoSize", "switch"),
                                ParamSpec("Wrap", "switch")),
               _format_table, module=_CORE, takes_objects=True, local=True),
    CmdletSpec("Format-List", (ParamSpec("Property", "strings", position=0),),
               _format_list, module=_CORE, takes_objects=True, local=True),
    CmdletSpec("Get-Help", (ParamSpec("Name", position=0), ParamSpec("Parameter"), ParamSpec("Full", "switch"),
                            ParamSpec("Detailed", "switch"), ParamSpec("Examples", "switch")),
               _get_help, module="Microsoft.PowerShell.Core", local=True),
    CmdletSpec("Get-Command", (ParamSpec("Name", "strings", position=0), ParamSpec("Verb"), ParamSpec("Noun"),
                               ParamSpec("Module")),
               _get_command, module="Microsoft.PowerShell.Core", local=True),
    CmdletSpec("Get-Date", (), _get_date, module=_CORE, local=True),
    CmdletSpec("Write-Output", (ParamSpec("InputObject", "any", position=0),), _write_output, module=_CORE,
               local=True),
)
"""PowerShell's own cmdlets."""
