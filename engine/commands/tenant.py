"""Provides ``relaylab tenant up|trace|mailbox`` and ``relaylab token``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.commands._common import add_course_option, emit_json, stdout_console
from engine.commands.admin import register_tenant
from engine.errors import TenantError, UsageError

__all__ = ["register", "run_event_loop"]

STATUSES = ("Delivered", "Expanded", "Failed", "FilteredAsSpam", "GettingStatus", "None", "Pending", "Quarantined")
"""Get-MessageTraceV2 status values (labs.tenant.trace.STATUSES; a test keeps them equal)."""
FOLDERS = ("Inbox", "Junk Email", "Sent Items")
"""Mailbox folders (labs.tenant.mailstore.FOLDERS; a test keeps them equal)."""


def register(sub: Any) -> None:
    """Add the tenant commands."""
    tenant = sub.add_parser("tenant", help="run and inspect the mock Exchange Online tenant")
    tsub = tenant.add_subparsers(dest="tenant_command", metavar="SUBCOMMAND", required=True)

    p = tsub.add_parser("up", help="run the mock tenant in the foreground until Ctrl+C")
    p.add_argument("--scenario", default="contoso", help="scenario name or YAML file (default: contoso)")
    p.add_argument("--port-base", type=int, default=10000,
                   help="listen on N + the real port (10025, 10587, 10465, 10443); 0 picks free ports")
    p.add_argument("--state-dir", type=Path, help="where capture and mail go (default: per scenario in RELAYLAB_HOME)")
    p.add_argument("--json", action="store_true", help="print one JSON line when ready, nothing else")
    add_course_option(p)
    p.set_defaults(handler=cmd_up)

    p = tsub.add_parser("trace", help="message trace (Get-MessageTraceV2) of a tenant, running or stopped")
    _add_which(p)
    p.add_argument("--sender", action="append", default=[], help="SenderAddress (wildcards allowed)")
    p.add_argument("--recipient", action="append", default=[], help="RecipientAddress (wildcards allowed)")
    p.add_argument("--status", action="append", default=[], choices=STATUSES, help="Status")
    p.add_argument("--hours", type=float, default=48, help="how far back (default 48, at most 240)")
    p.add_argument("--detail", action="store_true", help="show the detail events (Get-MessageTraceDetailV2)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_trace)

    p = tsub.add_parser("mailbox", help="list what a mailbox (or an external address) received")
    p.add_argument("address", help="mailbox or external address")
    _add_which(p)
    p.add_argument("--folder", help=f"one folder: {', '.join(FOLDERS)} (Junk and Sent are accepted)")
    p.add_argument("--show", type=int, metavar="N", help="print message N of the list (1 = newest)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_mailbox)
    register_tenant(tsub)

    p = sub.add_parser("token", help="get an OAuth 2.0 access token from the mock token issuer")
    p.add_argument("--client-id", help="application (client) id")
    p.add_argument("--client-secret", help="client secret value")
    p.add_argument("--app", help="instead of --client-id/--client-secret: the app's display name in the scenario")
    p.add_argument("--username", help="resource-owner password flow: the user (delegated SMTP.Send token)")
    p.add_argument("--password", help="the user's password (with --username)")
    p.add_argument("--tenant", help="tenant id or domain (default: the running tenant's id)")
    p.add_argument("--scope", help="scope (default: https://outlook.office365.com/.default, or "
                                   "https://outlook.office.com/SMTP.Send with --username)")
    p.add_argument("--token-url", help="token endpoint (default: the running tenant's)")
    _add_which(p)
    p.add_argument("--json", action="store_true", help="print the whole token response")
    p.add_argument("--show", action="store_true", help="print the token even when stdout is a terminal")
    p.set_defaults(handler=cmd_token)


def _add_which(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", help="which tenant (default: the one that ran last)")
    p.add_argument("--state-dir", type=Path, help="state folder of the tenant")


# -- tenant up ---------------------------------------------------------------------------------------


def run_event_loop(main: Any) -> Any:
    """Run a coroutine on uvloop when it is installed (faster listeners), else on asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _commands(info: dict[str, Any], scenario: Any) -> list[tuple[str, str]]:
    eps = info["endpoints"]
    mx = eps["mx"]
    sub = eps["submission"]
    mx_host, mx_port = mx["listen"].rsplit(":", 1)
    ca = info["ca_cert"]
    sites = info["sites"]
    hq = sites.get("hq-office", {}).get("source", "127.0.0.10")
    dc = sites.get("datacenter", {}).get("source", "127.0.0.11")
    domain = scenario.default_domain
    internal = next((r.address for r in scenario.recipients if r.type == "UserMailbox"), f"user@{domain}")
    external = f"someone@{scenario.internet[0].name}" if scenario.internet else "someone@example.org"
    app = next((a.display_name for a in scenario.app_registrations if a.secrets), None)
    sender = next((p.identity for p in scenario.mailbox_permissions), f"app@{domain}")
    out = [
        ("Direct Send to an internal mailbox (a printer at hq-office)",
         f"swaks --server {mx_host}:{mx_port} --local-interface {hq} --ehlo mfp --from scanner@{domain} "
         f"--to {internal} --header 'Subject: Scan to email'"),
        ("the same to an external address (expect 550 5.7.64)",
         f"swaks --server {mx_host}:{mx_port} --local-interface {hq} --ehlo mfp --from scanner@{domain} --to {external}"),
        ("connector relay from the datacenter, with STARTTLS",
         f"swaks --server {mx_host}:{mx_port} --local-interface {dc} --tls --ehlo monitor --from alerts@{domain} "
         f"--to {external}"),
    ]
    if app:
        out.append((
            "client submission with OAuth 2.0 (XOAUTH2) on 587",
            f"printf 'Subject: hello\\r\\n\\r\\nSent with OAuth\\r\\n' > /tmp/msg.txt; "
            f"curl --url smtp://smtp.office365.com:587/client.{domain} "
            f"--connect-to smtp.office365.com:587:{sub['listen']} --ssl-reqd --cacert {ca} "
            f"--mail-from {sender} --mail-rcpt {internal} --upload-file /tmp/msg.txt "
            f"--user {sender} --oauth2-bearer \"$(relaylab token --app '{app}')\" --login-options AUTH=XOAUTH2"))
        if "smtps" in eps:
            out.append(("the same over implicit TLS on 465",
                        f"curl --url smtps://smtp.office365.com:465/client.{domain} "
                        f"--connect-to smtp.office365.com:465:{eps['smtps']['listen']} --cacert {ca} "
                        f"--mail-from {sender} --mail-rcpt {internal} --upload-file /tmp/msg.txt "
                        f"--user {sender} --oauth2-bearer \"$(relaylab token --app '{app}')\" "
                        "--login-options AUTH=XOAUTH2"))
    return out


async def serve_until_stopped(tenant: Any, announce: Any) -> None:
    """Keep a started tenant serving until Ctrl+C or SIGTERM.

    Writes ``tenant.json`` (and again after every admin change, so that ``lab grade`` and
    ``tenant trace`` see the current state), then calls ``announce(ready_info)``.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tenant.write_ready_file()

    def remember(_state: Any) -> None:
        tenant.write_ready_file()

    tenant.on_change(remember)
    announce(tenant.ready_info())
    await stop.wait()


def cmd_up(args: argparse.Namespace) -> int:
    from engine.tenants import load_scenario, pki_dir, state_dir_for
    from labs.tenant.server import Tenant, TenantStartError

    scenario = load_scenario(args.scenario, args.course)
    state_dir = args.state_dir or state_dir_for(scenario.id)

    def announce(info: dict[str, Any]) -> None:
        if args.json:
            sys.stdout.write(json.dumps(info, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        else:
            _print_ready(info, scenario)

    async def main() -> None:
        tenant = Tenant(scenario, state_dir=state_dir, pki_dir=pki_dir(), port_base=args.port_base)
        try:
            await tenant.start()
        except TenantStartError as exc:
            raise TenantError(str(exc)) from None
        try:
            await serve_until_stopped(tenant, announce)
        finally:
            await tenant.stop()
            if not args.json:
                print("tenant stopped; capture and mail kept in", state_dir, file=sys.stderr)

    run_event_loop(main())
    return 0


def _print_ready(info: dict[str, Any], scenario: Any) -> None:
    from rich.table import Table

    console = stdout_console()
    console.print(f"[bold]{scenario.name}[/] ({scenario.id}) — mock Exchange Online tenant is ready "
                  f"[dim](tenant id {scenario.tenant_id})[/]")
    table = Table(title="Endpoints", title_justify="left")
    for col in ("endpoint", "real host", "port", "listens on"):
        table.add_column(col, overflow="fold")  # host names and URLs are copied: wrap them, never cut them
    for name, ep in info["endpoints"].items():
        if name == "oauth":
            table.add_row("oauth", "login.microsoftonline.com", "443", ep["token_url"])
        else:
            table.add_row(name, "\n".join(ep["hosts"]), str(ep["port"]), ep["listen"])
    console.print(table)
    sites = Table(title="Sites (bind the source address to send from a site)", title_justify="left")
    for col in ("site", "public IP", "source address"):
        sites.add_column(col)
    for name, site in info["sites"].items():
        sites.add_row(name, site["public_ip"], site["source"])
    console.print(sites)
    console.print(f"CA certificate (trust it for TLS): {info['ca_cert']}")
    console.print(f"Capture and mail: {info['state_dir']}\n")
    for title, command in _commands(info, scenario):
        console.print(f"[bold]# {title}[/]")
        console.print(command, markup=False, soft_wrap=True)
    console.print("\nPress Ctrl+C to stop. See what arrived: relaylab tenant trace, relaylab tenant mailbox ADDRESS")


# -- trace and mailbox -----------------------------------------------------------------------------------


def _state_dir(args: argparse.Namespace) -> Path:
    from engine.tenants import running_info

    info = running_info(args.scenario, args.state_dir)
    return Path(info["state_dir"])


def cmd_trace(args: argparse.Namespace) -> int:
    from labs.tenant.capture import CaptureReader
    from labs.tenant.trace import TraceQuery, TraceQueryError, query_trace

    state_dir = _state_dir(args)
    reader = CaptureReader(state_dir / "capture.sqlite3")
    try:
        entries = reader.trace()
    except FileNotFoundError:
        raise TenantError(f"no capture in {state_dir}") from None
    now = datetime.now(UTC)
    try:
        from datetime import timedelta

        rows = query_trace(entries, TraceQuery(sender_address=args.sender, recipient_address=args.recipient,
                                               status=args.status, start_date=now - timedelta(hours=args.hours),
                                               end_date=now + timedelta(minutes=5)), now)
    except TraceQueryError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        from labs.records import record_to_json

        emit_json([record_to_json(r) for r in rows])
        return 0
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"Message trace ({len(rows)} row{'s' if len(rows) != 1 else ''})", title_justify="left")
    for col in ("Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "FromIP", "Connector"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.received.replace("T", " ")[:19], r.sender_address, r.recipient_address, r.subject[:40],
                      r.status, r.from_ip, r.connector or "")
    console.print(table)
    if args.detail:
        for r in rows:
            console.print(f"\n[bold]{r.recipient_address}[/] {r.message_id} ({r.status})")
            for e in r.events:
                console.print(f"  {e.date.replace('T', ' ')[:19]}  {e.action:<8} {e.detail}", markup=False)
    return 0


def cmd_mailbox(args: argparse.Namespace) -> int:
    from engine.tenants import load_scenario, running_info
    from labs.tenant.mailstore import MailStore

    state_dir = _state_dir(args)
    folder = {"junk": "Junk Email", "sent": "Sent Items", "inbox": "Inbox"}.get((args.folder or "").lower(), args.folder)
    if folder is not None and folder not in FOLDERS:
        raise UsageError(f"unknown folder {args.folder!r}; use one of: {', '.join(FOLDERS)}")
    info = running_info(args.scenario, args.state_dir)
    scenario_id = info.get("tenant", "")
    try:
        scenario = load_scenario(scenario_id) if scenario_id else None
    except UsageError:
        scenario = None
    domain = args.address.rpartition("@")[2].lower()
    external = scenario is not None and scenario.accepted_domain(domain) is None
    messages = MailStore(state_dir, state_dir / "capture.sqlite3").list(args.address, folder, external=external)
    if args.show is not None:
        if not 1 <= args.show <= len(messages):
            raise UsageError(f"there are {len(messages)} messages; --show takes 1 to {len(messages)}")
        sys.stdout.write(messages[args.show - 1].raw().decode("utf-8", errors="replace"))
        return 0
    if args.json:
        emit_json([{"folder": m.folder, "received": m.received, "from": m.sender, "subject": m.subject,
                    "message_id": m.message_id, "authentication_results": m.authentication_results}
                   for m in messages])
        return 0
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"{args.address}{' (external)' if external else ''}: {len(messages)} messages",
                  title_justify="left")
    for col in ("#", "folder", "from", "subject", "authentication"):
        table.add_column(col, overflow="fold")
    for i, m in enumerate(messages, start=1):
        table.add_row(str(i), m.folder, m.sender, m.subject, m.authentication_results[:80])
    console.print(table)
    return 0


# -- token ---------------------------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace) -> int:
    from engine.tenants import load_scenario, running_info

    info: dict[str, Any] | None = None
    if not args.token_url or args.app:
        info = running_info(args.scenario, args.state_dir)
    token_url = args.token_url or (info or {}).get("endpoints", {}).get("oauth", {}).get("token_url")
    if not token_url:
        raise TenantError("no token endpoint known: start a tenant or pass --token-url")
    client_id, secret = args.client_id, args.client_secret
    if args.app:
        scenario = load_scenario(str((info or {}).get("tenant", "contoso")))
        apps = {a.display_name.lower(): a for a in scenario.app_registrations}
        app = apps.get(args.app.lower())
        if app is None:
            raise UsageError(f"no app registration {args.app!r} in scenario {scenario.id!r}; "
                             f"known: {', '.join(a.display_name for a in scenario.app_registrations)}")
        client_id = app.app_id
        if app.secrets and not args.username:
            secret = app.secrets[0].value
    if not client_id:
        raise UsageError("pass --client-id (and --client-secret), or --app NAME")
    if args.tenant:
        parts = urllib.parse.urlsplit(token_url)
        segments = parts.path.split("/")
        if len(segments) > 1:
            segments[1] = urllib.parse.quote(args.tenant, safe="")
        token_url = urllib.parse.urlunsplit(parts._replace(path="/".join(segments)))
    if args.username:
        form = {"grant_type": "password", "client_id": client_id, "username": args.username,
                "password": args.password or "", "scope": args.scope or "https://outlook.office.com/SMTP.Send"}
    else:
        if not secret:
            raise UsageError("the client-credentials flow needs --client-secret")
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                "scope": args.scope or "https://outlook.office365.com/.default"}
    request = urllib.request.Request(token_url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback issuer only
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())
        except ValueError:
            error = {"error": f"HTTP {exc.code}"}
        if args.json:
            emit_json(error)
        description = str(error.get("error_description", "")).splitlines()[0] if error.get("error_description") else ""
        raise TenantError(f"{error.get('error', 'error')}: {description}".rstrip(": ")) from None
    except (urllib.error.URLError, OSError) as exc:
        raise TenantError(f"cannot reach the token endpoint {token_url}: {getattr(exc, 'reason', exc)}") from None
    if args.json:
        emit_json(body)
        return 0
    token = str(body.get("access_token", ""))
    if sys.stdout.isatty() and not args.show and not os.environ.get("RELAYLAB_SHOW_TOKENS"):
        print(f"token issued (expires in {body.get('expires_in')} s). Tokens are not printed to a terminal; "
              "capture it with TOKEN=$(relaylab token ...), or pass --show.", file=sys.stderr)
        return 0
    print(token)
    return 0
