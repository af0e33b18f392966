"""Provides the admin shell's objects and how PowerShell prints them.

A cmdlet returns :class:`PSObject` values (ordered, case-insensitive properties with Exchange's
names) or plain scalars. Output follows PowerShell's rules closely enough to feel familiar:

* ``Format-Table``: a header, a dashed rule under each name, one row per object; numbers are
  right-aligned, the last column is not padded.
* ``Format-List``: ``Name : value`` with names padded to the longest, a blank line between
  objects.
* default output: an object's own view (table or list, with its default properties); objects
  without one (``Select-Object`` results) are a table up to four properties and a list above.

Values print as PowerShell prints them: ``True``/``False``, nothing for ``$null``, ``{a, b}``
for collections and ``11/26/2026 9:00:00 AM`` for dates. :func:`plain` gives the JSON form.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["PSObject", "default_output", "format_list", "format_table", "format_value", "plain", "ps_date"]


@dataclass
class PSObject:
    """An object in the pipeline: a type name and ordered properties.

    Args:
        type_name: what ``Get-Member`` would call it (short form, e.g. ``InboundConnector``).
        props: properties in display order, with Exchange's names.
        display: the properties of the default view (empty: all).
        view: the default view: ``table``, ``list`` or ``auto`` (decided by the property count).
    """

    type_name: str
    props: dict[str, Any]
    display: tuple[str, ...] = ()
    view: Literal["table", "list", "auto"] = "auto"
    _index: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {k.lower(): k for k in self.props}

    def find(self, name: str) -> str | None:
        """Return the property's real name for ``name`` (any case), or None."""
        return self._index.get(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        """Return a property by name, case-insensitively."""
        real = self.find(name)
        return self.props[real] if real is not None else default

    def names(self) -> list[str]:
        """Every property name, in order."""
        return list(self.props)


def ps_date(moment: datetime) -> str:
    """Return a UTC datetime as PowerShell (en-US) prints it: ``11/26/2026 9:00:00 AM``."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d}:{moment.second:02d} {half}"


def format_value(value: Any) -> str:
    """Return one value as PowerShell prints it in a table cell or list entry."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        return ps_date(value)
    if isinstance(value, PSObject):
        return "@{" + "; ".join(f"{k}={format_value(v)}" for k, v in value.props.items()) + "}"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(format_value(v) for v in value) + "}"
    return str(value)


def plain(value: Any) -> Any:
    """Return a value as plain JSON-ready data (dates as ISO 8601 UTC, objects as mappings)."""
    if isinstance(value, PSObject):
        return {k: plain(v) for k, v in value.props.items()}
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_table(objects: Sequence[PSObject], props: Sequence[str]) -> str:
    """Return objects as a PowerShell table with the given columns."""
    columns = list(props)
    cells = [[format_value(o.get(p)) for p in columns] for o in objects]
    right = [bool(objects) and all(_numeric(o.get(p)) or o.get(p) is None for o in objects)
             and any(_numeric(o.get(p)) for o in objects) for p in columns]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, text in enumerate(values):
            last = i == len(values) - 1
            if right[i]:
                parts.append(text.rjust(widths[i]))
            else:
                parts.append(text if last else text.ljust(widths[i]))
        return " ".join(parts).rstrip()

    out = [line(columns), line(["-" * len(c) for c in columns])]
    out += [line(row) for row in cells]
    return "\n".join(out) + "\n"


def format_list(objects: Sequence[PSObject], props: Sequence[str] | None = None) -> str:
    """Return objects as a PowerShell list (``Name : value``), a blank line between objects."""
    blocks = []
    for obj in objects:
        names = list(props) if props is not None else obj.names()
        width = max((len(n) for n in names), default=0)
        lines = []
        for n in names:
            text = format_value(obj.get(n))
            first, *rest = text.split("\n") if text else [""]
            lines.append(f"{n.ljust(width)} : {first}".rstrip())
            lines += [" " * (width + 3) + r for r in rest]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _view_props(obj: PSObject) -> list[str]:
    return list(obj.display) if obj.display else obj.names()


def _groups(items: Iterable[Any]) -> Iterator[tuple[str, list[Any]]]:
    current: list[Any] = []
    key = ""
    for item in items:
        k = f"obj:{item.type_name}:{','.join(_view_props(item))}" if isinstance(item, PSObject) else "scalar"
        if current and k != key:
            yield key, current
            current = []
        key = k
        current.append(item)
    if current:
        yield key, current


def default_output(items: Sequence[Any]) -> str:
    """Return what PowerShell prints for pipeline output that reaches the host unformatted."""
    blocks = []
    for key, group in _groups(items):
        if key == "scalar":
            blocks.append("".join(format_value(v) + "\n" for v in group))
            continue
        first: PSObject = group[0]
        props = _view_props(first)
        view = first.view
        if view == "auto":
            view = "table" if len(props) <= 4 else "list"
        blocks.append(format_table(group, props) if view == "table" else format_list(group, props))
    return "\n".join(blocks)
