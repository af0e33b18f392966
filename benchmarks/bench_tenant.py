"""Benchmark: the mock tenant's MX endpoint against a bare aiosmtpd sink, measured in the same run.

* throughput: Postfix's ``smtp-source`` (one connection per message, 1 KB messages, 20 sessions)
  against the tenant (capture on, full policy) and against a bare aiosmtpd sink whose handler
  only returns 250; messages/s, their ratio, and server CPU per message;
* memory: peak RSS of the tenant with 100 connections sending 1 MB messages;
* start-up: ``relaylab tenant up --json`` until its ready line, cold (new PKI) and warm;
* submission: STARTTLS + XOAUTH2 + one message per connection against the tenant, and STARTTLS +
  a trivial AUTH on a bare aiosmtpd, with the same client; token issuance requests/s; RSS with
  100 STARTTLS sessions held open.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.paths import bundled_content

SINK = r"""
import asyncio, logging, os, ssl, sys, warnings
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd logs a deprecation on every AUTH
from aiosmtpd.smtp import SMTP, AuthResult
mode = sys.argv[1]
class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
def auth(server, session, envelope, mechanism, data):
    return AuthResult(success=True)
async def main():
    loop = asyncio.get_running_loop()
    ctx = None
    if mode == "tls":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="sink.local", tls_context=ctx, authenticator=auth,
                     auth_require_tls=ctx is not None, data_size_limit=None),
        "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

CLIENT = r"""
import asyncio, base64, json, ssl, sys, time
host, port, sessions, count, mode, user, token, ca = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
if mode == "sink":
    ctx.verify_mode = ssl.CERT_NONE
msg = b"From: " + user.encode() + b"\r\nTo: adele.vance@contoso.com\r\nSubject: bench\r\n\r\n" + (b"x" * 78 + b"\r\n") * 12 + b".\r\n"
blob = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())
errors = 0
async def expect(r, code):
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            if not line.startswith(code):
                raise RuntimeError(line)
            return
async def one():
    r, w = await asyncio.open_connection(host, port)
    await expect(r, b"220")
    w.write(b"EHLO bench\r\n"); await expect(r, b"250")
    w.write(b"STARTTLS\r\n"); await expect(r, b"220")
    await w.start_tls(ctx)
    w.write(b"EHLO bench\r\n"); await expect(r, b"250")
    if mode == "sink":
        w.write(b"AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0secret") + b"\r\n")
    else:
        w.write(b"AUTH XOAUTH2 " + blob + b"\r\n")
    await expect(r, b"235")
    w.write(b"MAIL FROM:<" + user.encode() + b">\r\n"); await expect(r, b"250")
    w.write(b"RCPT TO:<adele.vance@contoso.com>\r\n"); await expect(r, b"250")
    w.write(b"DATA\r\n"); await expect(r, b"354")
    w.write(msg); await expect(r, b"250")
    w.write(b"QUIT\r\n"); await expect(r, b"221")
    w.close()
async def worker(n):
    global errors
    for _ in range(n):
        try:
            await one()
        except Exception as exc:
            errors += 1
async def main():
    per = count // sessions
    t = time.perf_counter()
    await asyncio.gather(*(worker(per) for _ in range(sessions)))
    print(json.dumps({"seconds": time.perf_counter() - t, "sessions": per * sessions, "errors": errors}))
asyncio.run(main())
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _bench_scenario(folder: Path) -> Path:
    """The bundled scenario with per-mailbox limits raised, so that one mailbox can carry the load."""
    import yaml

    data = yaml.safe_load((bundled_content() / "tenants" / "contoso.yaml").read_text())
    data["limits"] = {"concurrent_connections": 1000, "message_rate_per_minute": 1_000_000,
                      "recipients_per_day": 100_000_000}
    path = folder / "contoso-bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _start_tenant(home: Path, extra: list[str] | None = None) -> tuple[subprocess.Popen[str], dict[str, Any], float]:
    env = {**os.environ, "RELAYLAB_HOME": str(home)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "tenant", "up", "--port-base", "0", "--json",
                             *(extra or [])], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    ready = time.perf_counter() - started
    if not line:
        proc.kill()
        raise RuntimeError("tenant did not start")
    return proc, json.loads(line), ready


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _start_sink(mode: str = "plain", cert: str = "", key: str = "") -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", SINK, mode, cert, key], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _smtp_source(port: int, messages: int, sessions: int, size: int) -> float:
    started = time.perf_counter()
    subprocess.run(["smtp-source", "-l", str(size), "-m", str(messages), "-s", str(sessions),
                    "-f", "scanner@contoso.com", "-t", "adele.vance@contoso.com", f"127.0.0.1:{port}"],
                   check=True, capture_output=True, timeout=600)
    return time.perf_counter() - started


def _throughput(label: str, pid: int, port: int, messages: int, sessions: int, size: int) -> dict[str, float]:
    cpu0 = _cpu_seconds(pid)
    seconds = _smtp_source(port, messages, sessions, size)
    cpu = _cpu_seconds(pid) - cpu0
    out = {"msgs_per_s": messages / seconds, "cpu_ms_per_msg": 1000 * cpu / messages, "peak_rss_mb": _peak_rss_mb(pid)}
    print(f"  {label:<34} {out['msgs_per_s']:8.0f} msg/s   {out['cpu_ms_per_msg']:.3f} ms CPU/msg   "
          f"peak RSS {out['peak_rss_mb']:.0f} MB", flush=True)
    return out


def run(quick: bool = False) -> None:
    if shutil.which("smtp-source") is None:
        print("smtp-source not found (Debian package 'postfix'); skipping the MX throughput figures")
        return
    messages = 2000 if quick else 20000
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        # start-up: cold (creates the CA), then warm
        proc, info, cold = _start_tenant(home)
        _stop(proc)
        proc, info, warm = _start_tenant(home)
        print(f"tenant up ready: cold {cold:.2f} s (CA and keys created), warm {warm:.2f} s")
        mx_port = int(info["endpoints"]["mx"]["listen"].rsplit(":", 1)[1])
        print(f"MX throughput, {messages} messages of 1 KB, 20 sessions, one connection per message:")
        sink, sink_port = _start_sink()
        try:
            base = _throughput("bare aiosmtpd sink (asyncio loop)", sink.pid, sink_port, messages, 20, 1024)
            tenant = _throughput("mock tenant (capture, full policy)", proc.pid, mx_port, messages, 20, 1024)
        finally:
            _stop(sink)
        print(f"  ratio tenant/bare: {tenant['msgs_per_s'] / base['msgs_per_s']:.2f}x")
        _stop(proc)

        proc, info, _ = _start_tenant(Path(tmp) / "home-big")
        mx_port = int(info["endpoints"]["mx"]["listen"].rsplit(":", 1)[1])
        big = 200 if quick else 1000
        print(f"MX memory, {big} messages of 1 MB over 100 concurrent sessions:")
        _throughput("mock tenant", proc.pid, mx_port, big, 100, 1024 * 1024)
        _stop(proc)

        _submission(home, quick)


def _submission(home: Path, quick: bool) -> None:
    proc, info, _ = _start_tenant(home, ["--scenario", str(_bench_scenario(home.parent))])
    try:
        env = {**os.environ, "RELAYLAB_HOME": str(home)}
        token = subprocess.run([sys.executable, "-m", "engine.cli", "token", "--app", "Contoso Portal Mailer"],
                               capture_output=True, text=True, env=env, check=True).stdout.strip()
        sub_host, sub_port = info["endpoints"]["submission"]["listen"].rsplit(":", 1)
        ca = info["ca_cert"]
        count = 400 if quick else 3000
        sessions = 20
        print(f"Submission, {count} sessions (STARTTLS + AUTH + 1 KB message), {sessions} concurrent:")
        from labs.tenant.pki import Pki

        cert, key = Pki(home / "pki").server_certificate("submission")
        results = {}
        targets: list[tuple[str, str, int, int]] = []
        sink = None
        sink, sink_port = _start_sink("tls", str(cert), str(key))
        targets.append(("bare aiosmtpd, STARTTLS + trivial AUTH", "sink", sink_port, sink.pid))
        targets.append(("mock tenant, STARTTLS + XOAUTH2", "tenant", int(sub_port), proc.pid))
        for label, mode, port, pid in targets:
            cpu0 = _cpu_seconds(pid)
            out = json.loads(subprocess.run([sys.executable, "-c", CLIENT, sub_host, str(port), str(sessions), str(count),
                                             mode, "notifications@contoso.com", token, ca],
                                            capture_output=True, text=True, check=True, timeout=900).stdout)
            rate = out["sessions"] / out["seconds"]
            results[mode] = rate
            print(f"  {label:<40} {rate:7.0f} sessions/s   {1000 * (_cpu_seconds(pid) - cpu0) / out['sessions']:.2f} "
                  f"ms CPU/session   errors {out['errors']}", flush=True)
        if sink is not None:
            _stop(sink)
            print(f"  ratio tenant/bare: {results['tenant'] / results['sink']:.2f}x")
        # token issuance
        import urllib.parse
        import urllib.request

        import yaml

        from labs.tenant.scenario import TenantScenario

        scenario = TenantScenario.model_validate(yaml.safe_load((bundled_content() / "tenants" / "contoso.yaml").read_text()))
        app = scenario.app_registrations[0]
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": app.app_id,
                                       "client_secret": app.secrets[0].value,
                                       "scope": "https://outlook.office365.com/.default"}).encode()
        n = 200 if quick else 1000
        started = time.perf_counter()
        for _ in range(n):
            with urllib.request.urlopen(info["endpoints"]["oauth"]["token_url"], data=form, timeout=10) as response:
                response.read()
        print(f"Token issuance: {n / (time.perf_counter() - started):.0f} requests/s (one client, sequential)")
        print(f"Tenant RSS after the submission run: {_rss_mb(proc.pid):.0f} MB (peak {_peak_rss_mb(proc.pid):.0f} MB)")
    finally:
        _stop(proc)
    # held-open sessions on a tenant of their own, so the figure is not the load run's high-water mark
    proc, info, _ = _start_tenant(home)
    try:
        _held_open(info, proc.pid)
    finally:
        _stop(proc)


def _held_open(info: dict[str, Any], pid: int) -> None:
    import socket
    import ssl

    host, port = info["endpoints"]["submission"]["listen"].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=info["ca_cert"])
    ctx.check_hostname = False
    before = _rss_mb(pid)
    held = []
    for _ in range(100):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.recv(4096)
        sock.sendall(b"EHLO held\r\n")
        data = b""
        while b"250 SMTPUTF8" not in data:
            data += sock.recv(4096)
        sock.sendall(b"STARTTLS\r\n")
        sock.recv(4096)
        tls = ctx.wrap_socket(sock, server_hostname="smtp.office365.com")
        tls.sendall(b"EHLO held\r\n")
        data = b""
        while b"250 SMTPUTF8" not in data:
            data += tls.recv(4096)
        held.append(tls)
    after = _rss_mb(pid)
    print(f"RSS with 100 STARTTLS sessions held open: {after:.0f} MB ({after - before:.1f} MB more than idle, "
          f"{(after - before) * 10:.0f} KB per session)")
    for s in held:
        s.close()
