"""Provides the admin control channel: a Unix socket in the tenant's state folder, and its client.

``Tenant.start()`` opens ``<state_dir>/admin.sock`` with mode 0600, so only the user who runs
the tenant can reach it (and a connection from another uid is refused as well); no TCP port is
opened. The protocol is JSON lines; each connection has its own :class:`AdminShell` session::

    → {"command": "Get-InboundConnector"}
    ← {"ok": true, "output": "...", "objects": [...], "error": null}
    → {"complete": "Set-CASMailbox -Smtp"}
    ← {"completions": ["-SmtpClientAuthenticationDisabled"]}

Commands run on the tenant's event loop, one at a time, so a state swap never races an SMTP
command. A socket path that is already served by a live tenant is refused; a stale one (left by
a tenant that was killed) is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labs.tenant.admin.shell import AdminShell

if TYPE_CHECKING:
    from labs.tenant.server import Tenant

__all__ = ["MAX_REQUEST", "SOCKET_NAME", "ControlClient", "ControlError", "ControlServer", "ControlUnavailable",
           "send_command"]

SOCKET_NAME = "admin.sock"
"""File name of the socket in the tenant's state folder."""

MAX_REQUEST = 4 * 1024 * 1024
"""Longest request line accepted, in bytes."""

_MAX_PATH = 100


class ControlError(RuntimeError):
    """The control channel cannot be opened, or a request failed."""


class ControlUnavailable(ControlError):
    """No tenant answers on the socket (it is absent, or stale)."""


@contextlib.contextmanager
def _addressable(path: Path) -> Iterator[str]:
    """Yield an address for ``path`` that fits a Unix socket address (through /proc for long paths)."""
    text = str(path)
    if len(text.encode()) <= _MAX_PATH or not Path("/proc/self/fd").is_dir():
        yield text
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def is_alive(path: Path) -> bool:
    """Whether a tenant's control socket at ``path`` answers (a running tenant owns that folder)."""
    return path.exists() and _alive(path)


def _alive(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        with _addressable(path) as address:
            probe.connect(address)
        return True
    except OSError:
        return False
    finally:
        probe.close()


class ControlServer:
    """Serves a tenant's admin shell on a Unix socket.

    Args:
        tenant: the running tenant.
        path: the socket path (``<state_dir>/admin.sock``).
    """

    def __init__(self, tenant: Tenant, path: Path) -> None:
        self.tenant = tenant
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Bind the socket (mode 0600) and start serving.

        Raises:
            ControlError: another tenant serves the path, or it is not a socket.
        """
        path = self.path
        if path.exists() or path.is_symlink():
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise ControlError(f"{path} exists and is not a socket; move it away")
            if _alive(path):
                raise ControlError(f"another tenant is already running with the state folder {path.parent}")
            path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bind inside a private (0700) folder, restrict the socket, then move it into place, so it is
        # never reachable with wider permissions.
        private = Path(tempfile.mkdtemp(prefix=".admin-", dir=path.parent))
        try:
            staged = private / "s"
            with _addressable(staged) as address:
                sock.bind(address)
            os.chmod(staged, 0o600)
            os.replace(staged, path)
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot open the admin control socket {path}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                private.rmdir()
        self._inode = path.stat().st_ino
        sock.listen(16)
        sock.setblocking(False)
        self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=MAX_REQUEST)

    async def close(self) -> None:
        """Stop serving, close client connections and remove the socket file."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        with contextlib.suppress(OSError):
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()
        self._inode = None

    def _same_user(self, writer: asyncio.StreamWriter) -> bool:
        sock = writer.get_extra_info("socket")
        option = getattr(socket, "SO_PEERCRED", None)
        if sock is None or option is None:
            return True
        try:
            _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
        except OSError:
            return False
        return bool(uid == os.getuid())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        shell = AdminShell(self.tenant)
        try:
            if not self._same_user(writer):
                await _reply(writer, {"ok": False, "output": "", "objects": [],
                                      "error": "Access is denied: the tenant belongs to another user."})
                return
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await _reply(writer, {"ok": False, "output": "", "objects": [],
                                          "error": f"The request is too long (more than {MAX_REQUEST:,} bytes)."})
                    return
                if not line:
                    return
                await _reply(writer, self._answer(shell, line))
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._clients.discard(writer)
            writer.close()

    @staticmethod
    def _answer(shell: AdminShell, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return {"ok": False, "output": "", "objects": [], "error": "The request is not a JSON object."}
        if isinstance(request.get("command"), str):
            return shell.execute(request["command"]).to_json()
        if isinstance(request.get("complete"), str):
            return {"completions": shell.complete(request["complete"])}
        return {"ok": False, "output": "", "objects": [], "error": "The request has neither 'command' nor 'complete'."}


async def _reply(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    writer.write(json.dumps(payload, ensure_ascii=False, default=str).encode() + b"\n")
    await writer.drain()


class ControlClient:
    """A blocking connection to a tenant's control socket (one admin shell session).

    Args:
        socket_path: the tenant's ``admin.sock``.
        timeout: seconds to wait for each answer.

    Raises:
        ControlUnavailable: nothing answers at ``socket_path``.
    """

    def __init__(self, socket_path: Path | str, timeout: float = 30.0) -> None:
        path = Path(socket_path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            with _addressable(path) as address:
                self._sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
            self._sock.close()
            raise ControlUnavailable(f"no tenant is running (nothing answers at {path}: {exc.strerror})") from None
        except OSError as exc:
            self._sock.close()
            raise ControlError(f"cannot reach the tenant's control socket {path}: {exc.strerror or exc}") from None
        self._file = self._sock.makefile("rb")

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return the answer."""
        try:
            self._sock.sendall(json.dumps(payload).encode() + b"\n")
            line = self._file.readline(MAX_REQUEST * 4)
        except TimeoutError:
            raise ControlError("the tenant did not answer in time") from None
        except OSError as exc:
            raise ControlError(f"the connection to the tenant failed: {exc.strerror or exc}") from None
        if not line:
            raise ControlError("the tenant closed the connection (it may have stopped)")
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ControlError("the tenant sent an invalid answer")
        return answer

    def execute(self, line: str) -> dict[str, Any]:
        """Run a command line; returns the CommandResult as a mapping."""
        return self.request({"command": line})

    def complete(self, text: str) -> list[str]:
        """Completions of the last word of ``text``."""
        return [str(c) for c in self.request({"complete": text}).get("completions", [])]

    def close(self) -> None:
        """Close the connection."""
        self._file.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_command(socket_path: Path | str, line: str, timeout: float = 30.0) -> dict[str, Any]:
    """Run one command line on the tenant behind ``socket_path``.

    Returns:
        ``{"ok", "output", "objects", "error"}`` as the shell returned it.

    Raises:
        ControlUnavailable: no tenant answers there.
        ControlError: the connection failed or timed out.
    """
    with ControlClient(socket_path, timeout) as client:
        return client.execute(line)
