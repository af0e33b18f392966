"""End to end: ``relaylab tenant up`` in its own process, driven by clients we did not write —
swaks, curl and msmtp — exactly as a trainee would paste them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.paths import bundled_content

pytestmark = pytest.mark.e2e

SWAKS = shutil.which("swaks")
MSMTP = shutil.which("msmtp")
CURL = shutil.which("curl")
needs_swaks = pytest.mark.skipif(SWAKS is None, reason="swaks is not installed (.ci/run installs the Debian package)")
needs_msmtp = pytest.mark.skipif(MSMTP is None, reason="msmtp is not installed (.ci/run installs the Debian package)")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


class Running:
    def __init__(self, proc: subprocess.Popen[str], info: dict[str, Any], env: dict[str, str]) -> None:
        self.proc, self.info, self.env = proc, info, env

    def listen(self, name: str) -> tuple[str, str]:
        host, port = self.info["endpoints"][name]["listen"].rsplit(":", 1)
        return host, port

    def relaylab(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                              env=self.env, timeout=60)


def start(home: Path, scenario: str = "contoso") -> Running:
    env = {**os.environ, "RELAYLAB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "tenant", "up", "--port-base", "0", "--json",
                             "--scenario", scenario], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise AssertionError(proc.stderr.read() if proc.stderr else "tenant did not start")
    return Running(proc, json.loads(line), env)


def stop(running: Running) -> int:
    running.proc.send_signal(signal.SIGTERM)
    code = running.proc.wait(30)
    for pipe in (running.proc.stdout, running.proc.stderr):
        if pipe is not None:
            pipe.close()
    return code


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[Running]:
    running = start(tmp_path / "home")
    yield running
    if running.proc.poll() is None:
        stop(running)


def swaks(t: Running, *args: str, name: str = "mx") -> subprocess.CompletedProcess[str]:
    host, port = t.listen(name)
    assert SWAKS is not None
    return subprocess.run([SWAKS, "--server", f"{host}:{port}", "--timeout", "20", *args], capture_output=True,
                          text=True, timeout=60)


def test_ready_line_has_the_design_shape(tenant: Running) -> None:
    info = tenant.info
    assert info["tenant"] == "contoso"
    eps = info["endpoints"]
    assert (eps["mx"]["host"], eps["mx"]["port"]) == ("contoso-com.mail.protection.outlook.com", 25)
    assert (eps["submission"]["host"], eps["submission"]["port"]) == ("smtp.office365.com", 587)
    assert (eps["smtps"]["host"], eps["smtps"]["port"]) == ("smtp.office365.com", 465)
    assert eps["oauth"]["token_url"].startswith("http://127.0.0.1:")
    assert eps["oauth"]["token_url"].endswith("/8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f/oauth2/v2.0/token")
    for ep in eps.values():
        if "listen" in ep:
            assert ep["listen"].startswith("127.")
    assert Path(info["ca_cert"]).is_file()
    assert info["sites"]["hq-office"] == {"public_ip": "203.0.113.10", "source": "127.0.0.10"}


@needs_swaks
def test_swaks_direct_send_internal_then_external(tenant: Running) -> None:
    ok = swaks(tenant, "--local-interface", "127.0.0.10", "--ehlo", "mfp", "--from", "scanner@contoso.com",
               "--to", "adele.vance@contoso.com", "--header", "Subject: Scan to email")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "<-  250 2.6.0" in ok.stdout and "Queued mail for delivery" in ok.stdout
    denied = swaks(tenant, "--local-interface", "127.0.0.10", "--ehlo", "mfp", "--from", "scanner@contoso.com",
                   "--to", "buyer@fabrikam.com")
    assert denied.returncode == 24  # no recipient accepted
    assert "<** 550 5.7.64 TenantAttribution; Relay Access Denied [CH3PEPF00000015.mail.protection.outlook.com" in denied.stdout
    trace = tenant.relaylab("tenant", "trace", "--json")
    rows = json.loads(trace.stdout)
    assert [(r["recipient_address"], r["status"]) for r in rows] == [("adele.vance@contoso.com", "Delivered")]
    box = json.loads(tenant.relaylab("tenant", "mailbox", "adele.vance@contoso.com", "--json").stdout)
    assert box[0]["subject"] == "Scan to email" and box[0]["folder"] == "Inbox"


@needs_swaks
def test_swaks_connector_relay_with_starttls(tenant: Running) -> None:
    result = swaks(tenant, "--local-interface", "127.0.0.11", "--tls", "--ehlo", "zabbix",
                   "--from", "alerts@contoso.com", "--to", "buyer@fabrikam.com")
    assert result.returncode == 0, result.stdout
    assert "<~  220 2.0.0 SMTP server ready" not in result.stdout  # swaks shows the STARTTLS reply before TLS
    assert "<-  220 2.0.0 SMTP server ready" in result.stdout
    rows = json.loads(tenant.relaylab("tenant", "trace", "--json").stdout)
    assert rows[0]["connector"] == "Datacenter relay" and rows[0]["status"] == "Delivered"


@needs_swaks
def test_swaks_client_certificate_for_a_certificate_connector(tmp_path: Path) -> None:
    data = yaml.safe_load((bundled_content() / "tenants" / "contoso.yaml").read_text())
    data["inbound_connectors"].append({"name": "Branch certificate", "connector_type": "OnPremises",
                                       "tls_sender_certificate_name": "*.contoso.com", "require_tls": True})
    scenario = tmp_path / "contoso-cert.yaml"
    scenario.write_text(yaml.safe_dump(data))
    running = start(tmp_path / "home", str(scenario))
    try:
        from labs.tenant.pki import Pki

        cert, key = Pki(tmp_path / "home" / "pki").client_certificate("branch-relay.contoso.com")
        result = swaks(running, "--local-interface", "127.0.0.12", "--tls", "--tls-cert", str(cert), "--tls-key",
                       str(key), "--from", "sensors@contoso.com", "--to", "buyer@fabrikam.com")
        assert result.returncode == 0, result.stdout
        rows = json.loads(running.relaylab("tenant", "trace", "--json").stdout)
        assert rows[0]["connector"] == "Branch certificate"
    finally:
        stop(running)


@needs_swaks
def test_swaks_basic_auth_gets_the_security_defaults_line(tenant: Running) -> None:
    result = swaks(tenant, "--tls", "--auth", "LOGIN", "--auth-user", "erp-notify@contoso.com",
                   "--auth-password", "Ledger-Falcon-77", "--from", "erp-notify@contoso.com",
                   "--to", "adele.vance@contoso.com", name="submission")
    assert result.returncode == 28, result.stdout
    assert "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy." \
        in result.stdout


def _token(t: Running) -> str:
    result = t.relaylab("token", "--app", "Contoso Portal Mailer")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@needs_curl
@pytest.mark.parametrize("endpoint", ["submission", "smtps"])
def test_curl_xoauth2_submission(tenant: Running, tmp_path: Path, endpoint: str) -> None:
    message = tmp_path / "msg.txt"
    message.write_text("From: notifications@contoso.com\r\nTo: adele.vance@contoso.com\r\nSubject: via curl\r\n\r\nhi\r\n")
    host, port = tenant.listen(endpoint)
    real = 587 if endpoint == "submission" else 465
    scheme = "smtp" if endpoint == "submission" else "smtps"
    assert CURL is not None
    result = subprocess.run(
        [CURL, "-sS", "-v", "--url", f"{scheme}://smtp.office365.com:{real}/client.contoso.com",
         "--connect-to", f"smtp.office365.com:{real}:{host}:{port}", "--ssl-reqd", "--cacert", tenant.info["ca_cert"],
         "--mail-from", "notifications@contoso.com", "--mail-rcpt", "adele.vance@contoso.com",
         "--upload-file", str(message), "--user", "notifications@contoso.com",
         "--oauth2-bearer", _token(tenant), "--login-options", "AUTH=XOAUTH2"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "< 235 2.7.0 Authentication successful" in result.stderr
    assert "< 250 2.0.0 OK <" in result.stderr


@needs_curl
def test_curl_direct_send_from_a_site(tenant: Running, tmp_path: Path) -> None:
    message = tmp_path / "msg.txt"
    message.write_text("Subject: scanned\r\n\r\npage\r\n")
    host, port = tenant.listen("mx")
    assert CURL is not None
    result = subprocess.run(
        [CURL, "-sS", "--url", "smtp://contoso-com.mail.protection.outlook.com:25/mfp",
         "--connect-to", f"contoso-com.mail.protection.outlook.com:25:{host}:{port}", "--interface", "127.0.0.10",
         "--mail-from", "scanner@contoso.com", "--mail-rcpt", "scans@contoso.com", "--upload-file", str(message)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = json.loads(tenant.relaylab("tenant", "trace", "--json").stdout)
    assert rows[0]["from_ip"] == "203.0.113.10"


@needs_msmtp
def test_msmtp_xoauth2_waits_for_the_challenge(tenant: Running, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(_token(tenant))
    host, port = tenant.listen("submission")
    assert MSMTP is not None
    result = subprocess.run(
        [MSMTP, "-C", "/dev/null", f"--host={host}", f"--port={port}", "--tls=on", "--tls-starttls=on",
         f"--tls-trust-file={tenant.info['ca_cert']}", "--tls-host-override=smtp.office365.com",
         "--auth=xoauth2", "--user=notifications@contoso.com", f"--passwordeval=cat {token_file}",
         "--from=notifications@contoso.com", "adele.vance@contoso.com"],
        input="Subject: via msmtp\r\n\r\nhi\r\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    box = json.loads(tenant.relaylab("tenant", "mailbox", "adele.vance@contoso.com", "--json").stdout)
    assert [m["subject"] for m in box] == ["via msmtp"]


def test_sigterm_stops_cleanly_and_keeps_the_capture(tenant: Running) -> None:
    import smtplib

    host, port = tenant.listen("mx")
    with smtplib.SMTP(host, int(port), source_address=("127.0.0.10", 0), timeout=10) as smtp:
        smtp.sendmail("scanner@contoso.com", ["adele.vance@contoso.com"], "Subject: before stop\r\n\r\nx\r\n")
    assert stop(tenant) == 0
    rows = json.loads(tenant.relaylab("tenant", "trace", "--json").stdout)
    assert rows and rows[0]["subject"] == "before stop"


@needs_swaks
@needs_curl
def test_the_printed_commands_work_as_pasted(tmp_path: Path) -> None:
    """``tenant up`` without --json prints ready-to-paste commands: run them verbatim in a shell."""
    home = tmp_path / "home"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "relaylab").write_text(f"#!/bin/sh\nexec {sys.executable} -m engine.cli \"$@\"\n")
    (bindir / "relaylab").chmod(0o755)
    env = {**os.environ, "RELAYLAB_HOME": str(home), "COLUMNS": "200", "PATH": f"{bindir}:{os.environ['PATH']}"}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "tenant", "up", "--port-base", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert proc.stdout is not None
    try:
        printed: list[str] = []
        for line in proc.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl+C"):
                break
        commands = [line for line in printed if line.startswith(("swaks ", "printf ", "curl "))]
        assert len(commands) >= 4, printed

        def paste(command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=90,
                                  cwd=tmp_path)

        internal, external, relay = (paste(c) for c in commands[:3])
        assert "250 2.6.0" in internal.stdout and "Queued mail for delivery" in internal.stdout
        assert "<** 550 5.7.64 TenantAttribution; Relay Access Denied [" in external.stdout
        assert "<~  250 2.6.0" in relay.stdout  # the connector relays externally over TLS
        submissions = [paste(c) for c in commands[3:]]
        assert all(r.returncode == 0 for r in submissions), [r.stderr for r in submissions]
        trace = subprocess.run([sys.executable, "-m", "engine.cli", "tenant", "trace", "--json"],
                               capture_output=True, text=True, env=env, timeout=60)
        rows = json.loads(trace.stdout)
        assert {r["recipient_address"] for r in rows} >= {"adele.vance@contoso.com", "someone@fabrikam.com"}
        sent = sum(c.count("curl ") for c in commands[3:])
        assert sent >= 2 and len(rows) == 2 + sent  # Direct Send, connector relay, one per submission
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
