"""Building the engine's webhook outbox and unit of work for engine tests."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import Clock
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
