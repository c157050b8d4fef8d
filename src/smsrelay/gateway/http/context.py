"""What the HTTP handlers need from the rest of smsrelay, built once by the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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

    def explain(self, *, to: str, country: str | None, kind: str,
                account: str) -> Explanation: ...


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
    _idempotency_locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    def idempotency_lock(self, account_id: str, key: str) -> asyncio.Lock:
        """Serialise requests that share an Idempotency-Key, so only one of them sends."""
        lock = self._idempotency_locks.get((account_id, key))
        if lock is None:
            if len(self._idempotency_locks) > 10_000:
                for k, v in list(self._idempotency_locks.items()):
                    if not v.locked():
                        del self._idempotency_locks[k]
            lock = self._idempotency_locks[(account_id, key)] = asyncio.Lock()
        return lock


async def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx
