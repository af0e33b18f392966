"""Provides what happens to a message after the final dot: sender authentication, the headers
Exchange Online stamps, DKIM signing of relayed mail, delivery to folders or the internet sink,
message trace, and the reply.

The decisions come from ``labs.tenant.policy``; this module only carries them out.
"""

from __future__ import annotations

import email.utils
import re
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, Literal

import dkim

from labs.records import Recipient, TraceEntry, TraceEvent
from labs.tenant.dns import OUTBOUND_IP, RELAY_POOL_IP, ScenarioDns
from labs.tenant.mailstore import MailStore
from labs.tenant.policy import content
from labs.tenant.policy import replies as R
from labs.tenant.policy.facts import Attribution, AuthIdentity
from labs.tenant.policy.submission import submission_after_data
from labs.tenant.scenario import TenantScenario
from labs.tenant.trace import event, new_trace_id

__all__ = ["MessageFacts", "Outcome", "Processor", "Throttle"]

MAX_HEADER_BYTES = 64 * 1024
MAX_SIGN_BYTES = 16 * 1024 * 1024
"""Messages larger than this are neither DKIM-verified nor signed (kept simple for the lab)."""


@dataclass
class MessageFacts:
    """A message as received: the envelope, the connection facts and the spooled bytes."""

    session_id: str
    endpoint: str
    helo: str
    public_ip: str
    tls_version: str | None
    tls_cipher: str | None
    mail_from: str
    recipients: list[tuple[str, Literal["internal", "external", "unknown"], tuple[str, ...]]]
    size: int
    spool: BinaryIO
    received: datetime
    attribution: Attribution | None = None
    identity: AuthIdentity | None = None


@dataclass
class Outcome:
    """What became of a message."""

    reply: R.Reply
    recipients: list[Recipient]
    header_from: str | None = None
    subject: str | None = None
    message_id: str | None = None
    network_message_id: str | None = None
    auth_results: dict[str, str] = field(default_factory=dict)
    dkim_signed: str | None = None
    delayed_seconds: float = 0.0
    trace: list[TraceEntry] = field(default_factory=list)
    reason: str = ""


class Throttle:
    """Per-mailbox submission accounting: 30 messages a minute (delayed, not refused) and the
    rolling 24-hour recipient count."""

    def __init__(self) -> None:
        self._slots: dict[str, deque[float]] = {}
        self._recipients: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}

    def schedule(self, mailbox: str, now: float, per_minute: int) -> float:
        """Return the delay (seconds) before this message may be delivered, and book its slot."""
        slots = self._slots.setdefault(mailbox.lower(), deque(maxlen=per_minute))
        slot = now if len(slots) < per_minute else max(now, slots[0] + 60.0)
        slots.append(slot)
        return slot - now

    def recipients_24h(self, mailbox: str, now: float) -> int:
        """Recipients the mailbox sent to in the last 24 hours."""
        key = mailbox.lower()
        log = self._recipients.setdefault(key, deque())
        while log and log[0][0] < now - 86400:
            self._totals[key] -= log.popleft()[1]
        return self._totals.get(key, 0)

    def add_recipients(self, mailbox: str, now: float, count: int) -> None:
        """Count recipients sent now."""
        key = mailbox.lower()
        self._recipients.setdefault(key, deque()).append((now, count))
        self._totals[key] = self._totals.get(key, 0) + count


_HEADER = re.compile(r"^([!-9;-~]+):[ \t]*(.*(?:\r?\n[ \t].*)*)", re.M)
_WANTED = {"from", "subject", "message-id"}
_PLAIN_ADDRESS = re.compile(r"^(?:[^<>]*<\s*([^<>\s]+@[^<>\s]+)\s*>|\s*([^<>\s,]+@[^<>\s,]+))\s*$")


def _address_of(value: str) -> str:
    """The address of a From header: ``Name <a@b>`` or ``a@b`` quickly, anything else by the email package."""
    match = _PLAIN_ADDRESS.match(value)
    if match:
        return match.group(1) or match.group(2)
    return email.utils.parseaddr(value)[1]


def _fold(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _headers(pairs: Sequence[tuple[str, str]]) -> bytes:
    return b"".join(f"{k}: {_fold(v)}\r\n".encode("utf-8", "replace") for k, v in pairs)


class Processor:
    """Carries out delivery for one tenant. Reads the current state through ``state()``."""

    def __init__(self, *, state: Callable[[], TenantScenario], dns: Callable[[], ScenarioDns], store: MailStore,
                 dkim_key: Callable[[str, str], bytes], run_id: str) -> None:
        self._state = state
        self._dns = dns
        self.store = store
        self._dkim_key = dkim_key
        self.run_id = run_id
        self.throttle = Throttle()
        self.spf_cache: dict[tuple[str, str], str] = {}
        self._internal_ids = 725849473299

    # -- helpers -----------------------------------------------------------------------------

    def _read_head(self, spool: BinaryIO) -> tuple[bytes, dict[str, str]]:
        """The header block, and the few header fields delivery needs (unfolded, first of each)."""
        spool.seek(0)
        head = spool.read(MAX_HEADER_BYTES)
        end = head.find(b"\r\n\r\n")
        block = head if end < 0 else head[: end + 4]
        fields: dict[str, str] = {}
        text = block.decode("utf-8", "replace")
        for match in _HEADER.finditer(text):
            name = match.group(1).lower()
            if name in _WANTED and name not in fields:
                fields[name] = " ".join(match.group(2).split())
        return block, fields

    def _whole(self, spool: BinaryIO, size: int) -> bytes | None:
        if size > MAX_SIGN_BYTES:
            return None
        spool.seek(0)
        return spool.read()

    def _received(self, facts: MessageFacts, state: TenantScenario) -> str:
        host = state.servers.submission if facts.endpoint in ("submission", "smtps") else state.servers.mx
        tls = ""
        if facts.tls_version:
            version = facts.tls_version.replace("TLSv", "TLS").replace(".", "_")
            tls = f" (version={version}, cipher={facts.tls_cipher or 'TLS_AES_256_GCM_SHA384'})"
        return (f"from {facts.helo or 'unknown'} ({facts.public_ip}) by {host} (10.167.17.{secrets.randbelow(250) + 2}) "
                f"with Microsoft SMTP Server{tls} id 15.20.8835.12 via Frontend Transport; {_rfc2822(facts.received)}")

    def _dkim_sign(self, state: TenantScenario, domain: str, message: bytes) -> tuple[bytes, str] | None:
        """DKIM-sign outbound mail: with the sender's domain when enabled, else the initial domain."""
        enabled = {d.domain: d for d in state.dkim if d.enabled}
        if domain in enabled:
            sign_domain, selector = domain, enabled[domain].active_selector
        else:
            sign_domain, selector = state.initial_domain, "selector1"
        key = self._dkim_key(sign_domain, selector)
        # Microsoft's selectors live on the initial domain; signatures name the public selector
        # (selector1) of the signing domain, whose CNAME points there.
        try:
            sig = dkim.sign(message, selector.encode(), sign_domain.encode(), key,
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                                             b"content-type"])
        except Exception:
            return None
        return sig, sign_domain

    # -- the message --------------------------------------------------------------------------

    def process(self, facts: MessageFacts) -> Outcome:
        """Deliver (or refuse) one message. Runs on the event loop, or in a thread for big ones."""
        state = self._state()
        dns = self._dns()
        block, head = self._read_head(facts.spool)
        header_from = _address_of(head.get("from", "")) or None
        subject = _fold(head.get("subject", ""))[:500]
        message_id = head.get("message-id", "").strip()
        sender_domain = facts.mail_from.rpartition("@")[2].lower() or state.default_domain
        added: list[tuple[str, str]] = []
        if not message_id:
            message_id = f"<{uuid.uuid4()}@{sender_domain}>"
            added.append(("Message-ID", message_id))
        network_id = str(uuid.uuid4())
        now = facts.received
        out = Outcome(reply=R.NOOP_OK, recipients=[], header_from=header_from, subject=subject,
                      message_id=message_id, network_message_id=network_id)
        submission = facts.endpoint in ("submission", "smtps")
        attribution = facts.attribution
        incoming = not submission and attribution is not None and attribution.kind != "connector"
        folder = "Inbox"
        scl = -1 if not incoming else 1
        auth_results_header = None
        if submission:
            assert facts.identity is not None
            mailbox = facts.identity.mailbox
            ts = now.timestamp()
            rcpt_count = len(facts.recipients)
            refusal, reason = submission_after_data(state, facts.identity, facts.mail_from, header_from, rcpt_count,
                                                    self.throttle.recipients_24h(mailbox, ts))
            if refusal is not None:
                out.reply, out.reason = refusal, reason
                out.recipients = [Recipient(a, refusal.text, False, route, "rejected") for a, route, _m in facts.recipients]
                return out
            self.throttle.add_recipients(mailbox, ts, rcpt_count)
            out.delayed_seconds = self.throttle.schedule(mailbox, ts, state.limits.message_rate_per_minute)
        elif incoming:
            whole = self._whole(facts.spool, facts.size) if b"dkim-signature:" in block.lower() else block
            verdict = content.evaluate(
                dns, ip=facts.public_ip, mail_from=facts.mail_from, helo=facts.helo, header_from=header_from,
                message=whole or b"", accepted_domains={d.name for d in state.accepted_domains} | {state.initial_domain},
                spf_cache=self.spf_cache)
            out.auth_results = verdict.as_dict()
            if verdict.reject is not None:
                out.reply, out.reason = verdict.reject, "DMARC p=reject and the message fails DMARC"
                out.recipients = [Recipient(a, verdict.reject.text, False, route, "rejected")
                                  for a, route, _m in facts.recipients]
                return out
            folder, scl = verdict.folder, verdict.scl
            auth_results_header = content.authentication_results(verdict, facts.public_ip)
        directionality = "Originating" if (submission or (attribution and attribution.kind == "connector")) else "Incoming"
        auth_as = "Internal" if submission else "Anonymous"
        frontend = state.servers.submission if submission else state.servers.mx
        org_headers: list[tuple[str, str]] = [("Received", self._received(facts, state))]
        if auth_results_header:
            org_headers.append(("Authentication-Results", auth_results_header))
        org_headers += [
            ("X-MS-Exchange-Organization-Network-Message-Id", network_id),
            ("X-MS-Exchange-Organization-MessageDirectionality", directionality),
            ("X-MS-Exchange-Organization-AuthAs", auth_as),
            ("X-MS-Exchange-Organization-AuthSource", frontend),
            ("X-MS-Exchange-Organization-SCL", str(scl)),
            ("X-EOPAttributedMessage", "0"),
            ("X-EOPTenantAttributedMessage", f"{state.tenant_id}:0"),
            ("X-Forefront-Antispam-Report",
             f"CIP:{facts.public_ip};CTRY:;LANG:en;SCL:{scl};SRV:;IPV:{'CAL' if scl == -1 else 'NLI'};"
             f"SFV:{'SKN' if scl == -1 else ('SPM' if folder != 'Inbox' else 'NSPM')};H:{facts.helo};PTR:;CAT:NONE;"
             f"SFS:;DIR:{'OUT' if directionality == 'Originating' else 'INB'};"),
        ]
        if attribution is not None and attribution.connector:
            org_headers.append(("X-MS-Exchange-Organization-InboundConnector", attribution.connector))
        if submission and facts.identity is not None:
            org_headers.append(("X-MS-Exchange-Organization-AuthMechanism",
                                "10" if facts.identity.kind == "oauth" else "04"))

        recipients: list[Recipient] = []
        trace: list[TraceEntry] = []
        direction_in = "Inbound" if incoming else "Intra-org"
        delivered_at = now + timedelta(seconds=out.delayed_seconds)
        ext_prefix: bytes | None = None
        ext_auth = ""
        signed_domain: str | None = None
        remote_results: dict[str, str] = {}
        events_base = [event(now, "Receive", "RECEIVE",
                             f"Message received by: {frontend}"
                             + (f" using {facts.tls_version}" if facts.tls_version else "")
                             + (f" via inbound connector '{attribution.connector}'" if attribution and attribution.connector else "")
                             + (f" as {facts.identity.mailbox} ({facts.identity.kind})" if facts.identity else ""))]
        if out.delayed_seconds > 0:
            events_base.append(event(now, "Defer", "DEFER",
                                     f"Submission throttled: over {state.limits.message_rate_per_minute} messages per "
                                     f"minute for this mailbox; delivery delayed {out.delayed_seconds:.0f} seconds"))

        def add_trace(address: str, status: str, events: list[TraceEvent], direction: str, to_ip: str = "") -> None:
            trace.append(TraceEntry(
                message_trace_id=new_trace_id(), received=_iso(now), sender_address=facts.mail_from,
                recipient_address=address, subject=subject, status=status, from_ip=facts.public_ip, to_ip=to_ip,
                size=facts.size, message_id=message_id, session_id=facts.session_id, run_id=self.run_id,
                connector=attribution.connector if attribution else None, direction=direction,
                events=tuple(events)))

        body = self.store.body(facts.spool, facts.size, network_id)
        received_iso = _iso(delivered_at)
        listed_auth = auth_results_header or ""
        listed_from = header_from or facts.mail_from

        def file(address: str, folder_name: str, external: bool, prefix: bytes, auth: str) -> None:
            self.store.deliver(run_id=self.run_id, mailbox=address, folder=folder_name, external=external,
                               received=received_iso, sender=listed_from, subject=subject, message_id=message_id,
                               auth=auth, headers=prefix, body=body)

        internal_prefix = _headers([("Return-Path", f"<{facts.mail_from}>"), *org_headers, *added])

        def deliver_internal(address: str, disposition_folder: str) -> None:
            file(address, disposition_folder, False, internal_prefix, listed_auth)

        for address, route, members in facts.recipients:
            recipient = state.recipient(address)
            if route == "internal" and recipient is not None and recipient.type == "DistributionGroup":
                add_trace(address, "Expanded", [*events_base, event(now, "Expand", "EXPAND",
                          f"Message was expanded to {len(members)} recipients.")], direction_in)
                for member in members:
                    deliver_internal(member, folder)
                    add_trace(member, "FilteredAsSpam" if folder != "Inbox" else "Delivered",
                              [*events_base, event(delivered_at, "Deliver", "DELIVER",
                                                   "The message was successfully delivered." if folder == "Inbox"
                                                   else "The message was delivered to the Junk Email folder.")],
                              direction_in)
                recipients.append(Recipient(address, R.RECIPIENT_OK.text, True, "internal",
                                            "delivered" if folder == "Inbox" else "junk", "expanded"))
                continue
            if route == "internal" and recipient is not None:
                deliver_internal(recipient.address, folder)
                status = "Delivered" if folder == "Inbox" else "FilteredAsSpam"
                events = list(events_base)
                if folder != "Inbox":
                    events.append(event(now, "Spam", "SPAM", f"Spam confidence level: {scl}; composite authentication: "
                                        f"{out.auth_results.get('compauth', '')} reason={out.auth_results.get('reason', '')}"))
                events.append(event(delivered_at, "Deliver", "DELIVER",
                                    "The message was successfully delivered." if folder == "Inbox"
                                    else "The message was delivered to the Junk Email folder."))
                add_trace(recipient.address, status, events, direction_in)
                recipients.append(Recipient(address, R.RECIPIENT_OK.text, True, "internal",
                                            "delivered" if folder == "Inbox" else "junk", folder))
                continue
            domain = address.rpartition("@")[2].lower()
            accepted = state.accepted_domain(domain)
            if route == "internal" and accepted is not None and accepted.type == "Authoritative":
                # accepted at RCPT on client submission, then not found: a 5.1.10 NDR
                add_trace(address, "Failed", [*events_base, event(now, "Fail", "FAIL",
                          f"Reason: [{{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {address} not found "
                          "by SMTP address lookup}]")], direction_in)
                recipients.append(Recipient(address, R.RECIPIENT_OK.text, True, "internal", "failed"))
                continue
            # external (or an InternalRelay domain routed onward): the local internet sink
            exists = any(d.name == domain for d in state.internet) or bool(dns.mx(domain))
            if not exists:
                add_trace(address, "Failed", [*events_base, event(now, "Fail", "FAIL",
                          f"Reason: [{{LED=550 5.4.310 DNS domain {domain} does not exist}}]")], "Outbound")
                recipients.append(Recipient(address, R.RECIPIENT_OK.text, True, "external", "failed"))
                continue
            if ext_prefix is None:
                ext_prefix, signed_domain, remote_results = self._outbound_copy(state, dns, facts, header_from, added)
                ext_auth = ext_prefix.split(b"\r\n", 1)[0].decode("utf-8", "replace").partition(": ")[2]
            file(address, "Inbox", True, ext_prefix, ext_auth)
            mx = dns.mx(domain)
            target_host = mx[0][1] if mx else f"mx.{domain}"
            add_trace(address, "Delivered", [*events_base, event(delivered_at, "Send external", "SEND",
                      f"Message sent to {target_host} at 203.0.113.200 using TLS1.2 with AES256")], "Outbound",
                      "203.0.113.200")
            recipients.append(Recipient(address, R.RECIPIENT_OK.text, True, "external", "delivered", domain))

        if submission and facts.identity is not None:
            sender = state.recipient(facts.identity.mailbox)
            if sender is not None and sender.type != "DistributionGroup":
                file(sender.address, "Sent Items", False, _headers([*org_headers, *added]), "")
        out.recipients = recipients
        out.trace = trace
        out.dkim_signed = signed_domain
        out.auth_results.update({f"remote_{k}": v for k, v in remote_results.items()})
        if submission:
            out.reply = R.submission_ok(message_id, state.servers.mailbox)
        else:
            self._internal_ids += 1
            elapsed = max(0.001, (datetime.now(now.tzinfo) - now).total_seconds())
            out.reply = R.mx_ok(message_id, self._internal_ids, state.servers.mx, facts.size, elapsed)
        return out

    def _outbound_copy(self, state: TenantScenario, dns: ScenarioDns, facts: MessageFacts, header_from: str | None,
                       added: list[tuple[str, str]]) -> tuple[bytes, str | None, dict[str, str]]:
        """Build the headers of the copy an external server receives, DKIM-signed, and that server's verdict."""
        received = [("Received", self._received(facts, state))]
        whole = self._whole(facts.spool, facts.size)
        signed_domain = None
        signature = b""
        if whole is not None:
            base = _headers(added) + whole
            signed = self._dkim_sign(state, (header_from or facts.mail_from).rpartition("@")[2].lower(), base)
            if signed is not None:
                signature, signed_domain = signed
        sender_domain = facts.mail_from.rpartition("@")[2].lower()
        accepted = state.accepted_domain(sender_domain) is not None
        out_ip = OUTBOUND_IP if accepted else RELAY_POOL_IP
        message_for_check = signature + _headers(added) + (whole or b"")
        verdict = content.evaluate(dns, ip=out_ip, mail_from=facts.mail_from, helo=state.servers.mx,
                                   header_from=header_from, message=message_for_check, accepted_domains=set())
        receiver = f"mx.{(header_from or facts.mail_from).rpartition('@')[2] or 'example'}"
        results = content.authentication_results(verdict, out_ip, receiver="remote")
        prefix = _headers([("Authentication-Results", results.replace("remote; ", f"{receiver}; ")),
                           ("Received", f"from {state.servers.mx} ({out_ip}) by {receiver}; {_rfc2822(facts.received)}"),
                           *received]) + signature + _headers(added)
        return prefix, signed_domain, {"spf": verdict.spf, "dkim": verdict.dkim, "dmarc": verdict.dmarc,
                                       "from_ip": out_ip}
