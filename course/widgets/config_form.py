"""Provides the device settings form: one control per setting the device has, selects for security
and authentication limited to what it can do, validated inputs for host, port and addresses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Select, Static, Switch

from engine.services import check_field

if TYPE_CHECKING:
    from engine.services import FieldSpec

__all__ = ["ConfigForm", "FieldCheck"]


class FieldCheck(Validator):
    """Checks a typed setting with the engine's rule for it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def validate(self, value: str) -> ValidationResult:
        problem = check_field(self.name, value)
        return self.success() if problem is None else self.failure(problem)


def _id(name: str) -> str:
    return "field-" + name.replace(".", "-").replace("_", "-")


class ConfigForm(VerticalScroll):
    """The settings form.

    Args:
        specs: the fields, from the lab session.
        values: their starting values.
    """

    DEFAULT_CSS = """
    ConfigForm { height: 1fr; }
    ConfigForm .form-group { text-style: bold; color: $primary; margin-top: 1; }
    ConfigForm .form-row { height: auto; }
    ConfigForm .form-label { width: 24; padding: 1 1 0 0; }
    ConfigForm .form-row > Input, ConfigForm .form-row > Select { width: 1fr; }
    ConfigForm .form-row > Switch { width: auto; }
    """

    def __init__(self, specs: Sequence[FieldSpec], values: Mapping[str, str | bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.specs = list(specs)
        self.initial = dict(values)

    def compose(self) -> ComposeResult:
        group = ""
        for spec in self.specs:
            if spec.group != group:
                group = spec.group
                yield Static(group, classes="form-group")
            value = self.initial.get(spec.name, "")
            with Horizontal(classes="form-row", id=f"row-{_id(spec.name)}"):
                yield Label(spec.label, classes="form-label")
                if spec.kind == "switch":
                    yield Switch(value=bool(value), id=_id(spec.name))
                elif spec.kind == "select":
                    options = list(spec.options)
                    current = str(value)
                    if current and current not in [v for _, v in options]:
                        options.append((f"{current} (not supported by this device)", current))
                    yield Select(options, value=current if current else options[0][1], allow_blank=False,
                                 id=_id(spec.name))
                else:
                    yield Input(str(value), placeholder=spec.help, password=spec.kind == "secret", id=_id(spec.name),
                                validators=[FieldCheck(spec.name)] if spec.kind != "secret" else [],
                                tooltip=spec.help or None, valid_empty=not spec.required)

    def on_mount(self) -> None:
        self._show_for_auth(str(self.initial.get("auth", "none")))

    @on(Select.Changed, "#field-auth")
    def auth_changed(self, event: Select.Changed) -> None:
        self._show_for_auth(str(event.value))

    def _show_for_auth(self, auth: str) -> None:
        for spec in self.specs:
            if spec.auth:
                self.query_one(f"#row-{_id(spec.name)}").display = auth in spec.auth

    def values(self) -> dict[str, str | bool]:
        """The form's current values."""
        out: dict[str, str | bool] = {}
        for spec in self.specs:
            widget = self.query_one(f"#{_id(spec.name)}")
            if isinstance(widget, Switch):
                out[spec.name] = widget.value
            elif isinstance(widget, Select):
                out[spec.name] = str(widget.value)
            elif isinstance(widget, Input):
                out[spec.name] = widget.value
        return out

    def set_values(self, values: Mapping[str, str | bool]) -> None:
        """Put values into the form."""
        for spec in self.specs:
            if spec.name not in values:
                continue
            widget = self.query_one(f"#{_id(spec.name)}")
            value = values[spec.name]
            if isinstance(widget, Switch):
                widget.value = bool(value)
            elif isinstance(widget, Select):
                if str(value) in [v for _, v in spec.options]:
                    widget.value = str(value)
            elif isinstance(widget, Input):
                widget.value = str(value)
        self._show_for_auth(str(values.get("auth", "none")))
