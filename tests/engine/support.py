"""The engine's unit of work and webhook outbox for engine tests, and time that passes on a
manual clock as fast as the engine works."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import Clock, ManualClock
from smsrelay.engine.outbox import WebhookOutbox
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.engine.webhooks import WebhookSender
from smsrelay.store.db import Database


@asynccontextmanager
async def unit_of_work(database: Database, clock: Clock) -> AsyncIterator[UnitOfWork]:
    uow = UnitOfWork(database, clock)
    await uow.start()
    try:
        yield uow
    finally:
        await uow.stop()


def outbox(
    uow: UnitOfWork,
    database: Database,
    clock: Clock,
    *,
    timeout: float,
    policy: WebhookRetryPolicy | None = None,
    rng: random.Random | None = None,
    idle_poll: float = 0.5,
) -> WebhookOutbox:
    policy = policy or WebhookRetryPolicy()
    sender = WebhookSender(database, clock, timeout=timeout, host_backoff=policy.backoff)
    return WebhookOutbox(uow, clock, sender, policy=policy, rng=rng, idle_poll=idle_poll)


async def _nothing(conn: AsyncConnection, now: float) -> None:
    return None


async def run_until(
    clock: ManualClock,
    uow: UnitOfWork,
    reached: Callable[[], bool | Awaitable[bool]],
    *,
    step: float = 0.05,
    limit: int = 2000,
) -> None:
    """Move a manual clock on by ``step`` until ``reached``: at each step every task runs
    and one more turn commits, so time passes as fast as the engine's work allows."""
    for _ in range(limit):
        value = reached()
        if value if isinstance(value, bool) else await value:
            return
        clock.advance(step)
        await clock.settle()
        await uow.run(_nothing)
    raise AssertionError(f"not reached within {limit * step:.0f} s of the manual clock")
