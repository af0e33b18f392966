"""Provides :class:`Tenant`: a running mock Exchange Online tenant on loopback.

A tenant owns its listeners (MX, the retired MX hosts, client submission on 587, 25 and 465),
the OAuth token issuer, the local PKI, capture (SQLite) and the mail store. Its state is one
immutable :class:`~labs.tenant.scenario.TenantScenario` value; :meth:`Tenant.apply` swaps in a
changed copy, and the next SMTP command sees it.

Real host names map to loopback listeners through :class:`EndpointTable`. With a port base N,
each listener listens on N + its real port (10025, 10587, 10465, 10443 for N = 10000); the
retired MX hosts and port 25 of smtp.office365.com use 127.0.0.2 and 127.0.0.3 so that they can
share port N + 25. With a port base of 0 every listener takes a free port on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import ssl
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from labs.records import SessionRecord
from labs.tenant.admin.control import SOCKET_NAME, ControlError, ControlServer, is_alive
from labs.tenant.capture import CaptureEvent, CaptureReader, CaptureStore, SessionCapture
from labs.tenant.clock import Clock
from labs.tenant.delivery import Processor
from labs.tenant.dns import ScenarioDns
from labs.tenant.mailstore import MailStore
from labs.tenant.oauth import TokenIssuer
from labs.tenant.pki import Pki
from labs.tenant.scenario import TenantScenario, mx_host_for
from labs.tenant.smtp import TenantSMTP
from labs.tenant.tokens import LEEWAY_SECONDS, TokenCheck, verify_token

if TYPE_CHECKING:
    from labs.tenant.admin.shell import AdminShell

__all__ = ["LEGACY_MX_HOSTS", "Endpoint", "EndpointTable", "Listener", "Tenant", "TenantStartError"]

LEGACY_MX_HOSTS = ("mail.messaging.microsoft.com", "mail.global.frontbridge.com", "52.101.68.20", "40.93.207.0")
"""Retired smart hosts and raw EOP addresses: answer ``451 4.4.62 ... ATTR35``."""


class TenantStartError(RuntimeError):
    """The tenant could not start (a port is taken, a non-loopback address was asked for)."""


@dataclass
class Listener:
    """One SMTP listener."""

    kind: Literal["mx", "mx-legacy", "submission", "smtps"]
    name: str
    """Endpoint name in the table (mx, mx-legacy, submission, submission-25, smtps)."""
    real_port: int
    host: str
    port: int
    implicit_tls: bool = False
    hosts: tuple[str, ...] = ()
    server: asyncio.base_events.Server | None = None

    @property
    def submission(self) -> bool:
        """Client submission (smtp.office365.com) rather than the MX endpoint."""
        return self.kind in ("submission", "smtps")


@dataclass(frozen=True)
class Endpoint:
    """A real host and port, and the loopback address that stands in for it."""

    name: str
    hosts: tuple[str, ...]
    port: int
    listen_host: str
    listen_port: int

    @property
    def listen(self) -> str:
        """``host:port`` actually listening."""
        return f"{self.listen_host}:{self.listen_port}"


@dataclass
class EndpointTable:
    """Real host names and ports → loopback listeners; the device runner resolves through it."""

    endpoints: list[Endpoint] = field(default_factory=list)
    token_url: str = ""
    token_endpoint: Endpoint | None = None

    def resolve(self, host: str, port: int) -> Endpoint | None:
        """Return the endpoint for (host, port), or None (nothing listens there: a timeout)."""
        host = host.lower().rstrip(".")
        for ep in self.endpoints:
            if ep.port == port and host in ep.hosts:
                return ep
        return None

    def get(self, name: str) -> Endpoint:
        """Return the endpoint called ``name``."""
        for ep in self.endpoints:
            if ep.name == name:
                return ep
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The ``endpoints`` object of ``relaylab tenant up --json``."""
        out: dict[str, Any] = {}
        for ep in self.endpoints:
            out[ep.name] = {"host": ep.hosts[0], "port": ep.port, "listen": ep.listen, "hosts": list(ep.hosts)}
        out["oauth"] = {"token_url": self.token_url}
        return out


def _loopback(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise TenantStartError(f"{host!r} is not an IP address; the tenant listens on 127.0.0.0/8 only") from None
    if not (isinstance(ip, ipaddress.IPv4Address) and ip.is_loopback):
        raise TenantStartError(f"{host} is not a loopback address; the tenant listens on 127.0.0.0/8 only")
    return str(ip)


class Tenant:
    """A mock Exchange Online tenant.

    Args:
        scenario: the tenant's starting state.
        state_dir: where capture, mail and spool files go (created).
        pki_dir: the local PKI folder (shared between runs; default ``state_dir/../pki``).
        port_base: N → listeners on N + real port; 0 → free ports.
        clock: tenant time (default: the scenario's clock, or real time).
        run_id: tag of this run in the capture (default: a new id).
        host: loopback address of the main listeners.
    """

    def __init__(self, scenario: TenantScenario, *, state_dir: Path, pki_dir: Path | None = None,
                 port_base: int = 0, clock: Clock | None = None, run_id: str | None = None,
                 host: str = "127.0.0.1") -> None:
        self.host = _loopback(host)
        if not (port_base == 0 or 1 <= port_base <= 65535 - 587):
            raise TenantStartError(f"port base {port_base} is out of range (0, or 1 to {65535 - 587})")
        self._state = scenario
        self._dns: ScenarioDns | None = None
        self.state_dir = state_dir
        self.port_base = port_base
        self.clock = clock or Clock(scenario.clock)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        state_dir.mkdir(parents=True, exist_ok=True)
        self.spool_dir = state_dir / "spool"
        self.pki = Pki(pki_dir or state_dir.parent / "pki")
        self.mailstore = MailStore(state_dir, state_dir / "capture.sqlite3")
        self.capture_store: CaptureStore | None = None  # type: ignore[assignment]
        self.processor = Processor(state=lambda: self._state, dns=self.dns, store=self.mailstore,
                                   dkim_key=lambda d, s: self.pki.dkim_key(d, s)[0], run_id=self.run_id)
        self.listeners: list[Listener] = []
        self.endpoints = EndpointTable()
        self.issuer: TokenIssuer | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._sni: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._sni_by_id: dict[int, str] = {}
        self._mailbox_sessions: dict[str, list[str]] = {}
        self._tokens: dict[str, TokenCheck] = {}
        self._open: set[TenantSMTP] = set()
        self._idle: asyncio.Event | None = None
        self._listeners_changed: list[Callable[[TenantScenario], None]] = []
        self.control: ControlServer | None = None
        self.started = False

    # -- state ------------------------------------------------------------------------------------

    @property
    def state(self) -> TenantScenario:
        """The tenant's current state."""
        return self._state

    def apply(self, new_state: TenantScenario) -> None:
        """Swap in a changed state; the next SMTP command and token request see it."""
        self._state = new_state
        self._dns = None
        self._tokens.clear()
        self.processor.spf_cache.clear()
        for callback in list(self._listeners_changed):
            callback(new_state)

    def on_change(self, callback: Callable[[TenantScenario], None]) -> None:
        """Call ``callback`` after every state change."""
        self._listeners_changed.append(callback)

    def dns(self) -> ScenarioDns:
        """The simulated DNS of the current state."""
        if self._dns is None:
            self._dns = ScenarioDns(self._state, lambda d, s: self.pki.dkim_key(d, s)[1])
        return self._dns

    # -- TLS ---------------------------------------------------------------------------------------

    def tls_context(self, listener: Listener) -> ssl.SSLContext:
        """Server TLS context of a listener (client certificates requested, SNI remembered)."""
        key: Literal["mx", "submission"] = "submission" if listener.submission else "mx"
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self.pki.server_context(key, legacy_tls=listener.submission)
            ctx.sni_callback = self._remember_sni
            self._contexts[key] = ctx
        return ctx

    def _remember_sni(self, ssl_object: Any, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        if server_name:
            try:
                self._sni[ssl_object] = server_name
            except TypeError:
                if len(self._sni_by_id) >= 1024:  # handshakes that failed after SNI never collect theirs
                    self._sni_by_id.clear()
                self._sni_by_id[id(ssl_object)] = server_name

    def sni_of(self, ssl_object: Any) -> str | None:
        """The server name a client asked for (None when it sent none)."""
        try:
            found = self._sni.get(ssl_object)
        except TypeError:
            found = None
        return found or self._sni_by_id.pop(id(ssl_object), None)

    def legacy_tls_allowed(self, sni: str | None) -> bool:
        """TLS 1.0/1.1 is accepted on smtp-legacy.office365.com once AllowLegacyTLSClients is on."""
        return bool(self._state.transport_config.allow_legacy_tls_clients and sni == "smtp-legacy.office365.com")

    def token_keys(self) -> Any:
        """Keys that verify the issuer's tokens."""
        return self.pki.verification_keys()

    def check_token(self, token: str) -> TokenCheck:
        """Verify a bearer token, remembering tokens already verified.

        An app presents the same token on every connection for an hour or more; its signature is
        checked once, and only its lifetime is checked again against tenant time on later uses.
        """
        now = self.clock.now()
        cached = self._tokens.get(token)
        if cached is not None and cached.ok:
            moment = now.timestamp()
            exp = float(cached.claims.get("exp", 0))
            nbf = float(cached.claims.get("nbf", cached.claims.get("iat", 0)))
            if nbf - LEEWAY_SECONDS <= moment <= exp + LEEWAY_SECONDS:
                return cached
        result = verify_token(token, keys=self.token_keys(), tenant_id=self._state.tenant_id, now=now)
        if len(self._tokens) >= 1024:
            self._tokens.clear()
        self._tokens[token] = result
        return result

    # -- network -----------------------------------------------------------------------------------

    def site_of(self, source_ip: str) -> tuple[str | None, str]:
        """Map a loopback source address to (site, public IP)."""
        site = self._state.site_by_source(source_ip)
        if site is None:
            return None, self._state.default_public_ip
        return site.name, site.public_ip

    def firewall_blocks(self, listener: Listener, source_ip: str) -> bool:
        """Whether the scenario's firewall blocks this site from the listener's real port."""
        site, _ip = self.site_of(source_ip)
        for rule in self._state.firewall.blocked:
            if rule.port == listener.real_port and ("*" in rule.sites or (site is not None and site in rule.sites)):
                return True
        return False

    # -- sessions ------------------------------------------------------------------------------------

    def open_capture(self, proto: TenantSMTP, peer_ip: str, peer: str, listen: str) -> SessionCapture:
        """Start the record of a new connection."""
        site, public_ip = self.site_of(peer_ip)
        self._open.add(proto)
        if self._idle is not None:
            self._idle.clear()
        store = self.capture_store
        emit = store.emit if (store is not None and store.has_subscribers) else None
        return SessionCapture(session_id=proto.session_id, run_id=self.run_id, tenant=self._state.id,
                              endpoint=proto.kind, listen=listen, peer=peer, source_ip=peer_ip, public_ip=public_ip,
                              site=site, started=self.clock.now(), emit=emit, port=proto.listener.real_port)

    def close_capture(self, capture: SessionCapture) -> None:
        """Finish a connection's record and queue it for the capture file."""
        record = capture.finish(self.clock.now())
        self._open = {p for p in self._open if p.capture is not None and p.capture is not capture}
        if not self._open and self._idle is not None:
            self._idle.set()
        if self.capture_store is not None:
            self.capture_store.add_session(record)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until no connection is open (every session has its record).

        A connection still open after ``timeout`` (a client that never hangs up) is closed by the
        server, so that its record is written too.
        """
        if self._idle is None:
            self._idle = asyncio.Event()
        if not self._open:
            self._idle.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            for proto in list(self._open):
                if proto.capture is not None and proto.capture.close_reason == "client-closed":
                    proto.capture.close_reason = "server"
                if proto.transport is not None:
                    proto.transport.close()
            await asyncio.wait_for(self._idle.wait(), 5)

    def hold_mailbox(self, mailbox: str, session_id: str) -> None:
        """Count an authenticated session of a mailbox."""
        self._mailbox_sessions.setdefault(mailbox.lower(), []).append(session_id)

    def release_mailbox(self, mailbox: str, session_id: str) -> None:
        """Uncount an authenticated session."""
        sessions = self._mailbox_sessions.get(mailbox.lower(), [])
        if session_id in sessions:
            sessions.remove(session_id)

    def mailbox_position(self, mailbox: str, session_id: str) -> int:
        """1-based position of a session among the mailbox's open authenticated sessions (oldest first)."""
        sessions = self._mailbox_sessions.get(mailbox.lower(), [])
        return sessions.index(session_id) + 1 if session_id in sessions else len(sessions) + 1

    def subscribe(self, callback: Callable[[CaptureEvent], None]) -> Callable[[], None]:
        """Receive capture events (opened, line, closed) on the event loop."""
        assert self.capture_store is not None, "start the tenant first"
        return self.capture_store.subscribe(callback)

    # -- lifecycle -------------------------------------------------------------------------------------

    def _plan(self) -> list[Listener]:
        state = self._state
        mx_hosts = tuple(dict.fromkeys([mx_host_for(d.name) for d in state.accepted_domains]
                                       + [state.fallback_mx_host]))
        base = self.port_base

        def where(real: int, alt_host: str) -> tuple[str, int]:
            if base == 0:
                return self.host, 0
            return (alt_host if alt_host else self.host), base + real

        plan = [
            Listener("mx", "mx", 25, *where(25, ""), hosts=mx_hosts),
            Listener("submission", "submission", 587, *where(587, ""),
                     hosts=("smtp.office365.com", "smtp-legacy.office365.com")),
        ]
        if state.submission.smtps_465:
            plan.append(Listener("smtps", "smtps", 465, *where(465, ""), implicit_tls=True,
                                 hosts=("smtp.office365.com",)))
        plan += [
            Listener("mx-legacy", "mx-legacy", 25, *where(25, "127.0.0.2"), hosts=LEGACY_MX_HOSTS),
            Listener("submission", "submission-25", 25, *where(25, "127.0.0.3"),
                     hosts=("smtp.office365.com", "smtp-legacy.office365.com")),
        ]
        return plan

    async def start(self) -> None:
        """Create the PKI if needed, open the capture file, and start every listener and the issuer."""
        loop = asyncio.get_running_loop()
        if is_alive(self.state_dir / SOCKET_NAME):
            raise TenantStartError(f"a tenant is already running in {self.state_dir}; stop it first "
                                   "(or give this one another --state-dir)")
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self.capture_store = CaptureStore(self.state_dir / "capture.sqlite3")
        self.mailstore.write = self.capture_store.add_message
        try:
            for listener in self._plan():
                ssl_ctx = self.tls_context(listener) if listener.implicit_tls else None
                self.tls_context(listener)
                try:
                    server = await loop.create_server(
                        lambda lst=listener: TenantSMTP(self, lst), listener.host, listener.port,
                        ssl=ssl_ctx, reuse_address=True, ssl_handshake_timeout=30 if ssl_ctx else None)
                except OSError as exc:
                    raise TenantStartError(f"cannot listen on {listener.host}:{listener.port} "
                                           f"({listener.name}): {exc.strerror}") from None
                listener.server = server
                listener.port = server.sockets[0].getsockname()[1]
                self.listeners.append(listener)
            self.issuer = TokenIssuer(lambda: self._state, self.pki, self.clock)
            issuer_port = 0 if self.port_base == 0 else self.port_base + 443
            try:
                await self.issuer.start(self.host, issuer_port)
            except OSError as exc:
                raise TenantStartError(f"cannot listen on {self.host}:{issuer_port} (oauth): {exc.strerror}") from None
        except BaseException:
            await self.stop()
            raise
        self.endpoints = EndpointTable(
            [Endpoint(lst.name, lst.hosts, lst.real_port, lst.host, lst.port) for lst in self.listeners],
            self.issuer.token_url,
            Endpoint("oauth", ("login.microsoftonline.com",), 443, self.host, self.issuer.port),
        )
        self.control = ControlServer(self, self.state_dir / SOCKET_NAME)
        try:
            await self.control.start()
        except ControlError as exc:
            self.control = None
            await self.stop()
            raise TenantStartError(str(exc)) from None
        self.started = True

    async def stop(self) -> None:
        """Stop listening, close open connections, and write everything captured."""
        if self.control is not None:
            await self.control.close()
            self.control = None
        for listener in self.listeners:
            if listener.server is not None:
                listener.server.close()
        for proto in list(self._open):
            if proto.transport is not None:
                proto.transport.close()
        for listener in self.listeners:
            if listener.server is not None:
                try:
                    await asyncio.wait_for(listener.server.wait_closed(), 5)
                except TimeoutError:
                    pass
        await asyncio.sleep(0)
        self.listeners = []
        if self.issuer is not None:
            await self.issuer.stop()
            self.issuer = None
        if self.capture_store is not None:
            self.capture_store.close()
        self.started = False

    async def __aenter__(self) -> Tenant:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- reading what happened ---------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until every finished session and trace entry is in the capture file."""
        if self.capture_store is not None:
            self.capture_store.flush()

    def shell(self) -> AdminShell:
        """A new admin cmdlet shell on this tenant (run it on the tenant's event-loop thread)."""
        from labs.tenant.admin.shell import AdminShell

        return AdminShell(self)

    def reader(self) -> CaptureReader:
        """A reader of this tenant's capture file."""
        return CaptureReader(self.state_dir / "capture.sqlite3")

    def records(self, *, this_run: bool = True) -> list[SessionRecord]:
        """Finished session records (of this run by default), oldest first."""
        self.flush()
        return self.reader().sessions(self.run_id if this_run else None)

    def state_snapshot(self) -> dict[str, Any]:
        """The current state as plain data, with passwords and client secrets removed (for graders and files)."""
        data = self._state.model_dump(mode="json")
        for r in data.get("recipients", []):
            if r.get("password"):
                r["password"] = "<redacted>"
        for app in data.get("app_registrations", []):
            for secret in app.get("secrets", []):
                secret["value"] = "<redacted>"
        return data

    def ready_info(self) -> dict[str, Any]:
        """The one JSON object ``relaylab tenant up --json`` prints when every listener is ready."""
        return {
            "tenant": self._state.id,
            "run_id": self.run_id,
            "state_dir": str(self.state_dir),
            "endpoints": self.endpoints.to_json(),
            "ca_cert": str(self.pki.ca_cert_path),
            "sites": {s.name: {"public_ip": s.public_ip, "source": s.source} for s in self._state.sites},
            "admin_socket": str(self.control.path) if self.control is not None else None,
        }

    def write_ready_file(self) -> Path:
        """Write ``ready_info`` to ``tenant.json`` in the state folder (for ``tenant trace`` etc.)."""
        path = self.state_dir / "tenant.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**self.ready_info(), "pid": os.getpid(),
                                   "started": datetime.now().astimezone().isoformat(),
                                   "state": self.state_snapshot()}, indent=2))
        tmp.replace(path)
        return path
