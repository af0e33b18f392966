"""The admin cmdlets against a running tenant: each change is live for the next SMTP session, audited,
and all or nothing; bad input gets one PowerShell-style line and changes nothing."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from labs.devices.tls import client_context
from labs.tenant.admin.help import HELP
from labs.tenant.admin.shell import AdminShell, CommandResult, commands
from labs.tenant.clock import FrozenClock
from labs.tenant.sasl import encode_xoauth2
from tests.labs.conftest import load_contoso
from tests.labs.tenant_thread import TenantThread

PORTAL_APP = "3e7a91c4-2f6d-4b8e-a1c9-5d0f7e2b6a13"
PORTAL_SECRET = "Qx7~mP2vR9sL4tW8yZ1cF6hJ3kN5bD0gA"
PORTAL_SP = "c4f2a8e1-7d39-4b6c-9a15-e8d3f0b27c5a"
PORTAL_REGISTRATION_OBJECT = "9b1d4e72-6c3a-4f85-8e07-2a5c1d9f3b64"
NOV_2026 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HQ = "127.0.0.10"

Run = Callable[[str], CommandResult]


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[TenantThread]:
    with TenantThread(load_contoso(), tmp_path, clock=FrozenClock(NOV_2026)) as running:
        yield running


@pytest.fixture
def ps(tenant: TenantThread) -> Run:
    shell = tenant.call(tenant.tenant.shell)

    def run(line: str) -> CommandResult:
        return tenant.call(lambda: shell.execute(line))

    return run


def ok(run: Run, line: str) -> CommandResult:
    result = run(line)
    assert result.ok, result.error
    return result


def audit(t: TenantThread) -> list[Any]:
    t.call(t.tenant.flush)
    return t.tenant.reader().audit(t.tenant.run_id)


# -- SMTP helpers ---------------------------------------------------------------------------------------------


def access_token(t: TenantThread) -> str:
    body = {"grant_type": "client_credentials", "client_id": PORTAL_APP, "client_secret": PORTAL_SECRET,
            "scope": "https://outlook.office365.com/.default"}
    request = urllib.request.Request(t.tenant.endpoints.token_url, data=urllib.parse.urlencode(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def xoauth2_submit(t: TenantThread, mailbox: str) -> tuple[int, bytes]:
    """AUTH XOAUTH2 as ``mailbox`` on 587 and, when accepted, send one message; return the AUTH reply."""
    host, port = t.endpoint("submission")
    with smtplib.SMTP(host, port, timeout=10, local_hostname="portal") as smtp:
        smtp.ehlo()
        smtp._host = "smtp.office365.com"  # the name the certificate is checked against
        ctx: ssl.SSLContext = client_context(cafile=t.tenant.pki.ca_cert_path)
        smtp.starttls(context=ctx)
        smtp.ehlo()
        code, reply = smtp.docmd("AUTH", "XOAUTH2 " + encode_xoauth2(mailbox, access_token(t)))
        if code == 235:
            smtp.sendmail(mailbox, ["adele.vance@contoso.com"], f"From: {mailbox}\r\nSubject: app mail\r\n\r\nx\r\n")
    return code, reply


def relay_from_hq(t: TenantThread, to: str = "buyer@fabrikam.com") -> tuple[int, bytes]:
    """Anonymous mail from the head office's site to ``to`` on the MX endpoint; return the RCPT reply."""
    host, port = t.endpoint("mx")
    with smtplib.SMTP(host, port, timeout=10, local_hostname="mfp", source_address=(HQ, 0)) as smtp:
        smtp.ehlo()
        smtp.mail("scanner@contoso.com")
        code, reply = smtp.rcpt(to)
        if code == 250:
            assert smtp.data("From: scanner@contoso.com\r\nSubject: Scan\r\n\r\npage\r\n")[0] == 250
    return code, reply


# -- the "done when", in process ------------------------------------------------------------------------


def test_set_casmailbox_enables_smtp_auth_for_that_mailbox_only(tenant: TenantThread, ps: Run) -> None:
    code, reply = xoauth2_submit(tenant, "app@contoso.com")
    assert code == 535 and b"5.7.139" in reply and b"disabled for the Mailbox" in reply
    result = ok(ps, "Set-CASMailbox -Identity app@contoso.com -SmtpClientAuthenticationDisabled $false")
    assert result.output == "" and result.objects == []
    assert xoauth2_submit(tenant, "app@contoso.com") == (235, b"2.7.0 Authentication successful")
    state = tenant.tenant.state
    assert state.recipient("app@contoso.com").smtp_client_authentication_disabled is False  # type: ignore[union-attr]
    assert state.transport_config.smtp_client_authentication_disabled is True  # not the whole organisation
    (entry,) = audit(tenant)
    assert entry.cmdlet == "Set-CASMailbox" and entry.who == "admin@contoso.onmicrosoft.com"
    assert entry.parameters == {"Identity": "app@contoso.com", "SmtpClientAuthenticationDisabled": False}
    assert entry.target == "app@contoso.com"
    assert entry.before["SmtpClientAuthenticationDisabled"] is True  # type: ignore[index]
    assert entry.after["SmtpClientAuthenticationDisabled"] is False  # type: ignore[index]
    assert entry.command == "Set-CASMailbox -Identity app@contoso.com -SmtpClientAuthenticationDisabled $false"


def test_new_inbound_connector_lets_the_site_relay_and_trace_shows_it(tenant: TenantThread, ps: Run) -> None:
    code, reply = relay_from_hq(tenant)
    assert (code, reply[:32]) == (550, b"5.7.64 TenantAttribution; Relay ")
    created = ok(ps, "New-InboundConnector -Name 'HQ printers' -ConnectorType OnPremises -SenderDomains * "
                     "-SenderIPAddresses 203.0.113.10 -RequireTls:$false")
    assert created.objects[0]["Name"] == "HQ printers" and created.objects[0]["SenderIPAddresses"] == ["203.0.113.10"]
    assert relay_from_hq(tenant) == (250, b"2.1.5 Recipient OK")
    trace = ok(ps, "Get-MessageTraceV2 -SenderAddress scanner@contoso.com | Select Received,RecipientAddress,Status")
    assert trace.objects == [{"Received": "2026-11-26T09:00:00.000Z", "RecipientAddress": "buyer@fabrikam.com",
                              "Status": "Delivered"}]
    assert trace.output == ("Received              RecipientAddress   Status\n"
                            "--------              ----------------   ------\n"
                            "11/26/2026 9:00:00 AM buyer@fabrikam.com Delivered\n")
    detail = ok(ps, "Get-MessageTraceV2 -RecipientAddress buyer@fabrikam.com | Get-MessageTraceDetailV2")
    assert detail.objects[0]["Event"] == "Receive"
    assert "via inbound connector 'HQ printers'" in detail.objects[0]["Detail"]
    (entry,) = audit(tenant)
    assert entry.cmdlet == "New-InboundConnector" and entry.before is None
    assert entry.after["ConnectorType"] == "OnPremises" and entry.after["RequireTls"] is False  # type: ignore[index]


def test_reject_direct_send_takes_effect_on_the_next_session(tenant: TenantThread, ps: Run) -> None:
    assert relay_from_hq(tenant, "adele.vance@contoso.com") == (250, b"2.1.5 Recipient OK")
    ok(ps, "Set-OrganizationConfig -RejectDirectSend $true")
    code, reply = relay_from_hq(tenant, "adele.vance@contoso.com")
    assert code == 550 and reply.startswith(b"5.7.68 TenantInboundAttribution")
    assert ok(ps, "Get-OrganizationConfig | Select -ExpandProperty RejectDirectSend").objects == [True]


def test_service_principal_and_mailbox_permission_gate_app_tokens(tenant: TenantThread, ps: Run) -> None:
    ok(ps, "Set-CASMailbox notifications@contoso.com -SmtpClientAuthenticationDisabled $false")
    ok(ps, f"Remove-ServicePrincipal -Identity {PORTAL_SP}")
    assert xoauth2_submit(tenant, "notifications@contoso.com")[0] == 535
    # the classic mistake: the app registration's object id instead of the enterprise application's
    ok(ps, f"New-ServicePrincipal -AppId {PORTAL_APP} -ObjectId {PORTAL_REGISTRATION_OBJECT}")
    assert xoauth2_submit(tenant, "notifications@contoso.com")[0] == 535
    ok(ps, f"Get-ServicePrincipal {PORTAL_APP} | Remove-ServicePrincipal")
    sp = ok(ps, f"New-ServicePrincipal -AppId {PORTAL_APP} -ObjectId {PORTAL_SP}")
    assert sp.objects[0]["DisplayName"] == "Contoso Portal Mailer"
    assert xoauth2_submit(tenant, "notifications@contoso.com")[0] == 235
    ok(ps, f"Remove-MailboxPermission notifications@contoso.com -User {PORTAL_SP} -AccessRights FullAccess")
    assert xoauth2_submit(tenant, "notifications@contoso.com")[0] == 535
    granted = ok(ps, "Add-MailboxPermission -Identity notifications@contoso.com -User 'Contoso Portal Mailer' "
                     "-AccessRights FullAccess")
    assert granted.objects[0]["User"] == PORTAL_SP
    assert xoauth2_submit(tenant, "notifications@contoso.com")[0] == 235
    again = ok(ps, f"Add-MailboxPermission notifications@contoso.com -User {PORTAL_SP} -AccessRights FullAccess")
    assert again.output == f"WARNING: An existing permission entry was found for user: {PORTAL_SP}.\n"


def test_send_as_permission(tenant: TenantThread, ps: Run) -> None:
    result = ok(ps, "Add-RecipientPermission -Identity scans@contoso.com -Trustee notifications@contoso.com "
                    "-AccessRights SendAs -Confirm:$false")
    assert result.objects[0] == {"Identity": "scans@contoso.com", "Trustee": "notifications@contoso.com",
                                 "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": False}
    perms = tenant.tenant.state.recipient_permissions
    assert [(p.identity, p.trustee) for p in perms] == [("scans@contoso.com", "notifications@contoso.com")]
    assert ok(ps, "Get-RecipientPermission scans").objects[0]["Trustee"] == "notifications@contoso.com"


# -- settings -------------------------------------------------------------------------------------------------


def test_transport_config_round_trip_and_no_op_warning(tenant: TenantThread, ps: Run) -> None:
    ok(ps, "Set-TransportConfig -AllowLegacyTLSClients $true -MaxRecipientEnvelopeLimit Unlimited")
    got = ok(ps, "Get-TransportConfig").objects[0]
    assert got["AllowLegacyTLSClients"] is True and got["MaxRecipientEnvelopeLimit"] == "Unlimited"
    result = ok(ps, "Set-TransportConfig -AllowLegacyTLSClients $true")
    assert result.output == ("WARNING: The command completed successfully but no settings of 'Transport Settings' "
                             "have been modified.\n")
    assert [e.cmdlet for e in audit(tenant)] == ["Set-TransportConfig"]


def test_set_inbound_connector_add_remove_and_remove_connector(tenant: TenantThread, ps: Run) -> None:
    ok(ps, "Set-InboundConnector 'datacenter relay' -SenderIPAddresses @{Add='203.0.113.10','203.0.113.0/29'}")
    assert tenant.tenant.state.connector("Datacenter relay").sender_ip_addresses == [  # type: ignore[union-attr]
        "203.0.113.25", "203.0.113.10", "203.0.113.0/29"]
    ok(ps, "Set-InboundConnector 'Datacenter relay' -SenderIPAddresses @{Remove='203.0.113.25'} -RequireTls $false")
    connector = tenant.tenant.state.connector("Datacenter relay")
    assert connector is not None and connector.sender_ip_addresses == ["203.0.113.10", "203.0.113.0/29"]
    assert connector.require_tls is False
    ok(ps, "Get-InboundConnector | Remove-InboundConnector -Confirm:$false")
    assert tenant.tenant.state.inbound_connectors == []
    entries = audit(tenant)
    assert [e.cmdlet for e in entries] == ["Set-InboundConnector", "Set-InboundConnector", "Remove-InboundConnector"]
    assert entries[0].parameters == {"Identity": "Datacenter relay",
                                     "SenderIPAddresses": {"Add": ["203.0.113.10", "203.0.113.0/29"]}}
    assert entries[2].after is None and entries[2].before["Name"] == "Datacenter relay"  # type: ignore[index]


def test_whatif_changes_nothing(tenant: TenantThread, ps: Run) -> None:
    before = tenant.tenant.state
    result = ok(ps, "Set-OrganizationConfig -RejectDirectSend $true -WhatIf")
    assert result.output == ("What if: Performing the operation \"Set-OrganizationConfig\" on target "
                             "\"contoso.onmicrosoft.com\".\n")
    assert tenant.tenant.state is before and audit(tenant) == []


def test_dkim_needs_its_cnames_then_signs(tenant: TenantThread, ps: Run) -> None:
    result = ps("New-DkimSigningConfig -DomainName legacy.contoso.com -Enabled $true")
    assert not result.ok and result.error is not None
    assert result.error.startswith("CNAME record does not exist for this config. Publish the following two CNAME "
                                   "records first. Domain Name: legacy.contoso.com; Host Name: selector1._domainkey, "
                                   "Points to: selector1-legacy-contoso-com._domainkey.contoso.onmicrosoft.com")
    for s in ("selector1", "selector2"):
        ok(ps, f"Set-DnsRecord -Name {s}._domainkey.legacy.contoso.com -Type CNAME "
               f"-Value {s}-legacy-contoso-com._domainkey.contoso.onmicrosoft.com")
    created = ok(ps, "New-DkimSigningConfig -DomainName legacy.contoso.com -Enabled $true")
    assert created.objects[0]["Status"] == "Valid"
    assert [(d.domain, d.enabled) for d in tenant.tenant.state.dkim] == [("contoso.com", True),
                                                                         ("legacy.contoso.com", True)]
    ok(ps, "Set-DkimSigningConfig legacy.contoso.com -Enabled $false")
    assert tenant.tenant.state.dkim[1].enabled is False


def test_dns_records_for_spf_and_dmarc_labs(tenant: TenantThread, ps: Run) -> None:
    ok(ps, 'Set-DnsRecord -Name _dmarc.contoso.com -Type TXT -Value "v=DMARC1; p=reject"')
    answer = ok(ps, "Resolve-DnsName _dmarc.contoso.com -Type TXT")
    assert answer.objects == [{"Name": "_dmarc.contoso.com", "Type": "TXT", "TTL": 3600, "Section": "Answer",
                               "Strings": ["v=DMARC1; p=reject"]}]
    # a version-tagged TXT replaces only the record with the same tag
    ok(ps, "Set-DnsRecord contoso.com -Type TXT -Value 'google-site-verification=abc' -Add")
    ok(ps, "Set-DnsRecord contoso.com -Type TXT -Value 'v=spf1 include:spf.protection.outlook.com -all'")
    txt = ok(ps, "Resolve-DnsName contoso.com -Type TXT | Select -ExpandProperty Strings").objects
    assert sorted(txt) == ["google-site-verification=abc", "v=spf1 include:spf.protection.outlook.com -all"]
    ok(ps, "Remove-DnsRecord _dmarc.contoso.com -Type TXT")
    assert ps("Resolve-DnsName _dmarc.contoso.com -Type TXT").error == "_dmarc.contoso.com : DNS name does not exist"
    assert tenant.tenant.dns().txt("_dmarc.contoso.com") == []  # the tenant's own DNS (SPF/DMARC checks) sees it
    refused = ps("Set-DnsRecord -Name fabrikam.com -Type TXT -Value 'v=spf1 -all'")
    assert refused.error == ("The name 'fabrikam.com' is not in a DNS zone you host: records can be changed under "
                             "contoso.com, legacy.contoso.com.")
    missing = ps("Resolve-DnsName nothing-here.contoso.com")
    assert missing.error == "nothing-here.contoso.com : DNS name does not exist"


def test_security_defaults_through_graph_cmdlets(tenant: TenantThread, ps: Run) -> None:
    ok(ps, "Connect-MgGraph -Scopes Policy.ReadWrite.ConditionalAccess -NoWelcome")
    ok(ps, "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled:$false")
    assert tenant.tenant.state.submission.security_defaults is False
    got = ok(ps, "Get-MgPolicyIdentitySecurityDefaultEnforcementPolicy | Select IsEnabled")
    assert got.objects == [{"IsEnabled": False}]
    ok(ps, "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -BodyParameter @{IsEnabled=$true}")
    assert tenant.tenant.state.submission.security_defaults is True


def test_test_netconnection_from_the_endpoint_table_and_firewall(tenant: TenantThread, ps: Run) -> None:
    sub = ok(ps, "Test-NetConnection -ComputerName smtp.office365.com -Port 587").objects[0]
    assert sub["TcpTestSucceeded"] is True and sub["RemoteAddress"] == tenant.endpoint("submission")[0]
    blocked = ok(ps, "Test-NetConnection contoso-com.mail.protection.outlook.com -Port 25 -Site branch-leeds")
    assert blocked.objects[0]["TcpTestSucceeded"] is False
    assert blocked.output.startswith("WARNING: TCP connect to (127.0.0.1 : 25) failed\n")
    assert ok(ps, "Test-NetConnection contoso-com.mail.protection.outlook.com 25 -Site hq-office "
                  "-InformationLevel Quiet").objects == [True]
    assert ok(ps, "Test-NetConnection smtp.office365.com -Port 2525 -InformationLevel Quiet").objects == [False]
    unknown = ok(ps, "Test-NetConnection smtp.example.invalid -Port 25")
    assert unknown.output.startswith("WARNING: Name resolution of smtp.example.invalid failed\n")
    wrong_site = ps("Test-NetConnection smtp.office365.com -Port 587 -Site branch-leed")
    assert wrong_site.error is not None and wrong_site.error.endswith("Did you mean 'branch-leeds'?")


def test_connect_exchange_online_names_the_admin_in_the_audit(tenant: TenantThread, ps: Run) -> None:
    banner = ok(ps, "Connect-ExchangeOnline -UserPrincipalName megan.bowen@contoso.com")
    assert banner.output.startswith("Connected to Exchange Online: Contoso Ltd (contoso.onmicrosoft.com) as "
                                    "megan.bowen@contoso.com.")
    assert ok(ps, "Connect-ExchangeOnline -ShowBanner:$false").output == ""
    ok(ps, "Set-CASMailbox app -SmtpClientAuthenticationDisabled $null")
    (entry,) = audit(tenant)
    assert entry.who == "megan.bowen@contoso.com"
    assert entry.parameters == {"Identity": "app@contoso.com", "SmtpClientAuthenticationDisabled": None}


# -- bad input: one line, no change, no audit, SMTP still served --------------------------------------------------

BAD = [
    ("Set-CASMailbox -Identity 'app@contoso.com -SmtpClientAuthenticationDisabled $false",
     "The string is missing the terminator: '."),
    ("Set-CASMailbx -Identity app@contoso.com",
     "The term 'Set-CASMailbx' is not recognized as a name of a cmdlet, function, script file, or executable "
     "program. Check the spelling of the name, or if a path was included, verify that the path is correct and try "
     "again. Did you mean 'Set-CASMailbox'?"),
    ("Set-CASMailbox -Identity app@contoso.com -SmtpClientAuthDisabled $false",
     "A parameter cannot be found that matches parameter name 'SmtpClientAuthDisabled'. "
     "Did you mean 'SmtpClientAuthenticationDisabled'?"),
    ("Set-InboundConnector 'Datacenter relay' -RequireTls maybe",
     "Cannot process argument transformation on parameter 'RequireTls'. Cannot convert value \"maybe\" to type "
     "\"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."),
    ("New-InboundConnector -Name v6 -ConnectorType OnPremises -SenderDomains * -SenderIPAddresses 2001:db8::10",
     "Cannot validate argument on parameter 'SenderIPAddresses'. '2001:db8::10': IPv6 addresses are not supported "
     "in SenderIPAddresses"),
    ("New-InboundConnector -Name wide -ConnectorType OnPremises -SenderDomains * -SenderIPAddresses 10.0.0.0/8",
     "Cannot validate argument on parameter 'SenderIPAddresses'. '10.0.0.0/8': CIDR masks from /24 to /32 are "
     "allowed, not /8"),
    ("New-InboundConnector -Name cert -ConnectorType OnPremises -SenderDomains * "
     "-TlsSenderCertificateName mail.*.contoso.com",
     "Cannot validate argument on parameter 'TlsSenderCertificateName'. 'mail.*.contoso.com': a wildcard is "
     "allowed only as the leftmost label (*.contoso.com)"),
    ("New-InboundConnector -Name 'No domains' -ConnectorType OnPremises -SenderIPAddresses 203.0.113.10",
     "Cannot process command because of one or more missing mandatory parameters: SenderDomains."),
    ("New-InboundConnector -Name 'Nothing to match' -ConnectorType OnPremises -SenderDomains *",
     "An OnPremises connector needs SenderIPAddresses or TlsSenderCertificateName."),
    ("New-InboundConnector -Name 'datacenter RELAY' -ConnectorType OnPremises -SenderDomains * "
     "-SenderIPAddresses 203.0.113.10",
     "An inbound connector with the name \"datacenter RELAY\" already exists. Choose another name, or change the "
     "existing one with Set-InboundConnector."),
    ("Set-CASMailbox -Identity nobody@contoso.com -SmtpClientAuthenticationDisabled $false",
     "The operation couldn't be performed because object 'nobody@contoso.com' couldn't be found on "
     "'SYBP282MB2635.AUSP282.PROD.OUTLOOK.COM'."),
    ("Get-MessageTraceV2 -StartDate 2026-10-01 -EndDate 2026-11-01",
     "The time range between StartDate and EndDate can't be more than 10 days."),
    ("Get-MessageTraceV2 -Status Sent",
     "Cannot validate argument on parameter 'Status'. The argument \"Sent\" does not belong to the set "
     "\"Delivered,Expanded,Failed,FilteredAsSpam,GettingStatus,None,Pending,Quarantined\"."),
    ("Get-Mailbox " + "x" * (1024 * 1024),
     "The command line is too long: 1,048,588 characters, and at most 32,767 are accepted."),
    ("Set-OrganizationConfig -RejectDirectSend $true\x07",
     "Unexpected control character U+0007 at position 47 of the command line."),
    ("Set-OrganizationConfig -RejectDirectSend \x00$true", "Unexpected control character U+0000 at position 42 of "
     "the command line."),
    # all or nothing: the first statement would have worked, the second fails
    ("Set-OrganizationConfig -RejectDirectSend $true; Set-CASMailbox nobody -SmtpClientAuthenticationDisabled $false",
     "The operation couldn't be performed because object 'nobody' couldn't be found on "
     "'SYBP282MB2635.AUSP282.PROD.OUTLOOK.COM'."),
    ("Get-InboundConnector | Format-List | Remove-InboundConnector",
     "The object of type \"Microsoft.PowerShell.Commands.Internal.Format.FormatStartData\" is not valid or not in "
     "the correct sequence. This is likely caused by a user-specified \"format-*\" command which is conflicting "
     "with the default formatting."),
]


def test_bad_input_gets_one_line_and_changes_nothing(tenant: TenantThread, ps: Run) -> None:
    before = tenant.tenant.state
    for line, message in BAD:
        result = ps(line)
        assert (result.ok, result.error, result.output, result.objects) == (False, message, "", []), line
        assert "\n" not in message
        assert tenant.tenant.state is before, line
    assert audit(tenant) == []
    assert relay_from_hq(tenant, "adele.vance@contoso.com") == (250, b"2.1.5 Recipient OK")  # SMTP still served


# -- help and completion -----------------------------------------------------------------------------------------


def test_every_cmdlet_and_parameter_has_help(tenant: TenantThread, ps: Run) -> None:
    from labs.tenant.admin.help import _COMMON

    for spec in commands().values():
        assert spec.name in HELP and HELP[spec.name].synopsis, spec.name
        documented = {**_COMMON, **HELP[spec.name].parameters}
        assert [p.name for p in spec.all_params if p.name not in documented] == [], spec.name
    text = ok(ps, "Set-DnsRecord -?").output
    assert text.startswith("NAME\n    Set-DnsRecord\n\nSYNOPSIS\n    relaylab: creates or replaces a DNS record")
    assert "stand-in for your DNS host's control panel" in text
    assert ok(ps, "Get-Help New-InboundConnector -Parameter SenderIP").output.startswith(
        "-SenderIPAddresses <String[]>\n    Public IPv4 addresses or CIDR ranges")
    assert "Get-MessageTraceV2" in ok(ps, "Get-Help").output


def test_completion_of_cmdlets_and_parameters(tenant: TenantThread) -> None:
    shell = AdminShell(tenant.tenant)
    assert shell.complete("set-cas") == ["Set-CASMailbox"]
    assert shell.complete("Get-Mailbox | sel") == ["select", "Select-Object"]
    assert shell.complete("Set-CASMailbox app -Smtp") == ["-SmtpClientAuthenticationDisabled"]
    assert shell.complete("ft -Au") == ["-AutoSize"]
    assert shell.complete("Get-Nothing -I") == []
