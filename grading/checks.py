"""Provides the check registry: one pure function per rubric check type.

Each function takes the check's spec and the attempt's :class:`Facts` and returns
``(passed, observed)`` — ``observed`` says what decided it, in words a trainee can act on.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grading.rubric import (
    AuditCheck,
    AuthResultsCheck,
    ConnectorCheck,
    DeliveredCheck,
    MessagesCheck,
    NoBasicAuthCheck,
    ReplyCheck,
    SessionCheck,
    TenantCheck,
    TraceCheck,
)
from labs.records import AuditEntry, SessionRecord, TraceEntry, Transaction

__all__ = ["CHECKS", "Facts", "resolve_path"]


@dataclass(frozen=True)
class Facts:
    """Everything a check may look at."""

    records: Sequence[SessionRecord]
    tenant: Mapping[str, Any]
    trace: Sequence[TraceEntry] = ()
    audit: Sequence[AuditEntry] = ()
    delivering: Sequence[SessionRecord] = field(default_factory=tuple)

    @staticmethod
    def build(records: Sequence[SessionRecord], tenant: Mapping[str, Any], trace: Sequence[TraceEntry],
              audit: Sequence[AuditEntry]) -> Facts:
        delivering = tuple(r for r in records if any(_delivered(t) for t in r.transactions))
        return Facts(tuple(records), tenant, tuple(trace), tuple(audit), delivering)


def _delivered(txn: Transaction) -> bool:
    return any(r.disposition in ("delivered", "junk") for r in txn.recipients)


def _match(value: str | None, pattern: str | None) -> bool:
    if pattern is None:
        return True
    return fnmatch.fnmatchcase((value or "").lower(), pattern.lower())


def _loose_equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        norm = {"$true": True, "true": True, "$false": False, "false": False, "$null": None, "null": None}
        a = norm.get(str(actual).lower(), actual) if isinstance(actual, str) else actual
        e = norm.get(str(expected).lower(), expected) if isinstance(expected, str) else expected
        return bool(a == e)
    if isinstance(actual, list | tuple) and not isinstance(expected, list | tuple):
        return any(_loose_equal(a, expected) for a in actual)
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return sorted(str(a).lower() for a in actual) == sorted(str(e).lower() for e in expected)
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return bool(actual == expected)


# -- where each reply came from ---------------------------------------------------------------------


def _stages(record: SessionRecord) -> list[tuple[str, str]]:
    """(stage, reply) for every server line of a session."""
    stage = "CONNECT"
    out = []
    for line in record.transcript:
        if line.dir == "C":
            text = line.text
            if text.startswith(("<message data", "<BDAT")) or text == ".":
                stage = "END"
            elif text == "<redacted>" or stage == "AUTH" and not text[:4].isalpha():
                stage = "AUTH"
            else:
                verb = text.split(" ", 1)[0].upper()
                stage = "EHLO" if verb in ("EHLO", "HELO") else verb
        elif line.dir == "S":
            out.append((stage, line.text))
    return out


# -- the checks ---------------------------------------------------------------------------------------


def check_delivered(spec: DeliveredCheck, facts: Facts) -> tuple[bool, str]:
    hits = []
    for record in facts.records:
        for txn in record.transactions:
            if not _match(txn.mail_from, spec.from_pattern):
                continue
            for r in txn.recipients:
                if not _match(r.address, spec.to):
                    continue
                if r.disposition == "delivered" and spec.folder in ("Inbox", "any"):
                    hits.append(f"{r.address} ({r.folder or 'delivered'})")
                elif r.disposition == "junk" and spec.folder in ("Junk Email", "any"):
                    hits.append(f"{r.address} (Junk Email)")
    for entry in facts.trace:
        if _match(entry.recipient_address, spec.to) and _match(entry.sender_address, spec.from_pattern):
            if (entry.status == "Delivered" and spec.folder in ("Inbox", "any")) or \
                    (entry.status == "FilteredAsSpam" and spec.folder in ("Junk Email", "any")):
                hits.append(f"{entry.recipient_address} (trace: {entry.status})")
    if spec.expect:
        if hits:
            return True, "delivered to " + ", ".join(dict.fromkeys(hits))
        mine = [(t, r) for rec in facts.records for t in rec.transactions
                if _match(t.mail_from, spec.from_pattern) for r in t.recipients if _match(r.address, spec.to)]
        junk = [f"{r.address} went to Junk Email" for _t, r in mine if r.disposition == "junk"]
        junk += [f"{e.recipient_address} went to Junk Email" for e in facts.trace
                 if e.status == "FilteredAsSpam" and _match(e.recipient_address, spec.to)
                 and _match(e.sender_address, spec.from_pattern)]
        failed = [f"{e.recipient_address}: message trace says {e.status}" for e in facts.trace
                  if e.status in ("Failed", "Pending") and _match(e.recipient_address, spec.to)
                  and _match(e.sender_address, spec.from_pattern)]
        seen = [f"{r.address}: {r.reply or r.disposition}" for _t, r in mine]
        observed = "; ".join(dict.fromkeys(junk or failed or seen)) or (
            f"nothing was sent to {spec.to}" + (f" from {spec.from_pattern}" if spec.from_pattern else ""))
        return False, observed
    return (not hits), ("nothing reached " + spec.to) if not hits else "delivered to " + ", ".join(dict.fromkeys(hits))


def check_reply(spec: ReplyCheck, facts: Facts) -> tuple[bool, str]:
    anywhere = [(stage, text) for record in facts.records for stage, text in _stages(record)
                if text.startswith(spec.code)]
    seen = [(stage, text) for stage, text in anywhere if spec.stage == "any" or stage == spec.stage]
    if spec.present:
        if seen:
            return True, f"{seen[0][0]}: {seen[0][1][:160]}"
        if anywhere:
            return False, f"'{spec.code}' came at {anywhere[0][0]}, not at {spec.stage}"
        return False, f"no '{spec.code}' reply was seen"
    return (not seen), (f"{seen[0][0]}: {seen[0][1][:160]}" if seen else f"no '{spec.code}' reply")


_TLS_ORDER = {"TLSv1": 0, "TLSv1.1": 1, "TLSv1.2": 2, "TLSv1.3": 3}


def _session_ok(spec: SessionCheck, r: SessionRecord) -> tuple[bool, str]:
    ok_auth = [a for a in r.auth if a.success]
    problems = []
    if spec.endpoint is not None and r.endpoint != spec.endpoint:
        problems.append(f"used the {r.endpoint} endpoint")
    if spec.port is not None and r.port != spec.port:
        problems.append(f"dialled port {r.port}")
    if spec.tls is not None and (r.tls is not None) != spec.tls:
        problems.append("used TLS" if r.tls else "did not use TLS")
    if spec.tls_min_version is not None:
        version = r.tls.version if r.tls else None
        if version is None or _TLS_ORDER.get(version, -1) < _TLS_ORDER[spec.tls_min_version]:
            problems.append(f"TLS version {version or 'none'}")
    if spec.starttls_before_auth is not None:
        before = bool(ok_auth) and r.tls is not None and all(a.tls and (r.tls.implicit or r.tls.at_line < a.at_line)
                                                             for a in ok_auth)
        if before != spec.starttls_before_auth:
            problems.append("AUTH was not protected by TLS" if spec.starttls_before_auth else "AUTH came after TLS")
    if spec.auth is not None:
        kind = ok_auth[0].kind if ok_auth else "none"
        if kind != spec.auth:
            problems.append(f"authentication was {kind}")
    if spec.auth_mechanism is not None and not any(a.mechanism.upper() == spec.auth_mechanism.upper() for a in ok_auth):
        problems.append(f"no successful AUTH {spec.auth_mechanism}")
    if spec.auth_identity is not None and not any(_match(a.identity, spec.auth_identity) for a in ok_auth):
        problems.append(f"authenticated as {ok_auth[0].identity if ok_auth else 'nobody'}")
    if spec.oauth_app_id is not None and not any((a.app_id or "").lower() == spec.oauth_app_id.lower() for a in ok_auth):
        problems.append("the token was not the expected app's")
    if spec.attribution is not None:
        kinds = {t.attribution for t in r.transactions}
        if spec.attribution not in kinds:
            problems.append(f"attributed as {', '.join(sorted(kinds)) or 'nothing'}")
    if spec.connector is not None and not any(_match(t.connector, spec.connector) for t in r.transactions):
        problems.append(f"matched connector {next((t.connector for t in r.transactions if t.connector), None) or 'none'}")
    if spec.site is not None and r.site != spec.site:
        problems.append(f"came from site {r.site or 'unknown'}")
    if spec.client_cert is not None:
        has = r.tls is not None and r.tls.client_cert is not None
        if has != spec.client_cert:
            problems.append("presented a client certificate" if has else "presented no client certificate")
    return (not problems), "; ".join(problems)


def check_session(spec: SessionCheck, facts: Facts) -> tuple[bool, str]:
    pool: Sequence[SessionRecord] = facts.delivering if spec.scope == "delivering" else facts.records
    if not pool:
        return False, "no session delivered any mail" if spec.scope == "delivering" else "no session"
    results = [_session_ok(spec, r) for r in pool]
    if spec.scope == "any":
        good = [ok for ok, _ in results if ok]
        return (True, "a session met it") if good else (False, results[-1][1])
    bad = [why for ok, why in results if not ok]
    return (not bad), (bad[0] if bad else f"{len(pool)} session{'s' if len(pool) > 1 else ''} met it")


def check_no_basic_auth(spec: NoBasicAuthCheck, facts: Facts) -> tuple[bool, str]:
    tried = [f"AUTH {a.mechanism} as {a.identity}" for r in facts.records for a in r.auth if a.kind == "basic"]
    return (not tried), (tried[0] if tried else "no Basic authentication was tried")


def check_trace(spec: TraceCheck, facts: Facts) -> tuple[bool, str]:
    rows = [e for e in facts.trace if _match(e.recipient_address, spec.recipient) and _match(e.sender_address, spec.sender)]
    hits = [e for e in rows if e.status == spec.status and (spec.connector is None or _match(e.connector, spec.connector))]
    if hits:
        return True, f"{hits[0].recipient_address}: {hits[0].status}" + (f" via {hits[0].connector}" if hits[0].connector else "")
    if rows:
        return False, "trace shows " + ", ".join(f"{e.recipient_address}: {e.status}" for e in rows[:3])
    return False, "message trace has no matching message (rejected at the protocol level, or never sent)"


def resolve_path(state: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """Follow ``a.b[key=value].c`` through plain data; (found, value)."""
    node: Any = state
    for part in re.findall(r"(?:[^.\[]|\[[^\]]*\])+", path):
        selector = None
        if "[" in part and part.endswith("]"):
            part, _, selector = part[:-1].partition("[")
        if part:
            if not isinstance(node, Mapping) or part not in node:
                return False, None
            node = node[part]
        if selector is not None:
            key, _, wanted = selector.partition("=")
            if not isinstance(node, list):
                return False, None
            found = [item for item in node if isinstance(item, Mapping) and str(item.get(key, "")).lower() == wanted.lower()]
            if not found:
                return False, None
            node = found[0]
    return True, node


def check_tenant(spec: TenantCheck, facts: Facts) -> tuple[bool, str]:
    found, value = resolve_path(facts.tenant, spec.path)
    if spec.exists is not None:
        return found == spec.exists, f"{spec.path} {'exists' if found else 'does not exist'}"
    if not found:
        return False, f"{spec.path} does not exist"
    return _loose_equal(value, spec.equals), f"{spec.path} is {value!r}"


def _ip_covered(ip: str, entries: Sequence[str]) -> bool:
    try:
        addr = ipaddress.IPv4Address(ip)
        return any(addr in ipaddress.IPv4Network(e, strict=False) for e in entries)
    except ValueError:
        return False


def _cert_name_covers(pattern: str | None, name: str) -> bool:
    if not pattern:
        return False
    pattern, name = pattern.lower(), name.lower()
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return pattern == name


def check_connector(spec: ConnectorCheck, facts: Facts) -> tuple[bool, str]:
    matches = []
    for c in facts.tenant.get("inbound_connectors", []):
        if spec.sender_ip is not None and not _ip_covered(spec.sender_ip, c.get("sender_ip_addresses", [])):
            continue
        if spec.certificate_name is not None and not _cert_name_covers(c.get("tls_sender_certificate_name"),
                                                                         spec.certificate_name):
            continue
        if spec.connector_type is not None and c.get("connector_type") != spec.connector_type:
            continue
        if spec.require_tls is not None and bool(c.get("require_tls")) != spec.require_tls:
            continue
        if spec.enabled is not None and bool(c.get("enabled", True)) != spec.enabled:
            continue
        matches.append(str(c.get("name")))
    names = [str(c.get("name")) for c in facts.tenant.get("inbound_connectors", [])]
    if spec.expect:
        return bool(matches), (f"connector '{matches[0]}' qualifies" if matches
                               else f"no connector qualifies (connectors: {', '.join(names) or 'none'})")
    return (not matches), (f"connector '{matches[0]}' should not exist" if matches else "no such connector")


def check_audit(spec: AuditCheck, facts: Facts) -> tuple[bool, str]:
    def params_match(entry: AuditEntry) -> bool:
        given = {k.lower(): v for k, v in entry.parameters.items()}
        return all(k.lower() in given and _loose_equal(given[k.lower()], v) for k, v in spec.parameters.items())

    hits = [e for e in facts.audit if e.cmdlet.lower() == spec.cmdlet.lower() and params_match(e)]
    if spec.present:
        return bool(hits), (hits[0].command if hits else f"no {spec.cmdlet} command with those parameters was run")
    return (not hits), (f"ran: {hits[0].command}" if hits else f"no such {spec.cmdlet} command")


def check_auth_results(spec: AuthResultsCheck, facts: Facts) -> tuple[bool, str]:
    for record in facts.records:
        for txn in record.transactions:
            for r in txn.recipients:
                if r.disposition not in ("delivered", "junk") or not _match(r.address, spec.to):
                    continue
                results = dict(txn.auth_results)
                prefix = "remote_" if r.route == "external" else ""
                wanted = {"spf": spec.spf, "dkim": spec.dkim, "dmarc": spec.dmarc}
                got = {k: results.get(prefix + k) for k in wanted}
                bad = [f"{k}={got[k] or 'none'}" for k, v in wanted.items() if v is not None and got[k] != v]
                if spec.dkim_signed_by is not None and (txn.dkim_signed or "").lower() != spec.dkim_signed_by.lower():
                    bad.append(f"DKIM-signed by {txn.dkim_signed or 'nobody'}")
                shown = ", ".join(f"{k}={v}" for k, v in got.items() if v)
                return (not bad), ("; ".join(bad) + f" (results: {shown})" if bad else shown or "ok")
    return False, f"no delivered message to {spec.to} to inspect"


def check_messages(spec: MessagesCheck, facts: Facts) -> tuple[bool, str]:
    accepted = [t for r in facts.records for t in r.transactions if (t.data_reply or "").startswith("250")]
    delayed = [t for t in accepted if t.delayed_seconds > 0]
    problems = []
    if len(accepted) < spec.min:
        problems.append(f"only {len(accepted)} accepted")
    if spec.max is not None and len(accepted) > spec.max:
        problems.append(f"{len(accepted)} accepted")
    if spec.delayed is not None and bool(delayed) != spec.delayed:
        problems.append(f"{len(delayed)} delayed by throttling")
    summary = f"{len(accepted)} accepted, {len(delayed)} delayed"
    return (not problems), ("; ".join(problems) + f" ({summary})" if problems else summary)


CHECKS: dict[str, Callable[[Any, Facts], tuple[bool, str]]] = {
    "delivered": check_delivered,
    "reply": check_reply,
    "session": check_session,
    "no-basic-auth": check_no_basic_auth,
    "trace": check_trace,
    "tenant": check_tenant,
    "connector": check_connector,
    "audit": check_audit,
    "auth-results": check_auth_results,
    "messages": check_messages,
}
"""Check type → function."""
