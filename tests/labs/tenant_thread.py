"""A running tenant on its own event-loop thread, for tests that drive it with blocking clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from labs.records import SessionRecord
from labs.tenant.clock import Clock
from labs.tenant.scenario import TenantScenario
from labs.tenant.server import Tenant

T = TypeVar("T")


class TenantThread:
    """Start a :class:`Tenant` on port 0 in a background thread; stop it on exit."""

    def __init__(self, scenario: TenantScenario, root: Path, *, clock: Clock | None = None, pki: Path | None = None) -> None:
        self.tenant = Tenant(scenario, state_dir=root / "state", pki_dir=pki or root / "pki", port_base=0, clock=clock)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.tenant.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.tenant.stop())
        self.loop.close()

    def __enter__(self) -> TenantThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the tenant's loop thread and return its result."""
        async def wrapper() -> T:
            return fn()
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(30)

    def endpoint(self, name: str) -> tuple[str, int]:
        ep = self.tenant.endpoints.get(name)
        return ep.listen_host, ep.listen_port

    def records(self) -> list[SessionRecord]:
        """Every finished session of this run, once no connection is open."""
        asyncio.run_coroutine_threadsafe(self.tenant.settle(), self.loop).result(30)
        return self.call(self.tenant.records)

    def trace(self) -> list[Any]:
        """Message-trace entries of this run, once everything is written."""
        self.records()
        return self.tenant.reader().trace(self.tenant.run_id)

    def mailbox(self, address: str, folder: str | None = None, *, external: bool | None = None) -> list[Any]:
        """What a mailbox (or external address) holds, once everything is written."""
        self.records()
        return self.tenant.mailstore.list(address, folder, external=external)

    def apply(self, **changes: Any) -> None:
        """Change the running tenant's state (as an admin cmdlet would)."""
        from labs.tenant.overrides import merge_overrides

        def change() -> None:
            data = merge_overrides(self.tenant.state.model_dump(mode="json"), changes)
            self.tenant.apply(TenantScenario.model_validate(data))

        self.call(change)
