# aiosmtpd's Session/Envelope are Optional until a connection exists, and its helpers are untyped.
# mypy: disable-error-code="union-attr,no-untyped-call"
"""Provides the mock tenant's SMTP protocol: aiosmtpd's engine, Exchange Online's dialogue.

One :class:`TenantSMTP` instance serves one connection (aiosmtpd creates a new ``Session`` after
STARTTLS, so the record lives here, on the protocol). Each command turns the connection into
frozen facts, asks ``labs.tenant.policy`` for the decision, sends its exact reply, and records
the exchange. Client lines are captured by :class:`RecordingReader` with AUTH payloads redacted
before they are stored or streamed.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto as sslproto
import base64
import binascii
import collections
import logging
import re
import ssl
import tempfile
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import aiosmtpd.smtp
from aiosmtpd.smtp import SMTP, TLSSetupException

from labs.records import AuthAttempt, Recipient, TlsInfo
from labs.tenant.delivery import MessageFacts
from labs.tenant.policy import replies as R
from labs.tenant.policy.facts import Attribution, AuthIdentity, ConnFacts
from labs.tenant.policy.mx import attribute, mx_rcpt
from labs.tenant.policy.submission import login_decision, submission_mail, submission_rcpt, xoauth2_decision
from labs.tenant.sasl import SaslError, decode_xoauth2

if TYPE_CHECKING:
    from labs.tenant.server import Listener, Tenant

__all__ = ["RecordingReader", "TenantSMTP"]

_AIOSMTPD_LOG = logging.getLogger("mail.log")
_AIOSMTPD_LOG.setLevel(logging.CRITICAL)  # aiosmtpd's own log: we record everything ourselves
_sanitized_log = aiosmtpd.smtp.sanitized_log


def _quiet_sanitized_log(func: Any, msg: Any, *args: Any, **kwargs: Any) -> None:
    """aiosmtpd sanitises every command line before logging it, even when its log is off; skip that."""
    if _AIOSMTPD_LOG.isEnabledFor(logging.DEBUG):
        _sanitized_log(func, msg, *args, **kwargs)


aiosmtpd.smtp.sanitized_log = _quiet_sanitized_log

MAX_TRANSCRIPT_LINES = 4000
MAX_AUTH_LINE = 65536
"""AUTH lines (XOAUTH2 with a token) may be long; other commands keep aiosmtpd's 512."""
MAX_ERRORS = 50
CHUNK = 1 << 16
SPOOL_IN_MEMORY = 256 * 1024
_SIMPLE_ADDRESS = re.compile(r"\s*<([^<>\s@\"()\[\],;:\\]+@[A-Za-z0-9.-]+)>(.*)\Z", re.S)
"""``<local@domain> params``: the common case, parsed without the email package's full grammar."""
ALLOWED_MAIL_PARAMS = {"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"}
ALLOWED_RCPT_PARAMS = {"NOTIFY", "ORCPT"}


class _NoHandler:
    """aiosmtpd wants a handler object; every hook lives on the protocol instead."""


class RecordingReader(asyncio.StreamReader):
    """A stream reader that records each command line it returns, with AUTH payloads redacted."""

    capture_line: Any = None
    redact_next: int = 0
    """Continuation lines still to redact (AUTH exchanges)."""

    async def readuntil(self, separator: Any = b"\n") -> bytes:
        line = await super().readuntil(separator)
        if self.capture_line is not None:
            self.capture_line(line)
        return line


class TenantSMTP(SMTP):
    """The SMTP side of one connection to the mock tenant."""

    def __init__(self, tenant: Tenant, listener: Listener) -> None:
        self.tenant = tenant
        self.listener = listener
        self.kind: Literal["mx", "mx-legacy", "submission", "smtps"] = listener.kind
        state = tenant.state
        self.session_id = R.new_session_id()
        self.banner_host = state.servers.submission if listener.submission else state.servers.mx
        now = tenant.clock.now()
        self._init_aiosmtpd(
            hostname=self.banner_host,
            ident=R.banner(self.banner_host, now, self.session_id).split(" ", 1)[1],
            data_size_limit=state.limits.advertised_size,
            tls_context=None if listener.implicit_tls else tenant.tls_context(listener),
            timeout=state.limits.idle_timeout_seconds,
        )
        self.capture: Any = None
        self.identity: AuthIdentity | None = None
        self.attribution: Attribution | None = None
        self._tls_facts: dict[str, Any] = {}
        self._errors = 0
        self._omitted = 0
        self._closing_reply: str | None = None
        self._counted_mailbox: str | None = None
        self._rcpt_routes: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._bdat_spool: Any = None
        self._bdat_size = 0

    _SMTP_METHODS: tuple[str, ...] | None = None

    def _init_aiosmtpd(self, *, hostname: str, ident: str, data_size_limit: int, tls_context: ssl.SSLContext | None,
                       timeout: float) -> None:
        """Set up what ``aiosmtpd.smtp.SMTP.__init__`` (1.4.x) sets up, without its per-connection
        reflection (``inspect.getmembers`` and ``dir`` on every connection cost most of a millisecond).
        AUTH, the hooks and the EHLO reply are all ours, so its mechanism and hook tables stay empty.
        A test checks that every attribute aiosmtpd's own __init__ sets is set here too."""
        self.__ident__ = ident
        self.loop = asyncio.get_running_loop()
        reader = RecordingReader(limit=MAX_AUTH_LINE + 2, loop=self.loop)
        reader.capture_line = self._client_line
        asyncio.StreamReaderProtocol.__init__(self, reader, client_connected_cb=self._cb_client_connected, loop=self.loop)
        self.event_handler = _NoHandler()
        self.data_size_limit = data_size_limit
        self.enable_SMTPUTF8 = True
        self._decode_data = False
        # aiosmtpd keeps command_size_limits on the class and grows it on every EHLO; keep our own.
        self.command_size_limits = collections.defaultdict(lambda: 512, {"MAIL": 1024, "RCPT": 1024,
                                                                         "AUTH": MAX_AUTH_LINE})
        self.hostname = hostname
        self.tls_context = tls_context
        self.require_starttls = False
        self._timeout_duration = timeout
        self._timeout_handle = None
        self._tls_handshake_okay = True
        self._tls_protocol = None
        self._original_transport = None
        self.session = None
        self.envelope = None
        self.transport = None
        self._handler_coroutine = None
        self._auth_require_tls = False
        self._proxy_timeout = None
        self._authenticator = None
        self._auth_callback = None
        self._auth_required = False
        self._auth_methods = {}
        self._handle_hooks = {}
        self._ehlo_hook_ver = None
        cls = type(self)
        if cls._SMTP_METHODS is None:
            cls._SMTP_METHODS = tuple(m for m in dir(cls) if m.startswith("smtp_"))
        self._smtp_methods = {m[5:]: getattr(self, m) for m in cls._SMTP_METHODS}
        self._enforce_call_limit = False

    # -- connection lifecycle -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.capture is None
        super().connection_made(transport)
        if first:
            peer = transport.get_extra_info("peername") or ("127.0.0.1", 0)
            sock = transport.get_extra_info("sockname") or ("127.0.0.1", 0)
            self.capture = self.tenant.open_capture(self, peer[0], f"{peer[0]}:{peer[1]}", f"{sock[0]}:{sock[1]}")
            if self.tenant.firewall_blocks(self.listener, peer[0]):
                self.capture.firewall_blocked = True
                self.capture.close_reason = "blocked"
                self.capture.line("I", f"firewall: port {self.listener.real_port} is blocked at this site; "
                                       "the connection never reaches Exchange Online")
                self._closing_reply = ""
            if self.listener.implicit_tls:
                self._record_tls(transport, implicit=True)
        else:
            self._record_tls(transport, implicit=False)

    def _record_tls(self, transport: asyncio.BaseTransport, implicit: bool) -> None:
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        version = ssl_object.version() or "unknown"
        cipher = (ssl_object.cipher() or ("unknown",))[0]
        der = ssl_object.getpeercert(binary_form=True)
        cert = self.tenant.pki.cert_info(der) if der else None
        sni = self.tenant.sni_of(ssl_object)
        self.capture.tls = TlsInfo(version, cipher, implicit, sni, cert, self.capture.line_count)
        self.capture.line("I", f"TLS {version} {cipher}{' (implicit)' if implicit else ''}"
                               + (f", SNI {sni}" if sni else "") + (f", client certificate CN={cert.subject_cn}" if cert else ""))
        if self.listener.submission and version in ("TLSv1", "TLSv1.1") and not self.tenant.legacy_tls_allowed(sni):
            # Exchange Online completes the old handshake only to say it is not supported.
            self._closing_reply = R.TLS_LEGACY.text

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            if self.capture is not None:
                if self._counted_mailbox is not None:
                    self.tenant.release_mailbox(self._counted_mailbox, self.session_id)
                    self._counted_mailbox = None
                self.tenant.close_capture(self.capture)
                self.capture = None

    def _timeout_cb(self) -> None:
        if self.capture is not None and self.capture.close_reason != "blocked":
            self.capture.close_reason = "timeout"
            if self._closing_reply is None:
                self._send_line(R.TIMEOUT.text)
        super()._timeout_cb()

    async def _handle_client(self) -> None:
        if self._closing_reply is not None:
            if self._closing_reply:  # implicit TLS with an old version: say why, then close
                self._send_line(self._closing_reply)
                self.capture.close_reason = "server"
                assert self.transport is not None
                self.transport.close()
            return  # firewall: stay silent until the client gives up or the idle timer fires
        await super()._handle_client()

    # -- wire helpers ---------------------------------------------------------------------------

    def _send_line(self, text: str) -> None:
        self._record("S", text)
        assert self._writer is not None
        self._writer.write(text.encode("utf-8", "replace") + b"\r\n")

    def _record(self, direction: Literal["C", "S", "I"], text: str) -> None:
        cap = self.capture
        if cap is None:
            return
        if cap.line_count >= MAX_TRANSCRIPT_LINES:
            self._omitted += 1
            return
        cap.line(direction, text)

    def _client_line(self, raw: bytes) -> None:
        text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        reader = self._reader
        if isinstance(reader, RecordingReader) and reader.redact_next:
            reader.redact_next -= 1
            text = "<redacted>" if text != "*" else "*"
        else:
            upper = text[:20].upper()
            if upper.startswith("AUTH "):
                parts = text.split(" ", 2)
                if len(parts) > 2:
                    text = f"{parts[0]} {parts[1]} <redacted>"
        if len(text) > 1000:
            text = text[:1000] + f"... ({len(raw)} bytes)"
        self._record("C", text)

    def now(self) -> datetime:
        """Tenant time."""
        return self.tenant.clock.now()

    def reply(self, r: R.Reply) -> str:
        """Render a reply line with this session's suffix."""
        return r.render(self.banner_host, self.now(), self.session_id)

    async def push(self, status: Any) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        text = self._exchange_wording(text)
        if text[:1] in ("4", "5") and not text.startswith(("421", "221")):
            self._errors += 1
        self._send_line(text)
        await self._writer.drain()
        if self._errors > MAX_ERRORS and self.transport is not None:
            self._send_line(R.TOO_MANY_ERRORS.text)
            self.capture.close_reason = "server"
            await self._linger_close()

    async def _linger_close(self, seconds: float = 2.0) -> None:
        """Close after a final reply without losing it.

        Closing a socket that still has unread input makes the kernel send a reset, and a client
        may then lose the reply it had not read yet. So: stop answering, send FIN where the
        transport can, discard what the client still sends (briefly), then close.
        """
        transport = self.transport
        if transport is None:
            return
        if isinstance(transport, asyncio.WriteTransport) and transport.can_write_eof():
            transport.write_eof()
        try:
            async with asyncio.timeout(seconds):
                while await self._reader.read(CHUNK):
                    pass
        except (TimeoutError, ConnectionError, OSError):
            pass
        transport.close()

    def _exchange_wording(self, text: str) -> str:
        """Replace aiosmtpd's own error texts with Exchange's."""
        if text.startswith("500 Error: command"):
            name = text.split('"')[1] if '"' in text else ""
            return f"500 5.3.3 Unrecognized command '{name}' {R.suffix(self.banner_host, self.now(), self.session_id)}"
        if text.startswith(("500 Error: bad syntax", "500 Error: strict ASCII")):
            return self.reply(R.UNRECOGNIZED_COMMAND)
        if text.startswith(("500 Command line too long", "500 Line too long")):
            return self.reply(R.LINE_TOO_LONG)
        if text.startswith("502 5.5.1 Too many unrecognized"):
            self.capture.close_reason = "server"
            return R.TOO_MANY_ERRORS.text
        if text.startswith("500 Error: ("):
            return "451 4.7.0 Temporary server error. Please try again later. PRX5"
        return text

    async def handle_exception(self, error: Exception) -> str:
        """An unexpected failure: say it in the transcript (never on a trainee's terminal), answer as EXO does."""
        if not isinstance(error, TLSSetupException) and self.capture is not None:
            self.capture.line("I", f"server error: {type(error).__name__}: {str(error)[:200]}")
        logging.getLogger("relaylab.tenant").debug("session %s failed", self.session_id, exc_info=error)
        return "451 4.7.0 Temporary server error. Please try again later. PRX5"

    def eof_received(self) -> bool | None:
        """The client hung up: close our side too, so that the session ends and its record is written.

        (asyncio's default keeps a half-closed connection open, which left silent or blocked
        connections open until the idle timer fired.)
        """
        super().eof_received()
        return False

    def facts(self) -> ConnFacts:
        """The connection as policy sees it."""
        tls = self.capture.tls if self.capture else None
        return ConnFacts(
            endpoint=self.kind, public_ip=self.capture.public_ip, site=self.capture.site, tls=tls is not None,
            tls_version=tls.version if tls else None, sni=tls.sni if tls else None,
            client_cert=tls.client_cert if tls else None,
            helo=self.session.host_name if self.session else None, auth=self.identity, now=self.now())

    async def _need_helo(self) -> bool:
        if not self.session.host_name:
            await self.push(self.reply(R.SEND_HELLO_FIRST))
            return True
        return False

    # -- greeting and TLS -------------------------------------------------------------------------

    async def smtp_HELO(self, hostname: str) -> None:
        if not hostname:
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        self._set_rset_state()
        self.session.extended_smtp = False
        self.session.host_name = hostname
        self.capture.ehlo = hostname
        await self.push(f"250 {self.banner_host} Hello [{self.capture.public_ip}]")

    async def smtp_EHLO(self, hostname: str) -> None:
        if not hostname:
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        self._set_rset_state()
        self.capture.end_transaction()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        self.capture.ehlo = hostname
        tls = self.capture.tls is not None
        auth = "LOGIN XOAUTH2" if (self.listener.submission and tls) else None
        await self.push_lines(R.ehlo_lines(self.banner_host, self.capture.public_ip,
                                           self.tenant.state.limits.advertised_size, starttls=not tls, auth=auth))

    async def smtp_STARTTLS(self, arg: str) -> None:
        if arg:
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        if await self._need_helo():
            return
        if self.capture.tls is not None or self.tls_context is None:
            await self.push(self.reply(R.BDAT_WITHOUT_DATA))
            return
        await self.push(R.STARTTLS_READY.text)
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(self.loop, self, self.tls_context, waiter, server_side=True)
        self._original_transport = self.transport
        assert self._original_transport is not None
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.capture.close_reason = "tls-failed"
            self.capture.line("I", f"TLS handshake failed: {type(error).__name__}: {str(error)[:200]}")
            raise TLSSetupException() from error
        if self._closing_reply:
            # An old TLS version: the handshake completed only so that the next command can be
            # answered with the refusal; then the connection closes.
            try:
                async with asyncio.timeout(30):
                    await self._reader.readline()
            except (TimeoutError, ValueError, ConnectionError):
                pass
            self.capture.close_reason = "server"
            self._send_line(self._closing_reply)
            await self._linger_close()

    # -- AUTH -------------------------------------------------------------------------------------

    async def _challenge(self, prompt: R.Reply, secret: bool) -> bytes | None:
        reader = self._reader
        if secret and isinstance(reader, RecordingReader):
            reader.redact_next = 1
        await self.push(prompt.text)
        try:
            line = await self._reader.readline()
        except ValueError:  # longer than any AUTH response may be
            line = b""
        if isinstance(reader, RecordingReader):
            reader.redact_next = 0
        blob = line.strip()
        if blob == b"*":
            await self.push(self.reply(R.Reply("501 5.0.0 Authentication Aborted")))
            return None
        return blob

    def _decode(self, blob: bytes) -> bytes | None:
        try:
            return base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            return None

    async def smtp_AUTH(self, arg: str | None) -> None:
        if not self.listener.submission:
            await self.push(self.reply(R.UNRECOGNIZED_AUTH))
            return
        if await self._need_helo():
            return
        if self.capture.tls is None:
            await self.push(self.reply(R.UNRECOGNIZED_AUTH))
            return
        if self.identity is not None:
            await self.push(self.reply(R.ALREADY_AUTHENTICATED))
            return
        if not arg:
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        parts = arg.split()
        mechanism = parts[0].upper()
        initial = parts[1] if len(parts) > 1 else None
        at_line = self.capture.line_count - 1
        if mechanism == "LOGIN":
            await self._auth_login(initial, at_line)
        elif mechanism == "XOAUTH2":
            await self._auth_xoauth2(initial, at_line)
        else:
            reply = self.reply(R.UNRECOGNIZED_AUTH)
            self.capture.add_auth(AuthAttempt(mechanism[:20], "basic" if mechanism in ("PLAIN", "CRAM-MD5") else "other",
                                              None, False, reply, True, at_line))
            await self.push(reply)

    async def _auth_login(self, initial: str | None, at_line: int) -> None:
        if initial is not None and initial != "=":
            user_raw: bytes | None = initial.encode()
        else:
            user_raw = await self._challenge(R.AUTH_LOGIN_USER, secret=False)
        if user_raw is None:
            return
        user_bytes = self._decode(user_raw)
        password_raw = None if user_bytes is None else await self._challenge(R.AUTH_LOGIN_PASSWORD, secret=True)
        password = None if password_raw is None else self._decode(password_raw)
        if user_bytes is None or password is None:
            if user_bytes is None or password_raw is not None:
                await self.push(self.reply(R.Reply("501 5.5.2 Cannot Base64-decode Client responses")))
            return
        user = user_bytes.decode("utf-8", "replace").strip()
        decision = login_decision(self.tenant.state, self.facts(), user, password.decode("utf-8", "replace"))
        await self._auth_done("LOGIN", "basic", user, decision.reply, decision.identity, decision.reason, at_line, {})

    async def _auth_xoauth2(self, initial: str | None, at_line: int) -> None:
        if initial is None or initial == "=":
            blob = await self._challenge(R.AUTH_CONTINUE, secret=True)
            if blob is None:
                return
        else:
            blob = initial.encode()
        try:
            user, token = decode_xoauth2(blob)
        except SaslError as exc:
            reply = self.reply(R.AUTH_FAILED)
            self.capture.add_auth(AuthAttempt("XOAUTH2", "oauth", None, False, reply, True, at_line))
            self.capture.line("I", f"XOAUTH2 rejected: {exc}")
            await self.push(reply)
            return
        check = self.tenant.check_token(token)
        claims = dict(check.claims)
        decision = xoauth2_decision(self.tenant.state, self.facts(), user, check.ok, check.reason, claims)
        await self._auth_done("XOAUTH2", "oauth", user, decision.reply, decision.identity, decision.reason, at_line, claims)

    async def _auth_done(self, mechanism: str, kind: Literal["basic", "oauth"], user: str, reply_obj: R.Reply,
                         identity: AuthIdentity | None, reason: str, at_line: int, claims: dict[str, Any]) -> None:
        reply = self.reply(reply_obj)
        safe_claims: dict[str, Any] = {k: claims[k] for k in ("aud", "tid", "oid", "appid", "roles", "scp", "upn", "exp", "iat")
                       if k in claims}
        self.capture.add_auth(AuthAttempt(mechanism, kind, user[:320], identity is not None, reply, True, at_line,
                                          safe_claims, str(claims.get("appid")) if claims.get("appid") else None))
        self.capture.line("I", f"AUTH {mechanism} as {user[:320]}: {reason}")
        if identity is not None:
            self.identity = identity
            self.session.authenticated = True
            self._counted_mailbox = identity.mailbox
            self.tenant.hold_mailbox(identity.mailbox, self.session_id)
        await self.push(reply)

    # -- envelope -------------------------------------------------------------------------------

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        simple = _SIMPLE_ADDRESS.match(arg)
        if simple:
            return simple.group(1), simple.group(2)
        return SMTP._getaddr(self, arg)

    async def push_lines(self, lines: list[str]) -> None:
        """Send a multi-line reply in one write (each line is still recorded)."""
        for line in lines:
            self._record("S", line)
        assert self._writer is not None
        self._writer.write(("\r\n".join(lines) + "\r\n").encode("utf-8", "replace"))
        await self._writer.drain()

    def _address(self, arg: str | None, keyword: str) -> tuple[str | None, list[str]]:
        if arg is None:
            return None, []
        rest = self._strip_command_keyword(keyword, arg)
        if rest is None:
            return None, []
        if rest.startswith("<>"):
            return "", rest[2:].split()
        address, params = self._getaddr(rest)
        if address is None or not address or "@" not in address:
            return None, []
        return address, (params or "").split()

    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self._need_helo():
            return
        if self.envelope.mail_from is not None:
            await self.push(self.reply(R.NESTED_MAIL))
            return
        address, params = self._address(arg, "FROM:")
        if address is None:
            await self.push(self.reply(R.BAD_ADDRESS if arg and ":" in arg else R.SYNTAX_ERROR))
            return
        parsed = self._getparams([p.upper() for p in params])
        if parsed is None or any(k not in ALLOWED_MAIL_PARAMS for k in parsed):
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        size = parsed.get("SIZE")
        if isinstance(size, str) and size.isdigit() and int(size) > self.tenant.state.limits.advertised_size:
            await self.push(self.reply(R.SIZE_EXCEEDED))
            return
        state = self.tenant.state
        facts = self.facts()
        if self.listener.submission:
            concurrent = self.tenant.mailbox_position(self.identity.mailbox, self.session_id) if self.identity else 0
            decision = submission_mail(state, facts, concurrent)
            reply = decision.text if decision is R.CONCURRENT_LIMIT else self.reply(decision)
            kind = "authenticated" if self.identity else "rejected"
            self.capture.begin(address, reply, kind, "Originating", None)
            if decision.positive:
                self.envelope.mail_from = address
                self.envelope.mail_options = params
                self._rcpt_routes = {}
            await self.push(reply)
            return
        self.attribution = attribute(state, facts, address)
        self.capture.begin(address, R.SENDER_OK.text, self.attribution.kind, self.attribution.directionality,
                           self.attribution.connector)
        self.capture.line("I", f"attribution: {self.attribution.reason}")
        self.envelope.mail_from = address
        self.envelope.mail_options = params
        self._rcpt_routes = {}
        await self.push(R.SENDER_OK.text)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self._need_helo():
            return
        if self.envelope.mail_from is None:
            await self.push(self.reply(R.NEED_MAIL))
            return
        address, params = self._address(arg, "TO:")
        if not address:
            await self.push(self.reply(R.BAD_ADDRESS if arg and ":" in arg else R.SYNTAX_ERROR))
            return
        parsed = self._getparams([p.upper() for p in params])
        if parsed is None or any(k not in ALLOWED_RCPT_PARAMS for k in parsed):
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        state = self.tenant.state
        count = len(self.envelope.rcpt_tos)
        if self.listener.submission:
            decision = submission_rcpt(state, self.facts(), address, count)
        else:
            assert self.attribution is not None
            decision = mx_rcpt(state, self.facts(), self.attribution, self.envelope.mail_from, address, count)
        reply = self.reply(decision.reply) if decision.reply.suffixed else decision.reply.text
        if decision.accepted:
            self.envelope.rcpt_tos.append(address)
            self._rcpt_routes[address] = (decision.route, decision.expands_to)
        self.capture.rcpt(Recipient(address, reply, decision.accepted, decision.route,
                                    "pending" if decision.accepted else "rejected"))
        if not decision.accepted and decision.reason:
            self.capture.line("I", f"{address}: {decision.reason}")
        await self.push(reply)

    async def smtp_RSET(self, arg: str | None) -> None:
        self._set_rset_state()
        self.capture.end_transaction()
        self._close_bdat()
        await self.push(R.RESET_OK.text)

    async def smtp_NOOP(self, arg: str | None) -> None:
        await self.push(R.NOOP_OK.text)

    async def smtp_QUIT(self, arg: str | None) -> None:
        await self.push(R.QUIT.text)
        self.capture.close_reason = "quit"
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()
        if self.transport is not None:
            self.transport.close()

    async def smtp_VRFY(self, arg: str | None) -> None:
        await self.push(self.reply(R.NO_VRFY))

    async def smtp_EXPN(self, arg: str | None) -> None:
        await self.push(self.reply(R.Reply("502 5.3.3 Command not implemented", True)))

    async def smtp_HELP(self, arg: str | None) -> None:
        await self.push_lines(["214-This server supports the following commands:",
                               "214 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT"])

    # -- message data ----------------------------------------------------------------------------

    def _new_spool(self) -> Any:
        return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=str(self.tenant.spool_dir))

    async def smtp_DATA(self, arg: str | None) -> None:
        if await self._need_helo():
            return
        if arg:
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        if self.envelope.mail_from is None:
            await self.push(self.reply(R.NEED_MAIL))
            return
        if not self.envelope.rcpt_tos:
            await self.push(self.reply(R.NEED_RCPT))
            return
        await self.push(R.START_DATA.text)
        spool = self._new_spool()
        try:
            size, too_big = await self._read_data(spool)
            if size < 0:
                return  # the connection went away mid-message
            self._record("C", f"<message data: {size} bytes>")
            self._record("C", ".")
            await self._finish_message(spool, size, too_big)
        finally:
            spool.close()

    async def _read_data(self, spool: Any) -> tuple[int, bool]:
        """Read DATA in blocks up to CRLF.CRLF, undoing dot-stuffing, into ``spool``.

        Returns (size, too_big); size is -1 when the client disconnected.
        """
        limit = self.tenant.state.limits.advertised_size
        reader = self._reader
        pending = b"\r\n"
        first = True
        size = 0
        too_big = False
        while True:
            chunk = await reader.read(CHUNK)
            if not chunk:
                self.capture.close_reason = "client-closed"
                return -1, False
            self._reset_timeout()
            pending += chunk
            end = pending.find(b"\r\n.\r\n")
            if end >= 0:
                part, rest = pending[: end + 2], pending[end + 5:]
                if rest:
                    reader._buffer[:0] = rest  # type: ignore[attr-defined]  # pipelined commands after the dot
            else:
                cut = pending.rfind(b"\r\n", 0, len(pending) - 4)
                if cut <= 0:
                    continue
                part, pending = pending[:cut], pending[cut:]
            data = part.replace(b"\r\n..", b"\r\n.")
            if first:
                data = data[2:]
                first = False
            size += len(data)
            if size > limit:
                too_big = True
            if not too_big:
                spool.write(data)
            if end >= 0:
                return size, too_big

    def _close_bdat(self) -> None:
        if self._bdat_spool is not None:
            self._bdat_spool.close()
            self._bdat_spool = None
            self._bdat_size = 0

    async def smtp_BDAT(self, arg: str | None) -> None:
        parts = (arg or "").split()
        if not parts or not parts[0].isdigit() or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() != "LAST"):
            await self.push(self.reply(R.SYNTAX_ERROR))
            return
        count = int(parts[0])
        last = len(parts) == 2
        ok = self.session.host_name and self.envelope.mail_from is not None and self.envelope.rcpt_tos
        if self._bdat_spool is None:
            self._bdat_spool = self._new_spool()
        spool = self._bdat_spool
        remaining = count
        while remaining:
            try:
                piece = await self._reader.readexactly(min(remaining, CHUNK))
            except asyncio.IncompleteReadError:
                self.capture.close_reason = "client-closed"
                self._close_bdat()
                return
            self._reset_timeout()
            remaining -= len(piece)
            if ok and self._bdat_size + len(piece) <= self.tenant.state.limits.advertised_size:
                spool.write(piece)
            self._bdat_size += len(piece)
        self._record("C", f"<BDAT chunk: {count} bytes{' LAST' if last else ''}>")
        if not ok:
            self._close_bdat()
            await self.push(self.reply(R.BDAT_WITHOUT_DATA))
            return
        if not last:
            await self.push(f"250 2.0.0 BDAT {count} bytes received")
            return
        size = self._bdat_size
        try:
            await self._finish_message(spool, size, size > self.tenant.state.limits.advertised_size)
        finally:
            self._close_bdat()

    async def _finish_message(self, spool: Any, size: int, too_big: bool) -> None:
        mail_from = self.envelope.mail_from or ""
        if too_big:
            reply = self.reply(R.SIZE_EXCEEDED)
            self.capture.data(reply, size=size)
            self._set_post_data_state()
            await self.push(reply)
            return
        routes = self._rcpt_routes
        facts = MessageFacts(
            session_id=self.session_id, endpoint=self.kind, helo=self.session.host_name or "",
            public_ip=self.capture.public_ip, tls_version=self.capture.tls.version if self.capture.tls else None,
            tls_cipher=self.capture.tls.cipher if self.capture.tls else None, mail_from=mail_from,
            recipients=[(a, *routes.get(a, ("unknown", ()))) for a in self.envelope.rcpt_tos],  # type: ignore[misc]
            size=size, spool=spool, received=self.now(), attribution=self.attribution, identity=self.identity)
        if size > SPOOL_IN_MEMORY:
            outcome = await asyncio.to_thread(self.tenant.processor.process, facts)
        else:
            outcome = self.tenant.processor.process(facts)
        reply = outcome.reply.render(self.banner_host, self.now(), self.session_id)
        earlier = {r.address: r for r in self._pending_recipients()}
        final = [*[r for a, r in earlier.items() if not r.accepted], *outcome.recipients]
        self.capture.set_recipients(final)
        if outcome.reason:
            self.capture.line("I", outcome.reason)
        self.capture.data(reply, size=size, header_from=outcome.header_from, subject=outcome.subject,
                          message_id=outcome.message_id, network_message_id=outcome.network_message_id,
                          auth_results=outcome.auth_results, dkim_signed=outcome.dkim_signed,
                          delayed_seconds=outcome.delayed_seconds)
        if outcome.trace and self.tenant.capture_store is not None:
            self.tenant.capture_store.add_trace(outcome.trace)
        self._set_post_data_state()
        self._rcpt_routes = {}
        await self.push(reply)

    def _pending_recipients(self) -> list[Recipient]:
        txn = self.capture._txn
        return list(txn["recipients"]) if txn else []
