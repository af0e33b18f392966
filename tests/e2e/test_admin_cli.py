"""End to end: ``relaylab tenant up`` in its own process, changed live with ``relaylab tenant exec`` and
``relaylab tenant shell``, then used by smtplib exactly as a trainee's client would."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labs.devices.tls import client_context
from labs.tenant.capture import CaptureReader
from labs.tenant.sasl import encode_xoauth2

pytestmark = pytest.mark.e2e


class Running:
    def __init__(self, proc: subprocess.Popen[str], info: dict[str, Any], env: dict[str, str]) -> None:
        self.proc, self.info, self.env = proc, info, env

    def listen(self, name: str) -> tuple[str, int]:
        host, port = self.info["endpoints"][name]["listen"].rsplit(":", 1)
        return host, int(port)

    def relaylab(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                              env=self.env, timeout=60, input=stdin)

    def exec(self, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.relaylab("tenant", "exec", line, *extra)


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[Running]:
    env = {**os.environ, "RELAYLAB_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "tenant", "up", "--port-base", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise AssertionError(proc.stderr.read() if proc.stderr else "tenant did not start")
    running = Running(proc, json.loads(line), env)
    yield running
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    assert not Path(running.info["admin_socket"]).exists()


def xoauth2(t: Running, mailbox: str, token: str) -> tuple[int, bytes]:
    host, port = t.listen("submission")
    with smtplib.SMTP(host, port, timeout=20, local_hostname="portal") as smtp:
        smtp.ehlo()
        smtp._host = "smtp.office365.com"  # the certificate is checked against the real name
        smtp.starttls(context=client_context(cafile=t.info["ca_cert"]))
        smtp.ehlo()
        code, reply = smtp.docmd("AUTH", "XOAUTH2 " + encode_xoauth2(mailbox, token))
        if code == 235:
            smtp.sendmail(mailbox, ["adele.vance@contoso.com"], f"From: {mailbox}\r\nSubject: from the app\r\n\r\nx\r\n")
    return code, reply


def relay(t: Running) -> tuple[int, bytes]:
    host, port = t.listen("mx")
    with smtplib.SMTP(host, port, timeout=20, local_hostname="mfp", source_address=("127.0.0.10", 0)) as smtp:
        smtp.ehlo()
        smtp.mail("scanner@contoso.com")
        code, reply = smtp.rcpt("buyer@fabrikam.com")
        if code == 250:
            assert smtp.data("From: scanner@contoso.com\r\nSubject: Scan to partner\r\n\r\npage\r\n")[0] == 250
    return code, reply


def test_set_casmailbox_makes_the_next_xoauth2_submission_succeed(tenant: Running) -> None:
    token = tenant.relaylab("token", "--app", "Contoso Portal Mailer")
    assert token.returncode == 0, token.stderr
    code, reply = xoauth2(tenant, "app@contoso.com", token.stdout.strip())
    assert code == 535 and b"SmtpClientAuthentication is disabled for the Mailbox" in reply
    done = tenant.exec("Set-CASMailbox -Identity app@contoso.com -SmtpClientAuthenticationDisabled $false")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert xoauth2(tenant, "app@contoso.com", token.stdout.strip()) == (235, b"2.7.0 Authentication successful")
    audit = CaptureReader(Path(tenant.info["state_dir"]) / "capture.sqlite3").audit(tenant.info["run_id"])
    assert [(a.cmdlet, dict(a.parameters)) for a in audit] == [
        ("Set-CASMailbox", {"Identity": "app@contoso.com", "SmtpClientAuthenticationDisabled": False})]
    org = json.loads(tenant.exec("Get-TransportConfig", "--json").stdout)
    assert org["objects"][0]["SmtpClientAuthenticationDisabled"] is True  # that mailbox only


def test_new_inbound_connector_lets_hq_relay_and_trace_shows_it(tenant: Running) -> None:
    assert relay(tenant)[0] == 550
    created = tenant.exec("New-InboundConnector -Name 'HQ office' -ConnectorType OnPremises -SenderDomains * "
                          "-SenderIPAddresses 203.0.113.10 -RequireTls $false")
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[2].startswith("HQ office OnPremises    True    {203.0.113.10}")
    assert relay(tenant) == (250, b"2.1.5 Recipient OK")
    trace = tenant.exec("Get-MessageTraceV2 -SenderAddress scanner@contoso.com | Select Received,RecipientAddress,Status")
    assert trace.returncode == 0, trace.stderr
    header, rule, row = trace.stdout.splitlines()
    assert header.split() == ["Received", "RecipientAddress", "Status"] and set(rule) <= {"-", " "}
    assert row.endswith("buyer@fabrikam.com Delivered")
    as_json = json.loads(tenant.exec("Get-MessageTraceV2 -SenderAddress scanner@contoso.com | "
                                     "Select RecipientAddress,Status", "--json").stdout)
    assert as_json["objects"] == [{"RecipientAddress": "buyer@fabrikam.com", "Status": "Delivered"}]


def test_failures_are_one_line_exit_1_and_change_nothing(tenant: Running) -> None:
    before = tenant.exec("Get-InboundConnector | Format-List *", "--json").stdout
    for line, error in [
        ("New-InboundConnector -Name X -ConnectorType OnPremises -SenderDomains * -SenderIPAddresses 10.0.0.0/8",
         "Cannot validate argument on parameter 'SenderIPAddresses'. '10.0.0.0/8': CIDR masks from /24 to /32 are "
         "allowed, not /8"),
        ("Set-InboundConnector 'Datacenter relay' -RequireTls maybe",
         "Cannot process argument transformation on parameter 'RequireTls'. Cannot convert value \"maybe\" to type "
         "\"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 "
         "or 0."),
        ("Get-InboundConector", "The term 'Get-InboundConector' is not recognized as a name of a cmdlet, function, "
         "script file, or executable program. Check the spelling of the name, or if a path was included, verify "
         "that the path is correct and try again. Did you mean 'Get-InboundConnector'?"),
    ]:
        result = tenant.exec(line)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", f"relaylab: error: {error}\n"), line
    as_json = tenant.exec("Set-OrganizationConfig -RejectDirectSend 'yes'", "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False
    assert tenant.exec("Get-InboundConnector | Format-List *", "--json").stdout == before
    assert relay(tenant)[0] == 550  # still served, still no connector for hq-office


def test_shell_reads_lines_until_exit(tenant: Running) -> None:
    session = tenant.relaylab("tenant", "shell", stdin="Connect-ExchangeOnline -UserPrincipalName "
                              "alex.wilber@contoso.com\nSet-OrganizationConfig -RejectDirectSend $true\n"
                              "Get-OrganizationConfig | Select RejectDirectSend\nGet-Nothing\nexit\n"
                              "Set-OrganizationConfig -RejectDirectSend $false\n")
    assert session.returncode == 0, session.stderr
    assert session.stdout.startswith("Connected to Exchange Online: Contoso Ltd (contoso.onmicrosoft.com) as "
                                     "alex.wilber@contoso.com.")
    assert "RejectDirectSend\n----------------\nTrue\n" in session.stdout
    assert session.stderr.startswith("The term 'Get-Nothing' is not recognized")
    org = json.loads(tenant.exec("Get-OrganizationConfig", "--json").stdout)
    assert org["objects"][0]["RejectDirectSend"] is True  # the line after exit never ran
    audit = CaptureReader(Path(tenant.info["state_dir"]) / "capture.sqlite3").audit(tenant.info["run_id"])
    assert [a.who for a in audit] == ["alex.wilber@contoso.com"]


def test_no_tenant_running(tmp_path: Path) -> None:
    env = {**os.environ, "RELAYLAB_HOME": str(tmp_path / "empty")}
    result = subprocess.run([sys.executable, "-m", "engine.cli", "tenant", "exec", "Get-Mailbox"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("relaylab: error: no tenant is running")
