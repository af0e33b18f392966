"""Provides the Exchange Online and Microsoft Graph cmdlets of the course, over the tenant scenario.

Each cmdlet is a function ``(ctx, params) -> objects``. Reading cmdlets turn scenario values into
objects with Exchange's property names; changing cmdlets build a new, fully re-validated
:class:`~labs.tenant.scenario.TenantScenario` and hand it to ``ctx.commit`` with the changed
object before and after. Nothing here mutates a scenario.

The mapping between Exchange's names (``SmtpClientAuthenticationDisabled``, ``SenderIPAddresses``,
``TlsSenderCertificateName``, ``RequireTls``, ``ConnectorType``, ``RejectDirectSend`` ...) and the
scenario's snake_case fields lives in this module (:data:`CONNECTOR_FIELDS` and the object
builders).

Defaults where the real service leaves a choice open: ``New-InboundConnector`` creates a
Partner connector unless ``-ConnectorType OnPremises`` is given (as Exchange does), and
``-RequireTls`` is ``$false`` unless given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from labs.tenant.admin.binding import Bound, CmdletSpec, MultiValue, ParamSpec
from labs.tenant.admin.errors import PSError
from labs.tenant.admin.format import PSObject
from labs.tenant.dns import ScenarioDns, dkim_selector_host
from labs.tenant.scenario import (
    DkimConfig,
    ExchangeServicePrincipal,
    InboundConnector,
    MailboxPermission,
    Recipient,
    RecipientPermission,
    TenantScenario,
)
from labs.tenant.trace import TraceQuery, TraceQueryError, query_trace

if TYPE_CHECKING:
    from labs.tenant.admin.shell import Context

__all__ = ["CMDLETS", "CONNECTOR_FIELDS", "rebuild", "validated"]

M = TypeVar("M", bound=BaseModel)

EXO = "ExchangeOnlineManagement"
GRAPH = "Microsoft.Graph.Identity.SignIns"

CONNECTOR_FIELDS = {
    "name": "Name",
    "connector_type": "ConnectorType",
    "sender_ip_addresses": "SenderIPAddresses",
    "tls_sender_certificate_name": "TlsSenderCertificateName",
    "sender_domains": "SenderDomains",
    "require_tls": "RequireTls",
    "restrict_domains_to_ip_addresses": "RestrictDomainsToIPAddresses",
    "restrict_domains_to_certificate": "RestrictDomainsToCertificate",
    "enabled": "Enabled",
    "treat_messages_as_internal": "TreatMessagesAsInternal",
    "cloud_services_mail_enabled": "CloudServicesMailEnabled",
    "comment": "Comment",
}
"""Scenario field of an inbound connector → its Exchange parameter and property name."""

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# -- building states --------------------------------------------------------------------------------------


def _message(err: Mapping[str, Any], names: Mapping[str, str]) -> str:
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    for snake, pascal in sorted(names.items(), key=lambda kv: -len(kv[0])):
        msg = msg.replace(snake, pascal)
    return msg


def validated(cls: type[M], data: Mapping[str, Any], names: Mapping[str, str]) -> M:
    """Build a scenario model, turning a validation failure into PowerShell's one-line error.

    Args:
        cls: the model class.
        data: its fields (snake_case).
        names: snake_case field → Exchange parameter name, for the message.

    Raises:
        PSError: ``Cannot validate argument on parameter 'X'. <reason>``.
    """
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ()
        msg = _message(err, names)
        if loc and isinstance(loc[0], str) and loc[0] in names:
            raise PSError(f"Cannot validate argument on parameter '{names[loc[0]]}'. {msg}") from None
        raise PSError(msg[:1].upper() + msg[1:] + ("" if msg.endswith(".") else ".")) from None


def rebuild(state: TenantScenario, **fields: Any) -> TenantScenario:
    """Return ``state`` with some top-level fields replaced, validated as a whole.

    Raises:
        PSError: when the changed tenant does not validate.
    """
    data = {name: getattr(state, name) for name in TenantScenario.model_fields}
    data.update(fields)
    try:
        return TenantScenario.model_validate(data)
    except ValidationError as exc:
        msg = _message(exc.errors()[0], CONNECTOR_FIELDS)
        raise PSError(msg[:1].upper() + msg[1:] + ("" if msg.endswith(".") else ".")) from None


def _not_found(ctx: Context, identity: str) -> PSError:
    return PSError(f"The operation couldn't be performed because object '{identity}' couldn't be found on "
                   f"'{ctx.state.servers.mailbox}'.")


def _unchanged(ctx: Context, identity: str) -> None:
    ctx.warn(f"The command completed successfully but no settings of '{identity}' have been modified.")


# -- objects ------------------------------------------------------------------------------------------------


def _alias(address: str) -> str:
    return address.partition("@")[0]


def _cas_object(r: Recipient) -> PSObject:
    return PSObject("CASMailbox", {
        "Name": _alias(r.address), "Identity": r.address, "DisplayName": r.display_name,
        "PrimarySmtpAddress": r.address, "ActiveSyncEnabled": True, "OWAEnabled": True, "PopEnabled": True,
        "ImapEnabled": True, "MapiEnabled": True, "EwsEnabled": True,
        "SmtpClientAuthenticationDisabled": r.smtp_client_authentication_disabled,
    }, display=("Name", "ActiveSyncEnabled", "OWAEnabled", "PopEnabled", "ImapEnabled", "MapiEnabled",
                "SmtpClientAuthenticationDisabled"), view="table")


def _mailbox_object(r: Recipient) -> PSObject:
    return PSObject("Mailbox", {
        "Name": _alias(r.address), "Alias": _alias(r.address), "Identity": r.address, "DisplayName": r.display_name,
        "PrimarySmtpAddress": r.address, "RecipientTypeDetails": r.type,
        "EmailAddresses": [f"SMTP:{r.address}", *(f"smtp:{a}" for a in r.aliases)],
        "RecipientLimits": r.recipient_limit, "SKUAssigned": r.licensed,
    }, display=("Name", "Alias", "RecipientTypeDetails", "PrimarySmtpAddress"), view="table")


def _connector_object(c: InboundConnector) -> PSObject:
    return PSObject("InboundConnector", {
        "Identity": c.name, "Name": c.name, "Enabled": c.enabled, "ConnectorType": c.connector_type,
        "ConnectorSource": "Default", "Comment": c.comment, "SenderIPAddresses": list(c.sender_ip_addresses),
        "SenderDomains": list(c.sender_domains), "TlsSenderCertificateName": c.tls_sender_certificate_name,
        "RequireTls": c.require_tls, "RestrictDomainsToIPAddresses": c.restrict_domains_to_ip_addresses,
        "RestrictDomainsToCertificate": c.restrict_domains_to_certificate,
        "CloudServicesMailEnabled": c.cloud_services_mail_enabled,
        "TreatMessagesAsInternal": c.treat_messages_as_internal,
    }, display=("Name", "ConnectorType", "Enabled", "SenderIPAddresses", "TlsSenderCertificateName", "RequireTls"),
        view="table")


def _transport_object(state: TenantScenario) -> PSObject:
    t = state.transport_config
    receive, send = state.limits.max_receive_size, state.limits.max_send_size
    return PSObject("TransportConfig", {
        "Identity": "Transport Settings",
        "AllowLegacyTLSClients": t.allow_legacy_tls_clients,
        "MaxRecipientEnvelopeLimit": t.max_recipient_envelope_limit,
        "MaxReceiveSize": f"{receive // 1048576} MB ({receive:,} bytes)",
        "MaxSendSize": f"{send // 1048576} MB ({send:,} bytes)",
        "SmtpClientAuthenticationDisabled": t.smtp_client_authentication_disabled,
    }, view="list")


def _org_object(state: TenantScenario) -> PSObject:
    return PSObject("OrganizationConfig", {
        "Name": state.initial_domain, "DisplayName": state.name, "Identity": state.initial_domain,
        "Guid": state.tenant_id, "RejectDirectSend": state.organization_config.reject_direct_send,
    }, view="list")


# -- Connect / Disconnect -------------------------------------------------------------------------------------


def _connect_exo(ctx: Context, p: Bound) -> list[Any]:
    upn = p.get("UserPrincipalName")
    if upn:
        ctx.session.who = upn
    ctx.session.exchange_connected = True
    if p.get("ShowBanner", True):
        ctx.say(f"Connected to Exchange Online: {ctx.state.name} ({ctx.state.initial_domain}) as "
                f"{ctx.session.who}. This is relaylab's mock tenant; every cmdlet acts on it live.")
    return []


def _disconnect_exo(ctx: Context, p: Bound) -> list[Any]:
    ctx.session.exchange_connected = False
    ctx.say("Disconnected from Exchange Online.")
    return []


def _connect_graph(ctx: Context, p: Bound) -> list[Any]:
    ctx.session.graph_connected = True
    if not p.get("NoWelcome"):
        ctx.say(f"Welcome to Microsoft Graph! Connected to tenant {ctx.state.tenant_id} ({ctx.state.name}) "
                "in relaylab's mock tenant.")
    return []


def _disconnect_graph(ctx: Context, p: Bound) -> list[Any]:
    ctx.session.graph_connected = False
    return []


# -- transport and organisation config ----------------------------------------------------------------------------


def _get_transport(ctx: Context, p: Bound) -> list[Any]:
    return [_transport_object(ctx.state)]


_TRANSPORT = {"SmtpClientAuthenticationDisabled": "smtp_client_authentication_disabled",
              "AllowLegacyTLSClients": "allow_legacy_tls_clients",
              "MaxRecipientEnvelopeLimit": "max_recipient_envelope_limit"}


def _set_transport(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    updates = {field: p[name] for name, field in _TRANSPORT.items() if name in p}
    new = state.transport_config.model_copy(update=updates)
    if new == state.transport_config:
        _unchanged(ctx, "Transport Settings")
        return []
    before = _transport_object(state).props
    config = validated(type(new), new.model_dump(), {v: k for k, v in _TRANSPORT.items()})
    changed = rebuild(state, transport_config=config)
    ctx.commit(changed, target="Transport Settings", before=before, after=_transport_object(changed).props)
    return []


def _get_org(ctx: Context, p: Bound) -> list[Any]:
    return [_org_object(ctx.state)]


def _set_org(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    if "RejectDirectSend" not in p or p["RejectDirectSend"] == state.organization_config.reject_direct_send:
        _unchanged(ctx, state.initial_domain)
        return []
    config = state.organization_config.model_copy(update={"reject_direct_send": p["RejectDirectSend"]})
    changed = rebuild(state, organization_config=config)
    ctx.commit(changed, target=state.initial_domain, before=_org_object(state).props,
               after=_org_object(changed).props)
    return []


# -- mailboxes -----------------------------------------------------------------------------------------------------

_MAILBOX_TYPES = ("UserMailbox", "SharedMailbox")


def _find_recipients(ctx: Context, identity: str, types: Sequence[str]) -> list[Recipient]:
    wanted = identity.strip().lower()
    hits = [r for r in ctx.state.recipients if r.type in types and (
        r.address.lower() == wanted or wanted in (a.lower() for a in r.aliases)
        or _alias(r.address).lower() == wanted or r.display_name.lower() == wanted)]
    return hits


def _one_recipient(ctx: Context, identity: str, types: Sequence[str] = _MAILBOX_TYPES) -> Recipient:
    hits = _find_recipients(ctx, identity, types)
    if not hits:
        raise _not_found(ctx, identity)
    if len(hits) > 1:
        raise PSError(f"The operation couldn't be performed because '{identity}' matches multiple entries.")
    return hits[0]


def _mailboxes(ctx: Context, p: Bound, types: Sequence[str] = _MAILBOX_TYPES) -> list[Recipient]:
    identity = p.get("Identity")
    if identity:
        return [_one_recipient(ctx, identity, types)]
    found = [r for r in ctx.state.recipients if r.type in types]
    limit = p.get("ResultSize")
    if isinstance(limit, int) and len(found) > limit:
        ctx.warn(f"By default only the first {limit} items are returned. Use the ResultSize parameter to specify "
                 "the number of items returned. To return all items, specify \"-ResultSize Unlimited\".")
        found = found[:limit]
    return found


def _get_cas(ctx: Context, p: Bound) -> list[Any]:
    return [_cas_object(r) for r in _mailboxes(ctx, p)]


def _get_mailbox(ctx: Context, p: Bound) -> list[Any]:
    types = p.get("RecipientTypeDetails") or list(_MAILBOX_TYPES)
    return [_mailbox_object(r) for r in _mailboxes(ctx, p, types)]


def _replace_recipient(state: TenantScenario, old: Recipient, new: Recipient) -> TenantScenario:
    return rebuild(state, recipients=[new if r is old else r for r in state.recipients])


def _set_cas(ctx: Context, p: Bound) -> list[Any]:
    mailbox = _one_recipient(ctx, p["Identity"])
    if "SmtpClientAuthenticationDisabled" not in p or \
            p["SmtpClientAuthenticationDisabled"] == mailbox.smtp_client_authentication_disabled:
        _unchanged(ctx, mailbox.address)
        return []
    new = mailbox.model_copy(update={"smtp_client_authentication_disabled": p["SmtpClientAuthenticationDisabled"]})
    changed = _replace_recipient(ctx.state, mailbox, new)
    ctx.invocation[1]["Identity"] = mailbox.address
    ctx.commit(changed, target=mailbox.address, before=_cas_object(mailbox).props, after=_cas_object(new).props)
    return []


def _get_accepted(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    rows = [(d.name, d.type, d.default, False) for d in state.accepted_domains]
    if all(d.name != state.initial_domain for d in state.accepted_domains):
        rows.append((state.initial_domain, "Authoritative", False, True))
    identity = (p.get("Identity") or "").lower()
    out = [PSObject("AcceptedDomain", {"Name": name, "DomainName": name, "DomainType": kind, "Default": default,
                                       "InitialDomain": initial},
                    display=("Name", "DomainName", "DomainType", "Default"), view="table")
           for name, kind, default, initial in rows if not identity or name == identity]
    if identity and not out:
        raise _not_found(ctx, p["Identity"])
    return out


# -- inbound connectors -----------------------------------------------------------------------------------------------


def _one_connector(ctx: Context, identity: str) -> InboundConnector:
    found = ctx.state.connector(identity)
    if found is None:
        raise _not_found(ctx, identity)
    return found


def _get_connector(ctx: Context, p: Bound) -> list[Any]:
    if p.get("Identity"):
        return [_connector_object(_one_connector(ctx, p["Identity"]))]
    return [_connector_object(c) for c in ctx.state.inbound_connectors]


def _connector_data(p: Bound, base: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(base)
    for field, name in CONNECTOR_FIELDS.items():
        if name not in p or name == "Name":
            continue
        value = p[name]
        if isinstance(value, MultiValue):
            value = value.apply(data.get(field) or [])
        elif value is None and field in ("sender_ip_addresses", "sender_domains"):
            value = []
        data[field] = value
    return data


def _new_connector(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    name = p["Name"]
    if state.connector(name) is not None:
        raise PSError(f"An inbound connector with the name \"{name}\" already exists. Choose another name, or change "
                      "the existing one with Set-InboundConnector.")
    if not p.get("SenderDomains"):
        raise PSError("Cannot validate argument on parameter 'SenderDomains'. SenderDomains is required: give the "
                      "domains the connector covers, or * for any domain.")
    data = _connector_data(p, {"name": name, "connector_type": "Partner", "require_tls": False})
    connector = validated(InboundConnector, data, CONNECTOR_FIELDS)
    changed = rebuild(state, inbound_connectors=[*state.inbound_connectors, connector])
    obj = _connector_object(connector)
    ctx.commit(changed, target=connector.name, before=None, after=obj.props)
    return [obj]


def _set_connector(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    old = _one_connector(ctx, p["Identity"])
    ctx.invocation[1]["Identity"] = old.name
    data = _connector_data(p, old.model_dump())
    if "Name" in p:
        other = state.connector(p["Name"])
        if other is not None and other is not old:
            raise PSError(f"An inbound connector with the name \"{p['Name']}\" already exists.")
        data["name"] = p["Name"]
    if "SenderDomains" in p and not data.get("sender_domains"):
        raise PSError("Cannot validate argument on parameter 'SenderDomains'. SenderDomains cannot be empty: give "
                      "the domains the connector covers, or * for any domain.")
    new = validated(InboundConnector, data, CONNECTOR_FIELDS)
    if new == old:
        _unchanged(ctx, old.name)
        return []
    changed = rebuild(state, inbound_connectors=[new if c is old else c for c in state.inbound_connectors])
    ctx.commit(changed, target=old.name, before=_connector_object(old).props, after=_connector_object(new).props)
    return []


def _remove_connector(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    old = _one_connector(ctx, p["Identity"])
    ctx.invocation[1]["Identity"] = old.name
    changed = rebuild(state, inbound_connectors=[c for c in state.inbound_connectors if c is not old])
    ctx.commit(changed, target=old.name, before=_connector_object(old).props, after=None)
    return []


# -- message trace ------------------------------------------------------------------------------------------------


def _trace_entries(ctx: Context) -> list[Any]:
    ctx.tenant.flush()
    try:
        return ctx.tenant.reader().trace()
    except FileNotFoundError:
        return []


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _get_trace(ctx: Context, p: Bound) -> list[Any]:
    query = TraceQuery(
        sender_address=p.get("SenderAddress") or (), recipient_address=p.get("RecipientAddress") or (),
        status=p.get("Status") or (), message_id=p.get("MessageId"), message_trace_id=p.get("MessageTraceId"),
        from_ip=p.get("FromIP"), to_ip=p.get("ToIP"), subject=p.get("Subject"),
        subject_filter_type=p.get("SubjectFilterType", "Contains"), start_date=p.get("StartDate"),
        end_date=p.get("EndDate"), result_size=p.get("ResultSize", 1000),
        starting_recipient_address=p.get("StartingRecipientAddress"))
    if ("StartDate" in p) != ("EndDate" in p):
        raise PSError("Specify both StartDate and EndDate, or neither (the last 48 hours).")
    try:
        rows = query_trace(_trace_entries(ctx), query, ctx.now())
    except TraceQueryError as exc:
        raise PSError(str(exc)) from None
    return [PSObject("MessageTraceV2", {
        "Received": _when(e.received), "SenderAddress": e.sender_address, "RecipientAddress": e.recipient_address,
        "Subject": e.subject, "Status": e.status, "ToIP": e.to_ip or None, "FromIP": e.from_ip, "Size": e.size,
        "MessageId": e.message_id, "MessageTraceId": e.message_trace_id, "Connector": e.connector,
    }, display=("Received", "SenderAddress", "RecipientAddress", "Subject", "Status"), view="table") for e in rows]


def _get_trace_detail(ctx: Context, p: Bound) -> list[Any]:
    trace_id, recipient = p["MessageTraceId"].lower(), p["RecipientAddress"].lower()
    start, end = p.get("StartDate"), p.get("EndDate")
    events = [e.lower() for e in p.get("Event") or []]
    actions = [a.lower() for a in p.get("Action") or []]
    out: list[Any] = []
    for entry in _trace_entries(ctx):
        if entry.message_trace_id.lower() != trace_id or entry.recipient_address.lower() != recipient:
            continue
        for ev in entry.events:
            date = _when(ev.date)
            if (start and date < start) or (end and date > end):
                continue
            if (events and ev.event.lower() not in events) or (actions and ev.action.lower() not in actions):
                continue
            out.append(PSObject("MessageTraceDetailV2", {
                "Date": date, "Event": ev.event, "Action": ev.action, "Detail": ev.detail, "Data": ev.data,
                "MessageId": entry.message_id, "MessageTraceId": entry.message_trace_id,
                "RecipientAddress": entry.recipient_address,
            }, display=("Date", "Event", "Detail"), view="table"))
    return out


# -- service principals and permissions ---------------------------------------------------------------------------


def _guid(name: str, value: str) -> str:
    if not _GUID.match(value.strip()):
        raise PSError(f"Cannot process argument transformation on parameter '{name}'. Cannot convert value "
                      f"\"{value}\" to type \"System.Guid\". Error: \"Guid should contain 32 digits with 4 dashes "
                      "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).\"")
    return value.strip().lower()


def _sp_object(ctx: Context, sp: ExchangeServicePrincipal) -> PSObject:
    return PSObject("ServicePrincipal", {"DisplayName": sp.display_name, "ObjectId": sp.object_id,
                                         "AppId": sp.app_id, "Identity": sp.object_id},
                    display=("DisplayName", "ObjectId", "AppId"), view="table")


def _find_sp(ctx: Context, identity: str) -> ExchangeServicePrincipal | None:
    wanted = identity.strip().lower()
    for sp in ctx.state.service_principals:
        if wanted in (sp.object_id, sp.app_id) or (sp.display_name and sp.display_name.lower() == wanted):
            return sp
    return None


def _new_sp(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    app_id, object_id = _guid("AppId", p["AppId"]), _guid("ObjectId", p["ObjectId"])
    for sp in state.service_principals:
        if sp.app_id == app_id:
            raise PSError(f"A service principal for the application '{app_id}' already exists (ObjectId "
                          f"{sp.object_id}). Remove it with Remove-ServicePrincipal before registering it again.")
        if sp.object_id == object_id:
            raise PSError(f"A service principal with the ObjectId '{object_id}' already exists.")
    app = state.app(app_id)
    name = p.get("DisplayName") or (app.display_name if app else "")
    sp = ExchangeServicePrincipal(app_id=app_id, object_id=object_id, display_name=name)
    changed = rebuild(state, service_principals=[*state.service_principals, sp])
    obj = _sp_object(ctx, sp)
    ctx.commit(changed, target=object_id, before=None, after=obj.props)
    return [obj]


def _get_sp(ctx: Context, p: Bound) -> list[Any]:
    if p.get("Identity"):
        sp = _find_sp(ctx, p["Identity"])
        if sp is None:
            raise _not_found(ctx, p["Identity"])
        return [_sp_object(ctx, sp)]
    return [_sp_object(ctx, sp) for sp in ctx.state.service_principals]


def _remove_sp(ctx: Context, p: Bound) -> list[Any]:
    sp = _find_sp(ctx, p["Identity"])
    if sp is None:
        raise _not_found(ctx, p["Identity"])
    ctx.invocation[1]["Identity"] = sp.object_id
    changed = rebuild(ctx.state, service_principals=[s for s in ctx.state.service_principals if s is not sp])
    ctx.commit(changed, target=sp.object_id, before=_sp_object(ctx, sp).props, after=None)
    return []


def _principal(ctx: Context, identity: str) -> str:
    """Resolve -User/-Trustee: a service principal (its ObjectId) or a recipient (its address)."""
    sp = _find_sp(ctx, identity)
    if sp is not None:
        return sp.object_id
    hits = _find_recipients(ctx, identity, ("UserMailbox", "SharedMailbox", "DistributionGroup"))
    if len(hits) == 1:
        return hits[0].address
    raise _not_found(ctx, identity)


def _perm_object(p: MailboxPermission) -> PSObject:
    return PSObject("MailboxPermission", {"Identity": p.identity, "User": p.user, "AccessRights": [p.access_rights],
                                          "IsInherited": False, "Deny": False},
                    display=("Identity", "User", "AccessRights", "IsInherited", "Deny"), view="table")


def _add_mailbox_permission(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    mailbox = _one_recipient(ctx, p["Identity"])
    user = _principal(ctx, p["User"])
    ctx.invocation[1].update({"Identity": mailbox.address, "User": user})
    out: list[Any] = []
    for right in p["AccessRights"]:
        exists = any(x.identity == mailbox.address and x.user.lower() == user.lower() and x.access_rights == right
                     for x in state.mailbox_permissions)
        if exists:
            ctx.warn(f"An existing permission entry was found for user: {user}.")
            continue
        perm = MailboxPermission(identity=mailbox.address, user=user, access_rights=right)
        state = rebuild(state, mailbox_permissions=[*state.mailbox_permissions, perm])
        ctx.commit(state, target=mailbox.address, before=None, after=_perm_object(perm).props)
        out.append(_perm_object(perm))
    return out


def _get_mailbox_permission(ctx: Context, p: Bound) -> list[Any]:
    mailbox = _one_recipient(ctx, p["Identity"])
    user = _principal(ctx, p["User"]) if p.get("User") else None
    return [_perm_object(x) for x in ctx.state.mailbox_permissions
            if x.identity == mailbox.address and (user is None or x.user.lower() == user.lower())]


def _remove_mailbox_permission(ctx: Context, p: Bound) -> list[Any]:
    mailbox = _one_recipient(ctx, p["Identity"])
    user = _principal(ctx, p["User"])
    ctx.invocation[1].update({"Identity": mailbox.address, "User": user})
    rights = set(p["AccessRights"])
    gone = [x for x in ctx.state.mailbox_permissions
            if x.identity == mailbox.address and x.user.lower() == user.lower() and x.access_rights in rights]
    if not gone:
        ctx.warn(f"Can't remove the access control entry on the object \"{mailbox.address}\" for account "
                 f"\"{user}\" because the ACE doesn't exist on the object.")
        return []
    changed = rebuild(ctx.state, mailbox_permissions=[x for x in ctx.state.mailbox_permissions if x not in gone])
    ctx.commit(changed, target=mailbox.address, before=_perm_object(gone[0]).props, after=None)
    return []


def _recip_object(p: RecipientPermission) -> PSObject:
    return PSObject("RecipientPermission", {"Identity": p.identity, "Trustee": p.trustee, "AccessControlType": "Allow",
                                            "AccessRights": [p.access_rights], "IsInherited": False},
                    display=("Identity", "Trustee", "AccessControlType", "AccessRights"), view="table")


_ANY_RECIPIENT = ("UserMailbox", "SharedMailbox", "DistributionGroup")


def _add_recipient_permission(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    target = _one_recipient(ctx, p["Identity"], _ANY_RECIPIENT)
    trustee = _principal(ctx, p["Trustee"])
    ctx.invocation[1].update({"Identity": target.address, "Trustee": trustee})
    if any(x.identity == target.address and x.trustee.lower() == trustee.lower() for x in state.recipient_permissions):
        ctx.warn(f"The appropriate access control entry is already present on object \"{target.address}\" for "
                 f"account \"{trustee}\".")
        return []
    perm = RecipientPermission(identity=target.address, trustee=trustee)
    changed = rebuild(state, recipient_permissions=[*state.recipient_permissions, perm])
    ctx.commit(changed, target=target.address, before=None, after=_recip_object(perm).props)
    return [_recip_object(perm)]


def _get_recipient_permission(ctx: Context, p: Bound) -> list[Any]:
    target = _one_recipient(ctx, p["Identity"], _ANY_RECIPIENT) if p.get("Identity") else None
    trustee = _principal(ctx, p["Trustee"]) if p.get("Trustee") else None
    return [_recip_object(x) for x in ctx.state.recipient_permissions
            if (target is None or x.identity == target.address)
            and (trustee is None or x.trustee.lower() == trustee.lower())]


def _remove_recipient_permission(ctx: Context, p: Bound) -> list[Any]:
    target = _one_recipient(ctx, p["Identity"], _ANY_RECIPIENT)
    trustee = _principal(ctx, p["Trustee"])
    ctx.invocation[1].update({"Identity": target.address, "Trustee": trustee})
    gone = [x for x in ctx.state.recipient_permissions
            if x.identity == target.address and x.trustee.lower() == trustee.lower()]
    if not gone:
        ctx.warn(f"Can't remove the access control entry on the object \"{target.address}\" for account "
                 f"\"{trustee}\" because the ACE doesn't exist on the object.")
        return []
    changed = rebuild(ctx.state, recipient_permissions=[x for x in ctx.state.recipient_permissions if x not in gone])
    ctx.commit(changed, target=target.address, before=_recip_object(gone[0]).props, after=None)
    return []


# -- DKIM -----------------------------------------------------------------------------------------------------------


def _dkim_object(ctx: Context, state: TenantScenario, d: DkimConfig) -> PSObject:
    cname1 = dkim_selector_host("selector1", d.domain, state.initial_domain)
    cname2 = dkim_selector_host("selector2", d.domain, state.initial_domain)
    status = "Valid" if (not d.enabled or _cnames_published(state, d.domain)) else "CnameMissing"
    return PSObject("DkimSigningConfig", {
        "Domain": d.domain, "Identity": d.domain, "Enabled": d.enabled, "Status": status,
        "Selector1CNAME": cname1, "Selector2CNAME": cname2, "Selector1KeySize": 2048, "Selector2KeySize": 2048,
        "SelectorBeforeRotateOnDate": d.active_selector,
    }, display=("Domain", "Enabled", "Status"), view="table")


def _cnames_published(state: TenantScenario, domain: str) -> bool:
    if domain == state.initial_domain:
        return True
    dns = ScenarioDns(state)
    return all((dns.cname(f"{s}._domainkey.{domain}") or "").lower()
               == dkim_selector_host(s, domain, state.initial_domain).lower() for s in ("selector1", "selector2"))


def _require_cnames(state: TenantScenario, domain: str) -> None:
    if _cnames_published(state, domain):
        return
    hosts = [dkim_selector_host(s, domain, state.initial_domain) for s in ("selector1", "selector2")]
    raise PSError(f"CNAME record does not exist for this config. Publish the following two CNAME records first. "
                  f"Domain Name: {domain}; Host Name: selector1._domainkey, Points to: {hosts[0]}; "
                  f"Host Name: selector2._domainkey, Points to: {hosts[1]}.")


def _one_dkim(ctx: Context, identity: str) -> DkimConfig:
    for d in ctx.state.dkim:
        if d.domain == identity.strip().lower():
            return d
    raise _not_found(ctx, identity)


def _get_dkim(ctx: Context, p: Bound) -> list[Any]:
    if p.get("Identity"):
        return [_dkim_object(ctx, ctx.state, _one_dkim(ctx, p["Identity"]))]
    return [_dkim_object(ctx, ctx.state, d) for d in ctx.state.dkim]


def _new_dkim(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    domain = p["DomainName"].strip().lower()
    if state.accepted_domain(domain) is None:
        raise PSError(f"The domain {domain} isn't an accepted domain of your organization: DKIM signing can be set "
                      "up only for accepted domains.")
    if any(d.domain == domain for d in state.dkim):
        raise PSError(f"A DKIM signing configuration for the domain {domain} already exists. Use "
                      "Set-DkimSigningConfig to change it.")
    if p["Enabled"]:
        _require_cnames(state, domain)
    config = DkimConfig(domain=domain, enabled=p["Enabled"])
    changed = rebuild(state, dkim=[*state.dkim, config])
    obj = _dkim_object(ctx, changed, config)
    ctx.commit(changed, target=domain, before=None, after=obj.props)
    return [obj]


def _set_dkim(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    old = _one_dkim(ctx, p["Identity"])
    ctx.invocation[1]["Identity"] = old.domain
    if "Enabled" not in p or p["Enabled"] == old.enabled:
        _unchanged(ctx, old.domain)
        return []
    if p["Enabled"]:
        _require_cnames(state, old.domain)
    new = old.model_copy(update={"enabled": p["Enabled"]})
    changed = rebuild(state, dkim=[new if d is old else d for d in state.dkim])
    ctx.commit(changed, target=old.domain, before=_dkim_object(ctx, state, old).props,
               after=_dkim_object(ctx, changed, new).props)
    return []


# -- Microsoft Graph: security defaults ------------------------------------------------------------------------------


def _sd_object(state: TenantScenario) -> PSObject:
    return PSObject("MicrosoftGraphIdentitySecurityDefaultsEnforcementPolicy", {
        "Id": "00000000-0000-0000-0000-000000000005", "DisplayName": "Security Defaults",
        "Description": "Baseline sign-in protections from Microsoft: MFA registration and blocking of legacy "
                       "(Basic) authentication.",
        "IsEnabled": state.submission.security_defaults,
    }, display=("DisplayName", "Id", "IsEnabled"), view="table")


def _get_sd(ctx: Context, p: Bound) -> list[Any]:
    return [_sd_object(ctx.state)]


def _update_sd(ctx: Context, p: Bound) -> list[Any]:
    state = ctx.state
    value: Any = p.get("IsEnabled")
    body = p.get("BodyParameter")
    if body is not None:
        keys = {k.lower(): v for k, v in body.items()}
        if "isenabled" not in keys:
            raise PSError("Invalid request body: the body must contain isEnabled.")
        value = keys["isenabled"]
        if not isinstance(value, bool):
            raise PSError(f"Invalid value for isEnabled: \"{value}\" is not a Boolean ($true or $false).")
    if value is None:
        raise PSError("Nothing to update: give -IsEnabled $true or -IsEnabled $false.")
    if value == state.submission.security_defaults:
        return []
    sub = state.submission.model_copy(update={"security_defaults": value})
    changed = rebuild(state, submission=sub)
    ctx.commit(changed, target="Security Defaults", before=_sd_object(state).props, after=_sd_object(changed).props)
    return []


# -- declarations ------------------------------------------------------------------------------------------------------

_CONNECTOR_PARAMS = (
    ParamSpec("ConnectorType", "enum", choices=("OnPremises", "Partner"),
              type_label="Microsoft.Exchange.Data.TenantInboundConnectorType"),
    ParamSpec("TlsSenderCertificateName"),
    ParamSpec("RequireTls", "bool"),
    ParamSpec("RestrictDomainsToIPAddresses", "bool"),
    ParamSpec("RestrictDomainsToCertificate", "bool"),
    ParamSpec("Enabled", "bool"),
    ParamSpec("TreatMessagesAsInternal", "bool"),
    ParamSpec("CloudServicesMailEnabled", "bool"),
    ParamSpec("Comment"),
)

_TRACE_PARAMS = (
    ParamSpec("SenderAddress", "strings"), ParamSpec("RecipientAddress", "strings"), ParamSpec("Status", "strings"),
    ParamSpec("MessageId"), ParamSpec("MessageTraceId"), ParamSpec("FromIP"), ParamSpec("ToIP"), ParamSpec("Subject"),
    ParamSpec("SubjectFilterType", "enum", choices=("Contains", "EndsWith", "StartsWith")),
    ParamSpec("StartDate", "datetime"), ParamSpec("EndDate", "datetime"), ParamSpec("ResultSize", "int"),
    ParamSpec("StartingRecipientAddress"),
)

_Run = Callable[["Context", Bound], list[Any]]


def _spec(name: str, params: Sequence[ParamSpec], run: _Run, *, changes: bool = False, module: str = EXO) -> CmdletSpec:
    return CmdletSpec(name, tuple(params), run, changes_state=changes, module=module)


_IDENTITY = ParamSpec("Identity", position=0, pipeline=True)
_IDENTITY_REQUIRED = ParamSpec("Identity", mandatory=True, position=0, pipeline=True)
_RESULT_SIZE = ParamSpec("ResultSize", "unlimited", minimum=1)

CMDLETS = (
    _spec("Connect-ExchangeOnline", [ParamSpec("UserPrincipalName", position=0), ParamSpec("Organization"),
                                     ParamSpec("AppId"), ParamSpec("CertificateThumbprint"),
                                     ParamSpec("ShowBanner", "switch"), ParamSpec("ShowProgress", "bool"),
                                     ParamSpec("Device", "switch")], _connect_exo),
    _spec("Disconnect-ExchangeOnline", [ParamSpec("Confirm", "switch")], _disconnect_exo),
    _spec("Get-TransportConfig", [], _get_transport),
    _spec("Set-TransportConfig", [ParamSpec("SmtpClientAuthenticationDisabled", "bool"),
                                  ParamSpec("AllowLegacyTLSClients", "bool"),
                                  ParamSpec("MaxRecipientEnvelopeLimit", "unlimited", minimum=1, maximum=1000)],
          _set_transport, changes=True),
    _spec("Get-CASMailbox", [_IDENTITY, _RESULT_SIZE], _get_cas),
    _spec("Set-CASMailbox", [_IDENTITY_REQUIRED, ParamSpec("SmtpClientAuthenticationDisabled", "nullable-bool")],
          _set_cas, changes=True),
    _spec("Get-Mailbox", [_IDENTITY, _RESULT_SIZE,
                          ParamSpec("RecipientTypeDetails", "enums", choices=("UserMailbox", "SharedMailbox"),
                                    type_label="Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails")],
          _get_mailbox),
    _spec("Get-AcceptedDomain", [_IDENTITY], _get_accepted),
    _spec("Get-InboundConnector", [_IDENTITY], _get_connector),
    _spec("New-InboundConnector", [ParamSpec("Name", mandatory=True, position=0),
                                   ParamSpec("SenderDomains", "strings", mandatory=True),
                                   ParamSpec("SenderIPAddresses", "strings"), *_CONNECTOR_PARAMS],
          _new_connector, changes=True),
    _spec("Set-InboundConnector", [_IDENTITY_REQUIRED, ParamSpec("Name"), ParamSpec("SenderDomains", "multivalue"),
                                   ParamSpec("SenderIPAddresses", "multivalue"), *_CONNECTOR_PARAMS],
          _set_connector, changes=True),
    _spec("Remove-InboundConnector", [_IDENTITY_REQUIRED], _remove_connector, changes=True),
    _spec("Get-OrganizationConfig", [], _get_org),
    _spec("Set-OrganizationConfig", [ParamSpec("RejectDirectSend", "bool")], _set_org, changes=True),
    _spec("Get-MessageTraceV2", _TRACE_PARAMS, _get_trace),
    _spec("Get-MessageTraceDetailV2", [ParamSpec("MessageTraceId", mandatory=True, pipeline=True),
                                       ParamSpec("RecipientAddress", mandatory=True, pipeline=True),
                                       ParamSpec("Event", "strings"), ParamSpec("Action", "strings"),
                                       ParamSpec("StartDate", "datetime"), ParamSpec("EndDate", "datetime")],
          _get_trace_detail),
    _spec("New-ServicePrincipal", [ParamSpec("AppId", mandatory=True), ParamSpec("ObjectId", mandatory=True),
                                   ParamSpec("DisplayName")], _new_sp, changes=True),
    _spec("Get-ServicePrincipal", [_IDENTITY], _get_sp),
    _spec("Remove-ServicePrincipal", [_IDENTITY_REQUIRED], _remove_sp, changes=True),
    _spec("Add-MailboxPermission", [_IDENTITY_REQUIRED, ParamSpec("User", mandatory=True),
                                    ParamSpec("AccessRights", "enums", mandatory=True,
                                              choices=("FullAccess", "ReadPermission"),
                                              type_label="Microsoft.Exchange.Management.RecipientTasks.MailboxRights[]"),
                                    ParamSpec("InheritanceType", "enum",
                                              choices=("All", "Children", "Descendents", "None", "SelfAndChildren")),
                                    ParamSpec("AutoMapping", "bool")],
          _add_mailbox_permission, changes=True),
    _spec("Get-MailboxPermission", [ParamSpec("Identity", mandatory=True, position=0, pipeline=True),
                                    ParamSpec("User")], _get_mailbox_permission),
    _spec("Remove-MailboxPermission", [_IDENTITY_REQUIRED, ParamSpec("User", mandatory=True),
                                       ParamSpec("AccessRights", "enums", mandatory=True,
                                                 choices=("FullAccess", "ReadPermission"))],
          _remove_mailbox_permission, changes=True),
    _spec("Add-RecipientPermission", [_IDENTITY_REQUIRED, ParamSpec("Trustee", mandatory=True),
                                      ParamSpec("AccessRights", "enums", mandatory=True, choices=("SendAs",))],
          _add_recipient_permission, changes=True),
    _spec("Get-RecipientPermission", [_IDENTITY, ParamSpec("Trustee")], _get_recipient_permission),
    _spec("Remove-RecipientPermission", [_IDENTITY_REQUIRED, ParamSpec("Trustee", mandatory=True),
                                         ParamSpec("AccessRights", "enums", mandatory=True, choices=("SendAs",))],
          _remove_recipient_permission, changes=True),
    _spec("Get-DkimSigningConfig", [_IDENTITY], _get_dkim),
    _spec("New-DkimSigningConfig", [ParamSpec("DomainName", mandatory=True), ParamSpec("Enabled", "bool", mandatory=True),
                                    ParamSpec("KeySize", "int", minimum=1024, maximum=2048)],
          _new_dkim, changes=True),
    _spec("Set-DkimSigningConfig", [_IDENTITY_REQUIRED, ParamSpec("Enabled", "bool")], _set_dkim, changes=True),
    _spec("Connect-MgGraph", [ParamSpec("Scopes", "strings"), ParamSpec("TenantId"), ParamSpec("ClientId"),
                              ParamSpec("NoWelcome", "switch")], _connect_graph, module="Microsoft.Graph.Authentication"),
    _spec("Disconnect-MgGraph", [], _disconnect_graph, module="Microsoft.Graph.Authentication"),
    _spec("Get-MgPolicyIdentitySecurityDefaultEnforcementPolicy", [], _get_sd, module=GRAPH),
    _spec("Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy",
          [ParamSpec("IsEnabled", "bool"), ParamSpec("BodyParameter", "hashtable")], _update_sd, changes=True,
          module=GRAPH),
)
"""The Exchange Online and Microsoft Graph cmdlets."""
