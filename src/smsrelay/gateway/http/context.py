"""What the HTTP handlers need from the rest of smsrelay, built once by the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import Request

from smsrelay.domain.routing import Explanation, Route
from smsrelay.engine.accept import Acceptor
from smsrelay.engine.clock import Clock
from smsrelay.engine.throttle import RateLimiter
from smsrelay.store.db import Database


class Operations(Protocol):
    """The running gateway as the admin API sees it (implemented by ``app.SmsRelay``)."""

    def connector_status(self) -> list[dict[str, Any]]: ...

    def routes(self) -> list[Route]: ...

    def connector_names(self) -> list[str]: ...

    async def replace_routes(self, routes: list[Route]) -> None: ...

    async def add_connector(self, definition: dict[str, Any]) -> None: ...

    async def remove_connector(self, name: str) -> None: ...

    def explain(self, *, to: str, country: str | None, kind: str, account: str) -> Explanation: ...


@dataclass
class ApiContext:
    db: Database
    acceptor: Acceptor
    clock: Clock
    limiter: RateLimiter = field(default_factory=RateLimiter)
    rate_limit: float = 500.0
    rate_burst: int = 1000
    max_batch: int = 1000
    strict_numbers: bool = False
    key_cache_seconds: float = 5.0
    on_callbacks: Callable[[], None] | None = None
    operations: Operations | None = None
    _idempotency_locks: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def idempotency_lock(self, account_id: str, key: str) -> AsyncIterator[None]:
        """Serialise requests that share an Idempotency-Key, so only one of them sends.

        Locks are counted by their users and dropped when the last one leaves, so the map
        never holds more than the requests in flight.
        """
        name = (account_id, key)
        entry = self._idempotency_locks.get(name)
        if entry is None:
            entry = self._idempotency_locks[name] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._idempotency_locks.pop(name, None)


async def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx
