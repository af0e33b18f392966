"""Provides the Get-Help (and ``-?``) texts of the admin shell's cmdlets, written for the course.

Each entry has a synopsis, a description, one line per parameter and examples. Where relaylab
differs from the real service (defaults it chooses, parameters of its own such as
``Test-NetConnection -Site``, the DNS stand-in cmdlets) the text says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from textwrap import wrap

from labs.tenant.admin.binding import CmdletSpec, ParamSpec

__all__ = ["HELP", "Help", "render_help", "render_overview", "syntax"]


@dataclass(frozen=True)
class Help:
    """The help of one cmdlet."""

    synopsis: str
    description: str
    parameters: dict[str, str] = field(default_factory=dict)
    examples: tuple[tuple[str, str], ...] = ()


_COMMON = {
    "Verbose": "Accepted for compatibility; relaylab prints nothing extra.",
    "Debug": "Accepted for compatibility; relaylab prints nothing extra.",
    "ErrorAction": "Accepted for compatibility; an error always stops the command line and changes nothing.",
    "WarningAction": "Accepted for compatibility; warnings are always shown.",
    "Confirm": "Accepted; relaylab never asks for confirmation (as with -Confirm:$false).",
    "WhatIf": "Shows what the command would change, and changes nothing.",
}

_CONNECTOR = {
    "ConnectorType": "OnPremises: mail from your own organisation's servers and devices; it may relay to external "
                     "recipients. Partner: mail from a partner organisation; it cannot relay. Default: Partner.",
    "SenderIPAddresses": "Public IPv4 addresses or CIDR ranges the sender connects from. Masks from /24 to /32 "
                         "only; IPv6 is not supported.",
    "SenderDomains": "Sender domains the connector covers; * for any domain, *.contoso.com for a domain and its "
                     "subdomains (a wildcard only at the left).",
    "TlsSenderCertificateName": "Domain expected in the sender's TLS certificate (subject or SAN), for example "
                                "*.contoso.com. The wildcard is allowed only as the leftmost label.",
    "RequireTls": "$true rejects messages that are not sent over TLS. relaylab's default: $false.",
    "RestrictDomainsToIPAddresses": "Partner connectors: reject mail from the SenderDomains when it does not come "
                                    "from the SenderIPAddresses.",
    "RestrictDomainsToCertificate": "Partner connectors: reject mail from the SenderDomains unless the TLS "
                                    "certificate matches TlsSenderCertificateName.",
    "Enabled": "$false keeps the connector but makes it match nothing.",
    "TreatMessagesAsInternal": "OnPremises only: treat the mail as internal to the organisation (it skips "
                               "anti-spam, so use it only for hybrid setups).",
    "CloudServicesMailEnabled": "Hybrid only: keep Exchange's internal X-MS-Exchange-Organization headers across "
                                "premises. Set by the Hybrid Configuration Wizard, not by hand.",
    "Comment": "A note about the connector.",
}

_TRACE = {
    "SenderAddress": "Sender addresses to match (wildcards such as *@contoso.com allowed).",
    "RecipientAddress": "Recipient addresses to match (wildcards allowed).",
    "Status": "Delivered, Expanded, Failed, FilteredAsSpam, GettingStatus, None, Pending or Quarantined.",
    "MessageId": "The Message-ID header of the message (angle brackets optional).",
    "MessageTraceId": "The trace id (a GUID) of one message.",
    "FromIP": "The public IP the message came from.",
    "ToIP": "The IP the message was sent to (blank for inbound mail).",
    "Subject": "Text to look for in the subject (see SubjectFilterType).",
    "SubjectFilterType": "Contains (default), StartsWith or EndsWith.",
    "StartDate": "Start of the window (UTC). Give it together with EndDate; at most 10 days, at most 90 days ago.",
    "EndDate": "End of the window (UTC). Without dates the last 48 hours are searched.",
    "ResultSize": "Rows to return: 1 to 5000, default 1000.",
    "StartingRecipientAddress": "Continue a long result after this recipient (with EndDate of the last row).",
}

HELP: dict[str, Help] = {
    "Connect-ExchangeOnline": Help(
        "Opens the Exchange Online admin session.",
        "In relaylab you are already the tenant's administrator, so Exchange cmdlets work without it; running it "
        "prints the connection line and makes -UserPrincipalName the name recorded in the audit log.",
        {"UserPrincipalName": "The admin account to sign in as.", "Organization": "The tenant's initial domain "
         "(app-only sign-in).", "AppId": "Application id for app-only sign-in.",
         "CertificateThumbprint": "Certificate for app-only sign-in.", "ShowBanner": "-ShowBanner:$false hides the "
         "connection line.", "ShowProgress": "Accepted; nothing to show.", "Device": "Device-code sign-in "
         "(nothing to do in relaylab)."},
        (("Connect-ExchangeOnline -UserPrincipalName admin@contoso.onmicrosoft.com", "Sign in as that admin."),)),
    "Disconnect-ExchangeOnline": Help("Closes the Exchange Online admin session.",
                                      "Ends the session opened by Connect-ExchangeOnline.", {},
                                      (("Disconnect-ExchangeOnline -Confirm:$false", "Disconnect without a prompt."),)),
    "Get-TransportConfig": Help(
        "Shows the organisation's transport settings.",
        "Includes SmtpClientAuthenticationDisabled (SMTP AUTH for the whole organisation), AllowLegacyTLSClients "
        "and MaxRecipientEnvelopeLimit.", {},
        (("Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled", "Is SMTP AUTH off for everyone?"),)),
    "Set-TransportConfig": Help(
        "Changes the organisation's transport settings.",
        "SmtpClientAuthenticationDisabled is the organisation-wide SMTP AUTH switch: $true turns client "
        "submission off for every mailbox that does not override it with Set-CASMailbox. Prefer enabling SMTP "
        "AUTH for the one mailbox that needs it.",
        {"SmtpClientAuthenticationDisabled": "$true: SMTP AUTH off for the organisation; $false: on.",
         "AllowLegacyTLSClients": "$true lets TLS 1.0/1.1 clients use smtp-legacy.office365.com.",
         "MaxRecipientEnvelopeLimit": "Recipients per message for the organisation: 1 to 1000, or Unlimited."},
        (("Set-TransportConfig -SmtpClientAuthenticationDisabled $true", "Keep SMTP AUTH off for everyone."),)),
    "Get-CASMailbox": Help(
        "Shows the client access settings of mailboxes, including SMTP AUTH.",
        "SmtpClientAuthenticationDisabled is $true (off), $false (on) or empty (follows Get-TransportConfig).",
        {"Identity": "Mailbox address, alias or name. Without it every mailbox is listed.",
         "ResultSize": "How many mailboxes to return, or Unlimited."},
        (("Get-CASMailbox -Identity app@contoso.com | Format-List SmtpClientAuthenticationDisabled",
          "Is SMTP AUTH on for that mailbox?"),)),
    "Set-CASMailbox": Help(
        "Changes the client access settings of a mailbox, such as SMTP AUTH.",
        "The mailbox value wins over the organisation's: -SmtpClientAuthenticationDisabled $false turns SMTP AUTH "
        "on for this mailbox even when the organisation has it off; $null makes the mailbox follow the "
        "organisation again.",
        {"Identity": "The mailbox (address, alias or name). Can come from the pipeline.",
         "SmtpClientAuthenticationDisabled": "$true: off; $false: on; $null: follow the organisation."},
        (("Set-CASMailbox -Identity app@contoso.com -SmtpClientAuthenticationDisabled $false",
          "Turn SMTP AUTH on for this one mailbox."),)),
    "Get-Mailbox": Help(
        "Lists mailboxes.", "Shows user and shared mailboxes with their addresses and types.",
        {"Identity": "Mailbox address, alias or name.", "ResultSize": "How many to return, or Unlimited.",
         "RecipientTypeDetails": "UserMailbox or SharedMailbox."},
        (("Get-Mailbox -RecipientTypeDetails SharedMailbox", "Only shared mailboxes."),)),
    "Get-AcceptedDomain": Help(
        "Lists the domains the tenant accepts mail for.",
        "Authoritative domains reject unknown recipients; InternalRelay domains pass them on. The initial "
        "*.onmicrosoft.com domain is always there.", {"Identity": "One domain."},
        (("Get-AcceptedDomain", "All accepted domains."),)),
    "Get-InboundConnector": Help(
        "Lists inbound connectors.", "Shows how each connector recognises senders (IP addresses or certificate).",
        {"Identity": "The connector's name."},
        (("Get-InboundConnector | Format-List Name,ConnectorType,SenderIPAddresses,RequireTls", "Review them."),)),
    "New-InboundConnector": Help(
        "Creates an inbound connector.",
        "An OnPremises connector that matches a device's public IP (or its TLS certificate) lets the device relay "
        "mail from your accepted domains to any recipient through the MX endpoint. Name and SenderDomains are "
        "required.",
        {"Name": "A name that is unique in the tenant.", **_CONNECTOR},
        (("New-InboundConnector -Name \"HQ printers\" -ConnectorType OnPremises -SenderDomains * "
          "-SenderIPAddresses 203.0.113.10 -RequireTls $false", "Let the head office relay from its public IP."),
         ("New-InboundConnector -Name \"Branch cert\" -ConnectorType OnPremises -SenderDomains * "
          "-TlsSenderCertificateName *.contoso.com -RequireTls $true", "Recognise senders by certificate."))),
    "Set-InboundConnector": Help(
        "Changes an inbound connector.",
        "Multi-valued properties take a whole new list, or @{Add=\"...\"} and @{Remove=\"...\"} to change "
        "single entries.",
        {"Identity": "The connector to change (its name).", "Name": "A new name.", **_CONNECTOR},
        (("Set-InboundConnector \"HQ printers\" -SenderIPAddresses @{Add=\"203.0.113.11\"}", "Add one address."),)),
    "Remove-InboundConnector": Help("Deletes an inbound connector.", "The connector stops matching at once.",
                                    {"Identity": "The connector's name."},
                                    (("Remove-InboundConnector \"Old relay\" -Confirm:$false", "Delete it."),)),
    "Get-OrganizationConfig": Help("Shows organisation settings, including RejectDirectSend.",
                                   "RejectDirectSend $true refuses anonymous mail from your own domains that no "
                                   "connector matches.", {},
                                   (("Get-OrganizationConfig | Select RejectDirectSend", "Is Direct Send refused?"),)),
    "Set-OrganizationConfig": Help(
        "Changes organisation settings.",
        "RejectDirectSend $true makes the MX endpoint refuse anonymous mail (Direct Send) whose sender is in an "
        "accepted domain, unless a connector matches the sender. Devices that must keep sending need a connector. "
        "relaylab applies it at once (the real service takes up to 30 minutes).",
        {"RejectDirectSend": "$true refuses unauthenticated mail from your domains; $false allows it."},
        (("Set-OrganizationConfig -RejectDirectSend $true", "Turn on Reject Direct Send."),)),
    "Get-MessageTraceV2": Help(
        "Searches message trace.",
        "Shows what happened to messages that Exchange Online accepted. Messages refused during the SMTP "
        "conversation are not in trace. Without dates, the last 48 hours are searched.",
        _TRACE,
        (("Get-MessageTraceV2 -SenderAddress printer@contoso.com | Select Received,RecipientAddress,Status",
          "What happened to the printer's mail?"),
         ("Get-MessageTraceV2 -StartDate (Get-Date).AddDays(-2) -EndDate (Get-Date) -Status Failed", "Failures."))),
    "Get-MessageTraceDetailV2": Help(
        "Shows the events of one traced message for one recipient.",
        "Pipe rows of Get-MessageTraceV2 into it, or give MessageTraceId and RecipientAddress.",
        {"MessageTraceId": "The trace id from Get-MessageTraceV2.", "RecipientAddress": "The recipient.",
         "Event": "Only these events (Receive, Deliver, Fail ...).", "Action": "Only these actions.",
         "StartDate": "Earliest event.", "EndDate": "Latest event."},
        (("Get-MessageTraceV2 -RecipientAddress adele.vance@contoso.com | Get-MessageTraceDetailV2",
          "Every event of those messages."),)),
    "New-ServicePrincipal": Help(
        "Registers a Microsoft Entra application with Exchange Online.",
        "Needed before an app can send with an app-only OAuth token. ObjectId must be the object id of the "
        "enterprise application (service principal), not of the app registration; the wrong one makes the app's "
        "AUTH fail.",
        {"AppId": "The application (client) id.", "ObjectId": "The enterprise application's object id.",
         "DisplayName": "A name (defaults to the app's)."},
        (("New-ServicePrincipal -AppId <application id> -ObjectId <enterprise app object id>", "Register it."),)),
    "Get-ServicePrincipal": Help("Lists the service principals registered in Exchange Online.", "", {
        "Identity": "ObjectId, AppId or display name."}, (("Get-ServicePrincipal", "All of them."),)),
    "Remove-ServicePrincipal": Help("Removes a service principal from Exchange Online.",
                                    "Use it to fix a registration made with the wrong ObjectId.",
                                    {"Identity": "ObjectId, AppId or display name."},
                                    (("Remove-ServicePrincipal -Identity <object id>", "Remove it."),)),
    "Add-MailboxPermission": Help(
        "Grants a user or service principal access to a mailbox.",
        "An app that sends as a mailbox with an app-only token needs FullAccess on that mailbox for its service "
        "principal.",
        {"Identity": "The mailbox.", "User": "A user's address, or a service principal's ObjectId, AppId or name.",
         "AccessRights": "FullAccess or ReadPermission.", "InheritanceType": "Accepted; relaylab stores All.",
         "AutoMapping": "Accepted; has no effect in relaylab."},
        (("Add-MailboxPermission -Identity app@contoso.com -User <service principal id> -AccessRights FullAccess",
          "Let the app use the mailbox."),)),
    "Get-MailboxPermission": Help("Lists the permissions granted on a mailbox.", "",
                                  {"Identity": "The mailbox.", "User": "Only this user or service principal."},
                                  (("Get-MailboxPermission app@contoso.com", "Who has access?"),)),
    "Remove-MailboxPermission": Help("Removes a mailbox permission.", "",
                                     {"Identity": "The mailbox.", "User": "The user or service principal.",
                                      "AccessRights": "The right to remove."},
                                     (("Remove-MailboxPermission app@contoso.com -User x@contoso.com "
                                       "-AccessRights FullAccess", "Remove it."),)),
    "Add-RecipientPermission": Help(
        "Grants Send As on a recipient.",
        "Lets the trustee send mail whose From is the recipient's address (for example a device that logs in as "
        "one mailbox and sends as a shared one).",
        {"Identity": "The address to send as.", "Trustee": "Who may send as it (address or service principal).",
         "AccessRights": "SendAs."},
        (("Add-RecipientPermission -Identity scans@contoso.com -Trustee app@contoso.com -AccessRights SendAs",
          "Let app@ send as scans@."),)),
    "Get-RecipientPermission": Help("Lists Send As permissions.", "",
                                    {"Identity": "The recipient.", "Trustee": "Only this trustee."},
                                    (("Get-RecipientPermission scans@contoso.com", "Who may send as it?"),)),
    "Remove-RecipientPermission": Help("Removes a Send As permission.", "",
                                       {"Identity": "The recipient.", "Trustee": "The trustee.",
                                        "AccessRights": "SendAs."},
                                       (("Remove-RecipientPermission scans@contoso.com -Trustee app@contoso.com "
                                         "-AccessRights SendAs", "Remove it."),)),
    "Get-DkimSigningConfig": Help(
        "Shows DKIM signing per domain.",
        "Selector1CNAME and Selector2CNAME are the targets of the two CNAME records to publish at "
        "selector1._domainkey and selector2._domainkey of the domain.",
        {"Identity": "The domain."}, (("Get-DkimSigningConfig contoso.com | Format-List *", "Everything."),)),
    "New-DkimSigningConfig": Help(
        "Creates DKIM signing for an accepted domain.",
        "Enabling it needs both selector CNAME records published in the domain's DNS first (see Set-DnsRecord).",
        {"DomainName": "An accepted domain.", "Enabled": "$true to sign from now on.",
         "KeySize": "1024 or 2048 (relaylab always uses 2048)."},
        (("New-DkimSigningConfig -DomainName legacy.contoso.com -Enabled $false", "Create it, off."),)),
    "Set-DkimSigningConfig": Help("Turns DKIM signing on or off for a domain.",
                                  "Turning it on checks that both selector CNAME records are published.",
                                  {"Identity": "The domain.", "Enabled": "$true or $false."},
                                  (("Set-DkimSigningConfig -Identity contoso.com -Enabled $true", "Sign."),)),
    "Connect-MgGraph": Help("Opens a Microsoft Graph session.",
                            "Optional in relaylab: the Mg cmdlets work without it.",
                            {"Scopes": "Permissions to ask for, e.g. Policy.ReadWrite.ConditionalAccess.",
                             "TenantId": "The tenant.", "ClientId": "An app id.", "NoWelcome": "No welcome line."},
                            (("Connect-MgGraph -Scopes Policy.ReadWrite.ConditionalAccess", "Sign in."),)),
    "Disconnect-MgGraph": Help("Closes the Microsoft Graph session.", "", {}, (("Disconnect-MgGraph", "Sign out."),)),
    "Get-MgPolicyIdentitySecurityDefaultEnforcementPolicy": Help(
        "Shows whether Microsoft Entra security defaults are on.",
        "Security defaults block Basic authentication (AUTH LOGIN with a password) but not OAuth.", {},
        (("Get-MgPolicyIdentitySecurityDefaultEnforcementPolicy | Select IsEnabled", "On or off?"),)),
    "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy": Help(
        "Turns Microsoft Entra security defaults on or off.",
        "Turning them off re-allows Basic authentication where nothing else blocks it. Prefer moving the client to "
        "OAuth.",
        {"IsEnabled": "$true or $false.", "BodyParameter": "A hashtable such as @{IsEnabled=$false}."},
        (("Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false", "Turn them off."),)),
    "Test-NetConnection": Help(
        "Tests whether a TCP port of a host can be reached.",
        "Answers from relaylab's endpoint table (which Microsoft host and port listens) and the scenario's "
        "firewall. -Site is relaylab's own parameter: test from one of the scenario's sites (hq-office, "
        "branch-leeds ...) instead of the admin's own network.",
        {"ComputerName": "The host, e.g. contoso-com.mail.protection.outlook.com.", "Port": "The TCP port.",
         "CommonTCPPort": "HTTP, RDP, SMB or WINRM instead of a number.",
         "InformationLevel": "Quiet returns just True or False.",
         "Site": "relaylab: the site to test from (default: the admin's own network)."},
        (("Test-NetConnection -ComputerName smtp.office365.com -Port 587", "Can we reach client submission?"),
         ("Test-NetConnection contoso-com.mail.protection.outlook.com -Port 25 -Site branch-leeds",
          "Is port 25 blocked at the branch?"))),
    "Resolve-DnsName": Help(
        "Looks up DNS records.", "Answers from the scenario's simulated DNS (nothing leaves the machine).",
        {"Name": "The name to look up.", "Type": "A (default), MX, TXT or CNAME.",
         "Server": "Accepted; every answer comes from the simulated DNS.", "DnsOnly": "Accepted."},
        (("Resolve-DnsName contoso.com -Type MX", "Where does contoso.com's mail go?"),
         ("Resolve-DnsName _dmarc.contoso.com -Type TXT", "The DMARC policy."))),
    "Get-DnsRecord": Help(
        "relaylab: lists the records of the simulated DNS.",
        "Not an Exchange cmdlet: relaylab's stand-in for your DNS host's control panel.",
        {"Name": "Name or wildcard pattern.", "Type": "A, CNAME, MX or TXT."},
        (("Get-DnsRecord *contoso.com -Type TXT", "SPF and DMARC records."),)),
    "Set-DnsRecord": Help(
        "relaylab: creates or replaces a DNS record of one of your domains.",
        "Not an Exchange cmdlet: relaylab's stand-in for your DNS host's control panel, for the zones of your "
        "accepted domains. It replaces the records of that name and type; for TXT records that start with a "
        "version tag (v=spf1, v=DMARC1) only the record with the same tag is replaced. -Add keeps the others.",
        {"Name": "The record's name, e.g. _dmarc.contoso.com.", "Type": "A, CNAME, MX or TXT.",
         "Value": "The data: text for TXT, a host for MX and CNAME, an IPv4 address for A.",
         "Priority": "MX preference (default 10).", "Add": "Add a record instead of replacing."},
        (("Set-DnsRecord -Name _dmarc.contoso.com -Type TXT -Value \"v=DMARC1; p=reject\"", "Publish DMARC."),
         ("Set-DnsRecord -Name contoso.com -Type TXT -Value \"v=spf1 ip4:203.0.113.10 include:spf.protection."
          "outlook.com -all\"", "Replace the SPF record."))),
    "Remove-DnsRecord": Help(
        "relaylab: deletes DNS records of one of your domains.",
        "Not an Exchange cmdlet: relaylab's stand-in for your DNS host's control panel.",
        {"Name": "The record's name.", "Type": "A, CNAME, MX or TXT.",
         "Value": "Only the record with this value (default: all of that name and type)."},
        (("Remove-DnsRecord -Name _dmarc.contoso.com -Type TXT", "Delete the DMARC record."),)),
    "Select-Object": Help("Picks properties (or the first/last objects) of the pipeline.", "",
                          {"Property": "Property names; * for all.", "ExpandProperty": "Output one property's values.",
                           "First": "Only the first N.", "Last": "Only the last N.", "Skip": "Skip N.",
                           "Unique": "Drop duplicates.", "InputObject": "Objects to process."},
                          (("Get-MessageTraceV2 | Select Received,RecipientAddress,Status", "Three columns."),)),
    "Where-Object": Help(
        "Keeps the pipeline objects that match a condition.",
        "A script block of comparisons ({$_.Status -eq 'Delivered'}, joined with -and, -or, -not) or the short "
        "form Where-Object Status -eq Delivered. Operators: -eq -ne -gt -ge -lt -le -like -notlike -match "
        "-notmatch -contains -notcontains -in -notin (case-insensitive; -ceq ... are case-sensitive).",
        {"FilterScript": "The condition in { }.", "Property": "Short form: the property.",
         "Value": "Short form: the value.", **{op: f"Short form: the -{op.lower()} comparison." for op in (
             "EQ", "NE", "GT", "GE", "LT", "LE", "Like", "NotLike", "Match", "NotMatch", "Contains", "NotContains",
             "In", "NotIn", "CEQ", "CNE", "CLike", "CMatch")}, "InputObject": "Objects to process."},
        (("Get-CASMailbox | Where-Object {$_.SmtpClientAuthenticationDisabled -eq $false}", "SMTP AUTH on."),)),
    "Sort-Object": Help("Sorts the pipeline.", "", {"Property": "Properties to sort by.",
                                                    "Descending": "Largest first.", "Unique": "Drop duplicates."},
                        (("Get-MessageTraceV2 | Sort-Object Received", "Oldest first."),)),
    "Format-Table": Help("Shows objects as a table.", "", {"Property": "Columns.", "AutoSize": "Accepted.",
                                                           "Wrap": "Accepted."},
                         (("Get-InboundConnector | Format-Table Name,Enabled,RequireTls", "A table."),)),
    "Format-List": Help("Shows objects as Name : value lists.", "", {"Property": "Properties; * for all."},
                        (("Get-TransportConfig | Format-List *", "Every property."),)),
    "Get-Help": Help("Shows help about a cmdlet (also: CMDLET -?).", "Without a name, lists every cmdlet.",
                     {"Name": "The cmdlet.", "Parameter": "Only this parameter.", "Full": "Everything.",
                      "Detailed": "Everything.", "Examples": "Only the examples."},
                     (("Get-Help New-InboundConnector -Examples", "Examples."),)),
    "Get-Command": Help("Lists the cmdlets of the shell.", "", {"Name": "Names or patterns.", "Verb": "A verb.",
                                                                "Noun": "A noun pattern.", "Module": "A module."},
                        (("Get-Command *Connector*", "Connector cmdlets."),)),
    "Write-Output": Help("Sends values down the pipeline (what a line that starts with a value does).", "",
                         {"InputObject": "The values."}, (("(Get-Date).AddHours(-1)", "An hour ago."),)),
    "Get-Date": Help("Returns the tenant's current date and time (UTC).", "Use it for message trace windows.", {},
                     (("(Get-Date).AddDays(-2)", "Two days ago."),)),
}
"""Help of every cmdlet, by name."""


def _type_text(p: ParamSpec) -> str:
    if p.type == "switch":
        return ""
    if p.type in ("enum", "enums"):
        text = " | ".join(p.choices)
        return f" <{text}>" if p.type == "enum" else f" <{text}[]>"
    label = {"string": "String", "strings": "String[]", "multivalue": "MultiValuedProperty", "bool": "Boolean",
             "nullable-bool": "Boolean", "int": "Int32", "unlimited": "Unlimited", "datetime": "DateTime",
             "hashtable": "Hashtable", "scriptblock": "ScriptBlock", "any": "Object"}[p.type]
    return f" <{label}>"


def syntax(spec: CmdletSpec) -> str:
    """Return the SYNTAX line of a cmdlet."""
    parts = [spec.name]
    common = {"Verbose", "Debug", "ErrorAction", "WarningAction"}
    for p in spec.all_params:
        if p.name in common:
            continue
        name = f"-{p.name}" if p.position is None else f"[-{p.name}]"
        text = f"{name}{_type_text(p)}"
        parts.append(text if p.mandatory else f"[{text}]")
    parts.append("[<CommonParameters>]")
    return " ".join(parts)


def _indent(text: str, level: int = 4) -> list[str]:
    return wrap(text, width=100, initial_indent=" " * level, subsequent_indent=" " * level) or [""]


def render_help(spec: CmdletSpec, mode: str = "normal", parameter: str | None = None) -> str:
    """Return the help text of a cmdlet.

    Args:
        spec: the cmdlet.
        mode: ``normal`` (everything), ``full`` (the same) or ``examples`` (only examples).
        parameter: show only this parameter (prefixes accepted).
    """
    info = HELP.get(spec.name, Help("", ""))
    params = {**_COMMON, **info.parameters}
    if parameter is not None:
        from labs.tenant.admin.binding import resolve_parameter

        p = resolve_parameter(spec, parameter)
        lines = [f"-{p.name}{_type_text(p)}", *_indent(params.get(p.name, ""))]
        lines.append(f"    Required? {str(p.mandatory).lower()}    Position? "
                     f"{p.position if p.position is not None else 'named'}")
        return "\n".join(lines) + "\n"
    lines = ["", "NAME", f"    {spec.name}", "", "SYNOPSIS", *_indent(info.synopsis), ""]
    if mode != "examples":
        lines += ["SYNTAX", *_indent(syntax(spec)), ""]
        if info.description:
            lines += ["DESCRIPTION", *_indent(info.description), ""]
        own = [p for p in spec.all_params if p.name not in ("Verbose", "Debug", "ErrorAction", "WarningAction")]
        if own:
            lines.append("PARAMETERS")
            for p in own:
                lines.append(f"    -{p.name}{_type_text(p)}")
                lines += _indent(params.get(p.name, ""), 8)
                lines.append(f"        Required? {str(p.mandatory).lower()}    Position? "
                             f"{p.position if p.position is not None else 'named'}")
                lines.append("")
    if info.examples:
        lines.append("EXAMPLES")
        for i, (code, what) in enumerate(info.examples, start=1):
            lines += [f"    -------------------------- Example {i} --------------------------", f"    PS> {code}",
                      *_indent(what), ""]
    return "\n".join(lines).strip("\n") + "\n"


def render_overview(specs: Iterable[CmdletSpec]) -> str:
    """Return the list of every cmdlet with its synopsis, by module."""
    by_module: dict[str, list[CmdletSpec]] = {}
    for spec in specs:
        by_module.setdefault(spec.module, []).append(spec)
    lines = ["Cmdlets of relaylab's admin shell. Get-Help NAME (or NAME -?) explains one.", ""]
    for module in sorted(by_module, key=str.lower):
        lines.append(module)
        for spec in sorted(by_module[module], key=lambda s: s.name.lower()):
            lines.append(f"    {spec.name:<58} {HELP.get(spec.name, Help('', '')).synopsis}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
