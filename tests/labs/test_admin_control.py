"""The admin control channel: a 0600 Unix socket that the tenant opens and closes, JSON lines, one shell
session per connection, stale and live sockets at start, and hostile requests."""

from __future__ import annotations

import json
import smtplib
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from labs.tenant.admin.control import MAX_REQUEST, ControlClient, ControlUnavailable, send_command
from labs.tenant.server import TenantStartError
from tests.labs.conftest import load_contoso
from tests.labs.tenant_thread import TenantThread


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[TenantThread]:
    with TenantThread(load_contoso(), tmp_path) as running:
        yield running


def socket_of(t: TenantThread) -> Path:
    return Path(t.tenant.ready_info()["admin_socket"])


def direct_send(t: TenantThread) -> bool:
    """Direct Send from the head office; True when every recipient was accepted (sendmail raises otherwise)."""
    host, port = t.endpoint("mx")
    with smtplib.SMTP(host, port, timeout=10, source_address=("127.0.0.10", 0)) as smtp:
        refused = smtp.sendmail("scanner@contoso.com", ["adele.vance@contoso.com"], "Subject: x\r\n\r\ny\r\n")
    return refused == {}


def test_socket_is_owner_only_and_named_in_ready_info(tenant: TenantThread) -> None:
    path = socket_of(tenant)
    assert path == tenant.tenant.state_dir / "admin.sock"
    mode = path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".admin-")]  # no staging folder left


def test_send_command_changes_the_running_tenant(tenant: TenantThread) -> None:
    result = send_command(socket_of(tenant), "Set-OrganizationConfig -RejectDirectSend $true")
    assert result == {"ok": True, "output": "", "objects": [], "error": None}
    assert tenant.tenant.state.organization_config.reject_direct_send is True
    failed = send_command(socket_of(tenant), "Get-Mailbox -Identity")
    assert failed["ok"] is False and failed["error"] == ("Missing an argument for parameter 'Identity'. Specify a "
                                                         "parameter of type 'System.String' and try again.")


def test_each_connection_is_a_session(tenant: TenantThread) -> None:
    with ControlClient(socket_of(tenant)) as first, ControlClient(socket_of(tenant)) as second:
        first.execute("Connect-ExchangeOnline -UserPrincipalName megan.bowen@contoso.com -ShowBanner:$false")
        assert first.execute("Set-CASMailbox app -SmtpClientAuthenticationDisabled $false")["ok"]
        assert second.execute("Set-CASMailbox app -SmtpClientAuthenticationDisabled $true")["ok"]
        assert first.complete("Set-CASMailbox app -Smt") == ["-SmtpClientAuthenticationDisabled"]
    tenant.call(tenant.tenant.flush)
    who = [(e.who, e.parameters["SmtpClientAuthenticationDisabled"]) for e in tenant.tenant.reader().audit()]
    assert who == [("megan.bowen@contoso.com", False), ("admin@contoso.onmicrosoft.com", True)]


def test_hostile_requests_get_an_error_and_the_tenant_keeps_serving(tenant: TenantThread) -> None:
    path = str(socket_of(tenant))
    with ControlClient(path) as client:
        assert client.request({"nothing": 1})["error"] == "The request has neither 'command' nor 'complete'."
        huge = client.execute("Get-Mailbox " + "y" * (1024 * 1024))
        assert huge["error"] == "The command line is too long: 1,048,588 characters, and at most 32,767 are accepted."
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(10)
    raw.connect(path)
    raw.sendall(b"not json\n")
    reply = raw.makefile("rb").readline()
    assert json.loads(reply)["error"] == "The request is not a JSON object."
    raw.sendall(b"{" + b"x" * (MAX_REQUEST + 10))
    answer = raw.makefile("rb").readline()
    assert json.loads(answer)["error"] == "The request is too long (more than 4,194,304 bytes)."
    raw.close()
    assert direct_send(tenant)
    assert send_command(path, "Get-OrganizationConfig")["ok"]


def test_an_idle_client_does_not_block_smtp(tenant: TenantThread) -> None:
    with ControlClient(socket_of(tenant)) as idle:
        assert direct_send(tenant)
        assert idle.execute("Get-MessageTraceV2 -RecipientAddress adele.vance@contoso.com")["objects"][0]["Status"] \
            == "Delivered"


def test_socket_is_removed_when_the_tenant_stops(tmp_path: Path) -> None:
    with TenantThread(load_contoso(), tmp_path) as running:
        path = socket_of(running)
        assert path.exists()
    assert not path.exists()
    with pytest.raises(ControlUnavailable, match="no tenant is running"):
        send_command(path, "Get-Mailbox")


def test_a_stale_socket_is_replaced(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(state / "admin.sock"))
    stale.close()  # bound, never listening: what a killed tenant leaves
    with TenantThread(load_contoso(), tmp_path) as running:
        assert send_command(socket_of(running), "Get-OrganizationConfig")["ok"]


def test_a_live_socket_refuses_a_second_tenant(tenant: TenantThread, tmp_path: Path) -> None:
    second = TenantThread(load_contoso(), tmp_path)
    with pytest.raises(TenantStartError, match="a tenant is already running in"):
        second.__enter__()
    second._thread.join(30)
    second.loop.close()
    assert send_command(socket_of(tenant), "Get-OrganizationConfig")["ok"]


def test_a_file_in_the_way_is_not_deleted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "admin.sock").write_text("mine")
    blocked = TenantThread(load_contoso(), tmp_path)
    with pytest.raises(TenantStartError, match="exists and is not a socket"):
        blocked.__enter__()
    blocked._thread.join(30)
    blocked.loop.close()
    assert (state / "admin.sock").read_text() == "mine"


def test_a_long_state_folder_still_gets_its_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with TenantThread(load_contoso(), deep) as running:
        path = socket_of(running)
        assert len(str(path)) > 108
        assert send_command(path, "Get-OrganizationConfig")["ok"]
    assert not path.exists()
