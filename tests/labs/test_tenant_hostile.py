"""Hostile and broken clients get Exchange's replies, and the tenant keeps serving."""

from __future__ import annotations

import resource
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from labs.devices.tls import client_context
from tests.labs.conftest import load_contoso
from tests.labs.tenant_thread import TenantThread


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[TenantThread]:
    state = load_contoso(limits={"idle_timeout_seconds": 1.0})
    with TenantThread(state, tmp_path) as running:
        yield running


def raw(t: TenantThread, name: str = "mx", source: str = "127.0.0.10") -> socket.socket:
    """A raw socket past the banner (closed by the test)."""
    host, port = t.endpoint(name)
    sock = socket.create_connection((host, port), timeout=5, source_address=(source, 0))
    sock.recv(4096)  # banner
    return sock


def read_reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\r\n") or (len(data.splitlines()[-1]) > 3 and data.splitlines()[-1][3:4] == b"-"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def healthy(t: TenantThread) -> None:
    """A normal Direct Send still works."""
    host, port = t.endpoint("mx")
    with smtplib.SMTP(host, port, source_address=("127.0.0.10", 0), timeout=10) as smtp:
        assert smtp.sendmail("scanner@contoso.com", ["adele.vance@contoso.com"], "Subject: ok\r\n\r\nok\r\n") == {}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"EHLO " + b"x" * 2000 + b"\r\n", "500 5.3.3 Line too long"),
        (b"EHLO " + b"y" * 100_000 + b"\r\n", "500 5.3.3 Line too long"),
        (b"\x00\x01\x02junk\xff\xfe\r\n", "500 5.3.3 Unrecognized command"),
        (b"FOOBAR\r\n", "500 5.3.3 Unrecognized command 'FOOBAR'"),
        (b"MAIL FROM:<a@contoso.com>\r\n", "503 5.5.2 Send hello first"),
        (b"EHLO x\nRCPT TO:<adele.vance@contoso.com>\n", "503 5.5.2 Need mail command"),
        (b"EHLO x\r\nDATA\r\n", "503 5.5.2 Need mail command"),
        (b"EHLO x\r\nAUTH LOGIN\r\n", "504 5.7.4 Unrecognized authentication type"),
    ],
)
def test_bad_commands_get_replies_and_the_server_keeps_serving(tenant: TenantThread, payload: bytes, expected: str) -> None:
    sock = raw(tenant)
    sock.sendall(payload)
    replies = ""
    while expected not in replies:
        chunk = read_reply(sock)
        if not chunk:
            break
        replies += chunk
    sock.close()
    assert expected in replies
    healthy(tenant)


def test_flood_of_pipelined_rcpts_is_capped_and_closed(tenant: TenantThread) -> None:
    sock = raw(tenant)
    sock.sendall(b"EHLO flood\r\nMAIL FROM:<scanner@contoso.com>\r\n"
                 + b"".join(b"RCPT TO:<nobody%d@contoso.com>\r\n" % i for i in range(5000)))
    data = b""
    sock.settimeout(10)
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    assert b"550 5.4.1 Recipient address rejected" in data
    assert b"421 4.7.0 Too many errors on this connection, closing transmission channel" in data
    healthy(tenant)
    record = [r for r in tenant.records() if r.ehlo == "flood"][0]
    assert len(record.transcript) <= 4000 and record.close == "server"


def test_data_that_never_ends_times_out(tenant: TenantThread) -> None:
    sock = raw(tenant)
    sock.sendall(b"EHLO slow\r\nMAIL FROM:<scanner@contoso.com>\r\nRCPT TO:<adele.vance@contoso.com>\r\nDATA\r\n")
    got = b""
    while b"354" not in got:
        got += sock.recv(4096)
    sock.sendall(b"Subject: never ends\r\n\r\npart of a message")
    sock.settimeout(10)
    tail = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        tail += chunk
    sock.close()
    assert b"421 4.4.1 Connection timed out" in tail
    record = [r for r in tenant.records() if r.ehlo == "slow"][0]
    assert record.close == "timeout"
    assert tenant.mailbox("adele.vance@contoso.com") == []
    healthy(tenant)


def test_silent_client_is_closed_by_the_idle_timer(tenant: TenantThread) -> None:
    sock = raw(tenant)
    sock.settimeout(10)
    assert b"421 4.4.1" in sock.recv(4096)
    sock.close()
    healthy(tenant)


def test_tls_handshake_cut_halfway(tenant: TenantThread) -> None:
    sock = raw(tenant)
    sock.sendall(b"EHLO cut\r\nSTARTTLS\r\n")
    got = b""
    while b"220 2.0.0 SMTP server ready" not in got:
        got += sock.recv(4096)
    sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40)  # a truncated ClientHello
    sock.close()
    healthy(tenant)
    record = [r for r in tenant.records() if r.ehlo == "cut"][0]
    assert record.tls is None


def test_bare_lf_and_a_bare_lf_dot_do_not_end_data(tenant: TenantThread) -> None:
    sock = raw(tenant)
    sock.sendall(b"EHLO lf\r\nMAIL FROM:<scanner@contoso.com>\r\nRCPT TO:<adele.vance@contoso.com>\r\nDATA\r\n")
    got = b""
    while b"354" not in got:
        got += sock.recv(4096)
    # "\n.\n" is not the end of data (SMTP smuggling); only CRLF.CRLF is
    sock.sendall(b"Subject: lf\n\nline\n.\nMAIL FROM:<evil@contoso.com>\nmore\r\n.\r\n")
    reply = read_reply(sock)
    sock.sendall(b"QUIT\r\n")
    sock.close()
    assert reply.startswith("250 2.6.0")
    messages = tenant.mailbox("adele.vance@contoso.com", "Inbox")
    assert len(messages) == 1
    assert b"MAIL FROM:<evil@contoso.com>" in messages[0].raw()


@pytest.mark.slow
def test_500_clients_at_once(tenant: TenantThread) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    host, port = tenant.endpoint("mx")
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with smtplib.SMTP(host, port, source_address=("127.0.0.10", 0), timeout=60) as smtp:
                smtp.sendmail("scanner@contoso.com", ["adele.vance@contoso.com"], f"Subject: {i}\r\n\r\nx\r\n")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(500)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert errors == []
    assert len(tenant.mailbox("adele.vance@contoso.com", "Inbox")) == 500
    healthy(tenant)


def test_old_tls_on_mx_is_refused_and_the_client_may_fall_back(tenant: TenantThread) -> None:
    sock = raw(tenant)
    sock.sendall(b"EHLO old\r\nSTARTTLS\r\n")
    got = b""
    while b"220 2.0.0" not in got:
        got += sock.recv(4096)
    ctx = client_context(max_version="1.0", verify=False)
    with pytest.raises((ssl.SSLError, OSError)):
        ctx.wrap_socket(sock, server_hostname="contoso-com.mail.protection.outlook.com").do_handshake()
    sock.close()
    healthy(tenant)  # plain SMTP still works: inbound TLS is opportunistic


def test_a_client_that_hangs_up_without_quit_ends_its_session(tenant: TenantThread) -> None:
    import asyncio

    sock = raw(tenant)
    sock.sendall(b"EHLO gone\r\n")
    read_reply(sock)
    sock.close()
    # the session ends as soon as the client hangs up, well before the idle timer
    asyncio.run_coroutine_threadsafe(tenant.tenant.settle(timeout=0.8), tenant.loop).result(10)
    record = [r for r in tenant.records() if r.ehlo == "gone"][0]
    assert record.close == "client-closed"


def test_memory_does_not_grow_with_hostile_sessions(tenant: TenantThread) -> None:
    import gc
    import tracemalloc

    payloads = [b"\x00\xff junk\r\n" * 20, b"EHLO x\r\n" + b"RCPT TO:<a@b.c>\r\n" * 60, b"EHLO " + b"z" * 5000 + b"\r\n",
                b"EHLO y\r\nMAIL FROM:<a@contoso.com>\r\nRCPT TO:<nobody@contoso.com>\r\nQUIT\r\n"]

    def batch() -> None:
        for i in range(120):
            sock = raw(tenant)
            sock.sendall(payloads[i % len(payloads)])
            sock.close()
        tenant.records()  # every session finished and written
        gc.collect()

    tracemalloc.start()
    try:
        batch()
        first = tracemalloc.get_traced_memory()[0]
        batch()
        batch()
        grown = tracemalloc.get_traced_memory()[0] - first
    finally:
        tracemalloc.stop()
    assert grown < 3 * 1024 * 1024, f"memory grew by {grown / 1024:.0f} KB over 240 more hostile sessions"
    healthy(tenant)
