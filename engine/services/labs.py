"""Provides :class:`LabSession`: a lab for the lab screen — the device form built from the device's
capabilities, configs from the form or YAML, runs, hints, grading and the admin shell.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import LabError, RelaylabError, UsageError
from engine.render import render_markdown
from engine.services.views import (
    LessonRef,
)
from grading.result import Result

if TYPE_CHECKING:
    from engine.services.course import CourseService

__all__ = [
    "AdminReply", "AttemptView", "EndpointInfo", "FieldKind", "FieldSpec", "LabSession", "LabView",
    "check_field"
]


# -- labs -----------------------------------------------------------------------------------------

FieldKind = Literal["text", "number", "select", "switch", "secret", "list"]

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_SECURITY_LABELS = {"none": "None (plain SMTP)", "starttls": "STARTTLS", "tls": "SSL/TLS (implicit)"}
_AUTH_LABELS = {"none": "None", "login": "Login (user name and password)", "plain": "Plain",
                "xoauth2": "OAuth 2.0 (XOAUTH2)"}
_TLS_ORDER = ("1.0", "1.1", "1.2", "1.3")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a device's SMTP settings form, as its capabilities allow."""

    name: str
    """Config key; OAuth settings are ``oauth.<key>``."""
    label: str
    kind: FieldKind
    group: str
    """Connection, Authentication, Message or Device."""
    help: str = ""
    options: tuple[tuple[str, str], ...] = ()
    """(label, value) pairs of a select."""
    required: bool = False
    auth: tuple[str, ...] = ()
    """Shown only when the auth setting is one of these (empty: always)."""


@dataclass(frozen=True)
class EndpointInfo:
    """A tenant endpoint and the loopback address standing in for it (for the trainee's own client)."""

    name: str
    host: str
    port: int
    listen: str


@dataclass(frozen=True)
class LabView:
    """A lab as the lab screen shows it."""

    id: str
    title: str
    level: str
    summary: str
    minutes: int
    situation: str
    """Markdown."""
    task: str
    """Markdown."""
    admin_tasks: tuple[str, ...]
    device: str
    """The device's name."""
    device_kind: str
    """What the device is (its profile's name and description)."""
    fix_on: str
    hints_total: int
    hints_shown: tuple[str, ...]
    lessons: tuple[LessonRef, ...]


@dataclass(frozen=True)
class AttemptView:
    """A graded attempt."""

    result: Result
    device_ok: bool | None
    device_error: str | None
    device_log: tuple[str, ...]
    admin_output: tuple[str, ...]
    sessions: int
    attempt_id: str
    lessons: Mapping[str, str] = field(default_factory=dict)
    """Titles of the lessons the checks point to, by id."""

    @property
    def percent(self) -> float:
        """Score in percent."""
        return self.result.percent


@dataclass(frozen=True)
class AdminReply:
    """What an admin cmdlet printed."""

    ok: bool
    output: str
    error: str = ""


def check_field(name: str, value: str) -> str | None:
    """Check one typed field of a device form; return what is wrong, or None.

    Args:
        name: the config key (``host``, ``port``, ``from_address``, ``to``, ...).
        value: the text typed.
    """
    value = value.strip()
    if name == "host":
        if not value:
            return "enter the SMTP server's host name or IP address"
        if not (_HOST.match(value) or (":" in value and _IPV6.match(value))):
            return f"{value!r} is not a host name or IP address"
    elif name == "port":
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            return "a port is a number from 1 to 65535"
    elif name in ("messages", "connections"):
        top = 500 if name == "messages" else 10
        if not value.isdigit() or not 1 <= int(value) <= top:
            return f"a number from 1 to {top}"
    elif name in ("from_address", "header_from", "username"):
        if name != "from_address" and not value:
            return None
        if not _EMAIL.match(value):
            return f"{value!r} is not an email address" if value else "enter an email address"
    elif name == "to":
        addresses = [a for a in re.split(r"[,;\s]+", value) if a]
        if not addresses:
            return "enter at least one recipient"
        bad = [a for a in addresses if not _EMAIL.match(a)]
        if bad:
            return f"{bad[0]!r} is not an email address"
    return None


class LabSession:
    """A lab with its own tenant, as the lab screen drives it.

    Args:
        service: the course service (course, store, time accounting).
        lab_id: the lab.
        learner_id: whose attempts and hints are recorded (None records nothing).
        port_base: 0 picks free ports.
        device_timeout: seconds the simulated device waits for the server.
    """

    def __init__(self, service: CourseService, lab_id: str, learner_id: str | None, *, port_base: int = 0,
                 device_timeout: float = 3.0) -> None:
        from engine.labrun import LabRunner

        if lab_id not in service.tree.labs:
            raise UsageError(f"no lab {lab_id!r}")
        self.service = service
        self.learner_id = learner_id
        self.runner = LabRunner(service.tree, lab_id, store=service.store, learner_id=learner_id,
                                port_base=port_base, device_timeout=device_timeout)
        self.lab = self.runner.lab
        self._opened: float | None = None
        self._shell: Any = None
        self._variables = service.tree.template_vars(self.runner.scenario)

    def _render(self, text: str) -> str:
        return render_markdown(text, self._variables)

    # -- what the screen shows --------------------------------------------------------------------

    def view(self) -> LabView:
        """The lab's situation, task and hints shown so far."""
        lab = self.lab
        device = next(d for d in self.runner.scenario.devices if d.id == lab.device)
        profile = self.runner.profile
        shown = self.service.store.hints_shown(self.learner_id, lab.id) if self.learner_id else 0
        return LabView(lab.id, lab.title, lab.level, lab.summary, lab.minutes, self._render(lab.situation),
                       self._render(lab.task), tuple(self._render(t) for t in lab.admin_tasks), device.name,
                       f"{profile.name}: {profile.description}", lab.fix_on, len(lab.hints),
                       tuple(self._render(h) for h in lab.hints[:shown]),
                       tuple(r for r in (self.service._ref(lid) for lid in lab.lessons) if r))

    def form(self) -> tuple[FieldSpec, ...]:
        """The device's settings form: selects offer only what the device can do."""
        profile = self.runner.profile
        best = "1.2" if profile.firmware_tls12 else profile.max_tls
        tls = (("Automatic (best available)", "auto"),) + tuple(
            (f"TLS {v}", v) for v in _TLS_ORDER if _TLS_ORDER.index(v) <= _TLS_ORDER.index(best))
        sites = tuple((f"{s.name} ({s.public_ip})", s.name) for s in self.runner.scenario.sites)
        fields = [
            FieldSpec("host", "SMTP server", "text", "Connection", "Host name or IP address", required=True),
            FieldSpec("port", "Port", "number", "Connection", "1 to 65535", required=True),
            FieldSpec("security", "Connection security", "select", "Connection",
                      options=tuple((_SECURITY_LABELS[s], s) for s in ("none", "starttls", "tls") if s in profile.security)),
            FieldSpec("tls_version", "Highest TLS version", "select", "Connection", options=tls),
            FieldSpec("verify_certificate", "Verify the server certificate", "switch", "Connection"),
            FieldSpec("auth", "Authentication", "select", "Authentication",
                      options=tuple((_AUTH_LABELS[a], a) for a in ("none", "login", "plain", "xoauth2") if a in profile.auth)),
            FieldSpec("username", "User name", "text", "Authentication", "The mailbox to sign in as",
                      auth=("login", "plain", "xoauth2")),
            FieldSpec("password", "Password", "secret", "Authentication",
                      "For Login, or the OAuth password flow. Never recorded or shown", auth=("login", "plain", "xoauth2")),
        ]
        if "xoauth2" in profile.auth:
            fields += [
                FieldSpec("oauth.flow", "OAuth flow", "select", "Authentication",
                          options=tuple((f, f) for f in sorted(profile.oauth_flows)), auth=("xoauth2",)),
                FieldSpec("oauth.tenant_id", "Tenant id", "text", "Authentication", "Directory id or domain",
                          auth=("xoauth2",)),
                FieldSpec("oauth.client_id", "Client id", "text", "Authentication", "Application id", auth=("xoauth2",)),
                FieldSpec("oauth.client_secret", "Client secret", "secret", "Authentication",
                          "Never recorded or shown", auth=("xoauth2",)),
                FieldSpec("oauth.scope", "Scope", "text", "Authentication", "Permission the token asks for",
                          auth=("xoauth2",)),
            ]
        fields += [
            FieldSpec("from_address", "From", "text", "Message", "Envelope sender", required=True),
            FieldSpec("to", "To", "list", "Message", "Recipients, separated by commas", required=True),
            FieldSpec("header_from", "From header", "text", "Message", "Empty: the same as From"),
            FieldSpec("subject", "Subject", "text", "Message"),
            FieldSpec("messages", "Messages to send", "number", "Message", "1 to 500"),
            FieldSpec("connections", "Parallel connections", "number", "Message", "1 to 10"),
            FieldSpec("site", "Site", "select", "Device", "Where the device sits (its public IP)", options=sites),
        ]
        if profile.client_certificate:
            fields.append(FieldSpec("client_certificate", "Client certificate", "text", "Device",
                                    "Name of a certificate from the local CA (empty: none)"))
        if profile.firmware_tls12:
            fields.append(FieldSpec("firmware_tls12", "TLS 1.2 firmware update installed", "switch", "Device"))
        fields.append(FieldSpec("ehlo_name", "EHLO name", "text", "Device", "Empty: the device id"))
        return tuple(fields)

    def starting_config(self) -> Any:
        """The device's starting (broken) config."""
        return self.runner.starting_config()

    def form_values(self, config: Any) -> dict[str, str | bool]:
        """A config as form values (text for inputs and selects, booleans for switches)."""
        data = config.model_dump(mode="json")
        values: dict[str, str | bool] = {}
        for spec in self.form():
            if spec.name.startswith("oauth."):
                raw = (data.get("oauth") or {}).get(spec.name.split(".", 1)[1])
            else:
                raw = data.get(spec.name)
            if spec.kind == "switch":
                values[spec.name] = bool(raw)
            elif spec.kind == "list":
                values[spec.name] = ", ".join(raw or [])
            elif spec.name == "oauth.flow" and raw is None:
                values[spec.name] = spec.options[0][1] if spec.options else ""
            else:
                values[spec.name] = "" if raw is None else str(raw)
        return values

    def config_from_form(self, values: Mapping[str, str | bool], base: Any | None = None) -> Any:
        """Build a config from form values (settings the form does not show are kept from ``base``).

        Raises:
            LabError: naming the first field that is wrong.
        """
        from pydantic import ValidationError

        from labs.devices.config import DeviceConfig

        specs = {s.name: s for s in self.form()}
        for name, value in values.items():
            if isinstance(value, str) and name in specs and (specs[name].required or value.strip()):
                problem = check_field(name, value)
                if problem:
                    raise LabError(f"{specs[name].label}: {problem}")
        data = (base or self.starting_config()).model_dump(mode="json")
        auth = str(values.get("auth", data.get("auth", "none")))
        oauth: dict[str, Any] = dict(data.get("oauth") or {})
        for name, value in values.items():
            spec = specs.get(name)
            if spec is None:
                continue
            if spec.auth and auth not in spec.auth:
                value = "" if spec.kind != "switch" else False
            if name.startswith("oauth."):
                key = name.split(".", 1)[1]
                oauth[key] = (str(value).strip() or None) if key == "client_secret" else str(value).strip()
                continue
            if spec.kind == "switch":
                data[name] = bool(value)
            elif spec.kind == "number":
                data[name] = int(str(value).strip())
            elif spec.kind == "list":
                data[name] = [a for a in re.split(r"[,;\s]+", str(value)) if a]
            elif spec.kind == "secret":
                data[name] = str(value) or None
            else:
                text = str(value).strip()
                data[name] = text if (text or spec.required or spec.kind == "select") else None
        data["oauth"] = oauth if auth == "xoauth2" else None
        if data.get("subject") is None:
            data.pop("subject", None)
        try:
            return DeviceConfig.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            label = specs[where].label if where in specs else (where or "config")
            raise LabError(f"{label}: {err['msg'].removeprefix('Value error, ')}") from None

    def config_yaml(self, config: Any) -> str:
        """A config as the YAML a trainee edits."""
        return str(self.runner.config_yaml(config))

    def parse_yaml(self, text: str) -> Any:
        """Parse a config from YAML.

        Raises:
            LabError: with each problem as LINE:COL: message.
        """
        return self.runner.parse_config(text, "device config")

    # -- the running lab --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the lab's tenant on the running event loop."""
        await self.runner.start()
        self._opened = time.monotonic()

    async def stop(self) -> None:
        """Stop the tenant and record the time spent in the lab."""
        await self.runner.stop()
        if self._opened is not None and self.learner_id is not None:
            import asyncio

            await asyncio.to_thread(self.service.lab_seconds, self.learner_id, time.monotonic() - self._opened)
        self._opened = None

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Receive every capture event (session opened, line, record) of the running tenant."""
        unsubscribe: Callable[[], None] = self.runner.tenant.subscribe(callback)
        return unsubscribe

    def endpoints(self) -> tuple[EndpointInfo, ...]:
        """The tenant's SMTP endpoints and where they listen (for swaks, curl)."""
        out = []
        for ep in self.runner.tenant.endpoints.endpoints:
            if ep.name in ("mx", "submission", "smtps"):
                out.append(EndpointInfo(ep.name, ep.hosts[0], ep.port, ep.listen))
        return tuple(out)

    def site_sources(self) -> tuple[tuple[str, str, str], ...]:
        """(site, public IP, loopback source address) for binding a real client."""
        return tuple((s.name, s.public_ip, s.source) for s in self.runner.scenario.sites)

    def _attempt(self, outcome: Any) -> AttemptView:
        device = outcome.device
        lessons = {c.lesson: self.service.tree.lessons[c.lesson].title for c in outcome.result.checks
                   if c.lesson and c.lesson in self.service.tree.lessons}
        return AttemptView(outcome.result, device.ok if device else None, outcome.device_error,
                           tuple(device.log) if device else (), tuple(outcome.admin_output),
                           len(outcome.records), outcome.attempt_id, lessons)

    async def run(self, config: Any, admin: Sequence[str] = ()) -> AttemptView:
        """Run the device with ``config``, grade what the tenant captured, and store the attempt."""
        return self._attempt(await self.runner.check(config, admin))

    async def grade_own_clients(self) -> AttemptView:
        """Grade what the trainee's own clients (swaks, curl) sent since the last grading."""
        return self._attempt(await self.runner.grade_sessions())

    def next_hint(self) -> tuple[int, str] | None:
        """Show (and record) the next hint; None when all were shown."""
        hint = self.runner.next_hint()
        return (hint[0], self._render(hint[1])) if hint else None

    @property
    def admin_available(self) -> bool:
        """Whether this build has the admin cmdlet shell."""
        return getattr(self.runner.tenant, "shell", None) is not None

    def _admin_shell(self) -> Any:
        if self._shell is None:
            self._shell = self.runner.shell()
        return self._shell

    def admin(self, line: str) -> AdminReply:
        """Run one admin cmdlet line against the lab's tenant (call it on the event loop's thread,
        where the tenant runs); its changes stay for the rest of the lab."""
        try:
            result = self._admin_shell().execute(line)
        except RelaylabError as exc:
            return AdminReply(False, "", exc.message)
        return AdminReply(bool(result.ok), str(result.output or ""), str(result.error or ""))

    def admin_complete(self, text: str) -> list[str]:
        """Completions of the last word of a cmdlet line (cmdlet names, -Parameters)."""
        try:
            return list(self._admin_shell().complete(text))
        except (RelaylabError, AttributeError):
            return []


