"""Provides the network cmdlets of the admin shell: Test-NetConnection, Resolve-DnsName, and
relaylab's stand-in for a DNS host's control panel (Get-/Set-/Remove-DnsRecord).

``Test-NetConnection`` answers from the tenant's endpoint table (which real host and port has a
listener) and the scenario's firewall (which site may not reach which port). It tests from the
admin's own network unless ``-Site`` (relaylab's own parameter) names one of the scenario's
sites. ``Resolve-DnsName`` answers from the scenario's simulated DNS, including the DKIM keys the
tenant publishes. There is no Exchange cmdlet for DNS: the SPF, DMARC and DKIM records of the
tenant's own domains are edited with ``Set-DnsRecord`` and ``Remove-DnsRecord``, which say so
in their help.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import TYPE_CHECKING, Any

from labs.tenant.admin.binding import Bound, CmdletSpec, ParamSpec, did_you_mean
from labs.tenant.admin.cmdlets import rebuild, validated
from labs.tenant.admin.errors import PSError
from labs.tenant.admin.format import PSObject
from labs.tenant.dns import ScenarioDns
from labs.tenant.scenario import DnsRecord, TenantScenario

if TYPE_CHECKING:
    from labs.tenant.admin.shell import Context

__all__ = ["CMDLETS", "editable_zone"]

_TTL = 3600
_COMMON_PORTS = {"HTTP": 80, "RDP": 3389, "SMB": 445, "WINRM": 5985}
_DNS_FIELDS = {"name": "Name", "type": "Type", "value": "Value", "priority": "Priority"}


# -- Test-NetConnection ------------------------------------------------------------------------------------


def _known_hosts(ctx: Context) -> dict[str, str]:
    """Host name → the loopback address relaylab maps it to."""
    out: dict[str, str] = {}
    table = ctx.tenant.endpoints
    for ep in [*table.endpoints, *([table.token_endpoint] if table.token_endpoint else [])]:
        for host in ep.hosts:
            out.setdefault(host.lower(), ep.listen_host)
    for record in ctx.state.dns:
        if record.type == "A":
            out.setdefault(record.name, record.value)
    return out


def _test_net_connection(ctx: Context, p: Bound) -> list[Any]:
    host = str(p["ComputerName"]).strip().lower().rstrip(".")
    port = p.get("Port")
    if port is None and p.get("CommonTCPPort"):
        port = _COMMON_PORTS[p["CommonTCPPort"]]
    site_name = p.get("Site")
    site = None
    if site_name:
        site = ctx.state.site(site_name)
        if site is None:
            names = [s.name for s in ctx.state.sites]
            raise PSError(f"Cannot validate argument on parameter 'Site'. The site '{site_name}' is not one of this "
                          f"tenant's sites: {', '.join(names)}.", did_you_mean(site_name, names))
    source = site.source if site else "127.0.0.1"
    known = _known_hosts(ctx)
    address = known.get(host)
    if address is None:
        try:
            address = str(ipaddress.IPv4Address(host))
        except ValueError:
            address = None
    quiet = p.get("InformationLevel") == "Quiet"
    if address is None:
        ctx.warn(f"Name resolution of {p['ComputerName']} failed")
        if quiet:
            return [False]
        return [PSObject("TestNetConnectionResult", {"ComputerName": p["ComputerName"], "RemoteAddress": None,
                                                    "RemotePort": port, "SourceAddress": source,
                                                    "TcpTestSucceeded": False}, view="list")]
    if port is None:
        ctx.warn(f"Ping to {p['ComputerName']} failed with status: TimedOut (Microsoft's servers do not answer "
                 "ping; give -Port to test a TCP port)")
        if quiet:
            return [False]
        return [PSObject("TestNetConnectionResult", {"ComputerName": p["ComputerName"], "RemoteAddress": address,
                                                    "SourceAddress": source, "PingSucceeded": False}, view="list")]
    endpoint = ctx.tenant.endpoints.resolve(host, port)
    token = ctx.tenant.endpoints.token_endpoint
    listening = endpoint is not None or (token is not None and port == token.port and host in token.hosts)
    blocked = any(rule.port == port and ("*" in rule.sites or (site is not None and site.name in rule.sites))
                  for rule in ctx.state.firewall.blocked)
    if endpoint is not None:
        address = endpoint.listen_host
    ok = listening and not blocked
    if not ok:
        ctx.warn(f"TCP connect to ({address} : {port}) failed")
    if quiet:
        return [ok]
    return [PSObject("TestNetConnectionResult", {"ComputerName": p["ComputerName"], "RemoteAddress": address,
                                                "RemotePort": port, "SourceAddress": source,
                                                "TcpTestSucceeded": ok}, view="list")]


# -- Resolve-DnsName -----------------------------------------------------------------------------------------


def _dns(ctx: Context, state: TenantScenario | None = None) -> ScenarioDns:
    pki = ctx.tenant.pki
    return ScenarioDns(state or ctx.state, lambda d, s: pki.dkim_key(d, s)[1])


def _answer(name: str, rtype: str, data: dict[str, Any]) -> PSObject:
    columns = {"MX": ("Name", "Type", "TTL", "Section", "NameExchange", "Preference"),
               "TXT": ("Name", "Type", "TTL", "Section", "Strings"),
               "CNAME": ("Name", "Type", "TTL", "Section", "NameHost"),
               "A": ("Name", "Type", "TTL", "Section", "IPAddress")}[rtype]
    return PSObject("DnsRecord", {"Name": name, "Type": rtype, "TTL": _TTL, "Section": "Answer", **data},
                    display=columns, view="table")


def _resolve_dns(ctx: Context, p: Bound) -> list[Any]:
    name = str(p["Name"]).strip().lower().rstrip(".")
    rtype = p.get("Type", "A")
    dns = _dns(ctx)
    out: list[Any] = []
    target = name
    if rtype != "CNAME":
        seen = 0
        while (alias := dns.cname(target)) is not None and seen < 8:
            out.append(_answer(target, "CNAME", {"NameHost": alias}))
            target, seen = alias, seen + 1
    if rtype == "MX":
        out += [_answer(target, "MX", {"NameExchange": host, "Preference": pref}) for pref, host in dns.mx(target)]
    elif rtype == "TXT":
        out += [_answer(target, "TXT", {"Strings": [text]}) for text in dns.txt(target)]
    elif rtype == "CNAME":
        alias = dns.cname(name)
        if alias is not None:
            out.append(_answer(name, "CNAME", {"NameHost": alias}))
    else:
        addresses = [str(v) for v in dns.lookup(target, "A")]
        if not addresses and target in _known_hosts(ctx):
            addresses = [_known_hosts(ctx)[target]]
        out += [_answer(target, "A", {"IPAddress": a}) for a in addresses]
    if not out and not (dns.exists(name) or name in _known_hosts(ctx)):
        raise PSError(f"{name} : DNS name does not exist")
    return out


# -- Get-/Set-/Remove-DnsRecord ------------------------------------------------------------------------------


def editable_zone(state: TenantScenario, name: str) -> str | None:
    """Return the accepted domain whose zone holds ``name`` (the initial domain is Microsoft's), or None."""
    name = name.lower().rstrip(".")
    for domain in sorted((d.name for d in state.accepted_domains), key=len, reverse=True):
        if domain != state.initial_domain and (name == domain or name.endswith("." + domain)):
            return domain
    return None


def _record_object(r: DnsRecord) -> PSObject:
    return PSObject("DnsRecord", {"Name": r.name, "Type": r.type, "Priority": r.priority if r.type == "MX" else None,
                                  "Value": r.value}, display=("Name", "Type", "Priority", "Value"), view="table")


def _get_records(ctx: Context, p: Bound) -> list[Any]:
    pattern = str(p.get("Name") or "*").lower().rstrip(".")
    rtype = p.get("Type")
    return [_record_object(r) for r in ctx.state.dns
            if fnmatch.fnmatchcase(r.name, pattern) and (rtype is None or r.type == rtype)]


def _tag(value: str) -> str | None:
    head = value.strip().split(";")[0].split(" ")[0].lower()
    return head if head.startswith("v=") else None


def _check_zone(state: TenantScenario, name: str) -> str:
    name = name.strip().lower().rstrip(".")
    if editable_zone(state, name) is None:
        zones = [d.name for d in state.accepted_domains if d.name != state.initial_domain]
        raise PSError(f"The name '{name}' is not in a DNS zone you host: records can be changed under "
                      f"{', '.join(zones)}.")
    return name


def _set_record(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    name = _check_zone(state, p["Name"])
    rtype = p["Type"]
    priority = p.get("Priority", 10 if rtype == "MX" else 0)
    record = validated(DnsRecord, {"name": name, "type": rtype, "value": p["Value"], "priority": priority},
                       _DNS_FIELDS)
    ctx.invocation[1]["Name"] = record.name
    same_name = [r for r in state.dns if r.name == record.name]
    if rtype == "CNAME" and any(r.type != "CNAME" for r in same_name):
        raise PSError(f"A CNAME record cannot be added at '{record.name}' because other records exist there.")
    if rtype != "CNAME" and any(r.type == "CNAME" for r in same_name):
        raise PSError(f"A {rtype} record cannot be added at '{record.name}' because a CNAME record exists there.")
    tag = _tag(record.value) if rtype == "TXT" else None

    def replaced(r: DnsRecord) -> bool:
        if r.name != record.name or r.type != rtype or p.get("Add"):
            return False
        return tag is None or _tag(r.value) == tag

    old = [r for r in state.dns if replaced(r)]
    if old == [record]:
        ctx.warn(f"The command completed successfully but no settings of '{record.name}' have been modified.")
        return []
    kept = [r for r in state.dns if not replaced(r)]
    if record in kept:
        ctx.warn(f"The record already exists at '{record.name}'.")
        return []
    changed = rebuild(state, dns=[*kept, record])
    ctx.commit(changed, target=f"{record.name} {rtype}",
               before={"Records": [_record_object(r).props for r in old]} if old else None,
               after={"Records": [_record_object(record).props]})
    return [_record_object(record)]


def _remove_record(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    name = _check_zone(state, p["Name"])
    rtype = p["Type"]
    value = p.get("Value")
    ctx.invocation[1]["Name"] = name
    gone = [r for r in state.dns if r.name == name and r.type == rtype
            and (value is None or r.value.strip().lower() == value.strip().lower())]
    if not gone:
        raise PSError(f"No {rtype} record at '{name}'" + (f" has the value '{value}'." if value else "."))
    changed = rebuild(state, dns=[r for r in state.dns if r not in gone])
    ctx.commit(changed, target=f"{name} {rtype}", before={"Records": [_record_object(r).props for r in gone]},
               after=None)
    return []


_RECORD_TYPES = ("A", "CNAME", "MX", "TXT")

CMDLETS = (
    CmdletSpec("Test-NetConnection", (
        ParamSpec("ComputerName", mandatory=True, position=0), ParamSpec("Port", "int", position=1, minimum=1,
                                                                        maximum=65535),
        ParamSpec("CommonTCPPort", "enum", choices=tuple(_COMMON_PORTS)),
        ParamSpec("InformationLevel", "enum", choices=("Detailed", "Quiet")),
        ParamSpec("Site")), _test_net_connection, module="NetTCPIP"),
    CmdletSpec("Resolve-DnsName", (
        ParamSpec("Name", mandatory=True, position=0),
        ParamSpec("Type", "enum", position=1, choices=_RECORD_TYPES, type_label="Microsoft.DnsClient.Commands.RecordType"),
        ParamSpec("Server", "strings"), ParamSpec("DnsOnly", "switch")), _resolve_dns, module="DnsClient"),
    CmdletSpec("Get-DnsRecord", (ParamSpec("Name", position=0), ParamSpec("Type", "enum", choices=_RECORD_TYPES)),
               _get_records, module="relaylab"),
    CmdletSpec("Set-DnsRecord", (
        ParamSpec("Name", mandatory=True, position=0), ParamSpec("Type", "enum", mandatory=True, choices=_RECORD_TYPES),
        ParamSpec("Value", mandatory=True), ParamSpec("Priority", "int", minimum=0, maximum=65535),
        ParamSpec("Add", "switch")), _set_record, changes_state=True, module="relaylab"),
    CmdletSpec("Remove-DnsRecord", (
        ParamSpec("Name", mandatory=True, position=0), ParamSpec("Type", "enum", mandatory=True, choices=_RECORD_TYPES),
        ParamSpec("Value")), _remove_record, changes_state=True, module="relaylab"),
)
"""The network and DNS cmdlets."""
