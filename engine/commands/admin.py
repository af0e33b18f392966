"""Provides ``relaylab tenant exec`` and ``relaylab tenant shell``: admin cmdlets against a running tenant.

Both reach the tenant through its control socket (``admin.sock`` in the tenant's state folder,
readable by its owner only), found through the ``tenant.json`` the tenant wrote when it started.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands._common import emit_json
from engine.errors import RelaylabError, TenantError
from engine.paths import data_home
from engine.tenants import running_info

if TYPE_CHECKING:  # the control client is imported when a command runs, so that --help stays quick
    from labs.tenant.admin.control import ControlClient

__all__ = ["cmd_exec", "cmd_shell", "register_tenant"]

_HISTORY_LENGTH = 1000


def register_tenant(tsub: Any) -> None:
    """Add ``exec`` and ``shell`` to the ``relaylab tenant`` subcommands."""
    p = tsub.add_parser("exec", help="run an admin cmdlet against the running tenant",
                        description="Run one Exchange Online admin command line (cmdlets, pipelines into "
                                    "Select/Where/Format-*) against the running tenant. Quote the whole line; in "
                                    "bash write \\$true and \\$false, or use single quotes around the line.")
    p.add_argument("command", metavar="CMDLET", help="the command line, e.g. \"Get-InboundConnector | Select Name\"")
    _add_which(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON (ok, output, objects, error)")
    p.set_defaults(handler=cmd_exec)

    p = tsub.add_parser("shell", help="interactive admin cmdlet shell (PS> prompt, history, Tab completion)")
    _add_which(p)
    p.set_defaults(handler=cmd_shell)


def _add_which(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", help="which tenant (default: the one that ran last)")
    p.add_argument("--state-dir", type=Path, help="state folder of the tenant")


def _socket_path(args: argparse.Namespace) -> Path:
    from labs.tenant.admin.control import SOCKET_NAME

    try:
        info = running_info(args.scenario, args.state_dir)
    except TenantError as exc:
        raise TenantError(f"no tenant is running ({exc.message})") from None
    path = Path(info.get("admin_socket") or Path(info["state_dir"]) / SOCKET_NAME)
    if not path.exists():
        raise TenantError("no tenant is running: start one with 'relaylab tenant up'")
    return path


def _connect(path: Path) -> ControlClient:
    from labs.tenant.admin.control import ControlClient, ControlError, ControlUnavailable

    try:
        return ControlClient(path)
    except ControlUnavailable:
        raise TenantError("no tenant is running: start one with 'relaylab tenant up'") from None
    except ControlError as exc:
        raise TenantError(str(exc)) from None


def cmd_exec(args: argparse.Namespace) -> int:
    """Run one command line; exit 1 with its one-line error when it fails."""
    from labs.tenant.admin.control import ControlError

    client = _connect(_socket_path(args))
    try:
        result = client.execute(args.command)
    except ControlError as exc:
        raise TenantError(str(exc)) from None
    finally:
        client.close()
    if args.json:
        emit_json(result)
        return 0 if result.get("ok") else 1
    output = str(result.get("output") or "")
    if output:
        sys.stdout.write(output if output.endswith("\n") else output + "\n")
    if not result.get("ok"):
        raise RelaylabError(str(result.get("error") or "the command failed"))
    return 0


def _history_file() -> Path:
    return data_home() / "shell_history"


def _setup_readline(client: ControlClient) -> Callable[[], None]:
    """Set up history and Tab completion; returns the function that saves the history."""
    from labs.tenant.admin.control import ControlError

    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return lambda: None
    history = _history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(_HISTORY_LENGTH)
    readline.set_completer_delims(" \t\n|;,(){}")
    matches: list[str] = []

    def complete(text: str, state: int) -> str | None:
        if state == 0:
            line = readline.get_line_buffer()[:readline.get_endidx()]
            try:
                matches[:] = client.complete(line)
            except ControlError:
                matches[:] = []
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)

    return save


def cmd_shell(args: argparse.Namespace) -> int:
    """Read command lines at a ``PS>`` prompt until ``exit`` or end of input."""
    from labs.tenant.admin.control import ControlError

    path = _socket_path(args)
    client = _connect(path)
    save = _setup_readline(client)
    interactive = sys.stdin.isatty()
    if interactive:
        print("relaylab admin shell: Exchange Online cmdlets, live against the mock tenant. "
              "Get-Help lists them, Tab completes, 'exit' leaves.")
    code = 0
    try:
        while True:
            try:
                line = input("PS> " if interactive else "")
            except EOFError:
                break
            except KeyboardInterrupt:
                print()
                continue
            text = line.strip()
            if not text:
                continue
            if text.lower() in ("exit", "quit", "exit-pssession"):
                break
            if text.lower() in ("cls", "clear", "clear-host"):
                print("\033[H\033[2J", end="")
                continue
            try:
                result = client.execute(line)
            except ControlError as exc:
                print(f"relaylab: error: {exc}", file=sys.stderr)
                code = 1
                break
            output = str(result.get("output") or "")
            if output:
                sys.stdout.write(output if output.endswith("\n") else output + "\n")
            if not result.get("ok"):
                print(str(result.get("error")), file=sys.stderr)
            sys.stdout.flush()
    finally:
        save()
        client.close()
    return code
