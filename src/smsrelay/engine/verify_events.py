"""What happens to verifications by themselves: their status events, their expiry, and the
count of refusals.

:func:`announce` queues a status event in the write that changed the status, through the
webhook outbox (signed like status callbacks; the verification id stands where a message id
would, so one verification's events go out in order). :class:`VerifySweeper` expires pending
verifications past their time every ``interval`` (with their events), drops fraud counts too
old to judge, and adds the refusals counted in memory to ``verify_refusals``: a refused
request, an attack's thousands of them, costs no write of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.fraud import FraudPolicy
from smsrelay.engine.clock import Clock
from smsrelay.engine.notify import iso
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import fraud as fraud_store
from smsrelay.store import verifications as store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.verifications import Verification

log = logging.getLogger(__name__)


async def announce(
    conn: AsyncConnection, ver: Verification, now: float, outbox: Claimant[Any] | None
) -> None:
    """Queue the event of ``ver``'s new status for the account's webhook URL, if it has one."""
    url = await account_store.webhook_url_of(conn, ver.account_id)
    if not url:
        return
    payload = orjson.dumps(
        {
            "verification_id": ver.id,
            "status": str(ver.status),
            "timestamp": iso(now),
            "to": ver.to,
            "channel": ver.channel,
            "checks": ver.checks,
            "sends": ver.sends,
        }
    ).decode()
    await webhook_store.enqueue_webhooks(conn, [(ver.account_id, ver.id, url, payload)], now)
    if outbox is not None:
        outbox.note_due()


class VerifySweeper:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: FraudPolicy,
        outbox: Claimant[Any] | None,
        *,
        interval: float = 30.0,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._outbox = outbox
        self._interval = interval
        self.refusals: Counter[tuple[str, str]] = Counter()  # (account_id, reason) → count
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def expire_due(self) -> int:
        """Mark pending verifications past their expiry ``expired`` (with their events) and
        drop traffic counts too old to matter; how many expired."""
        policy = self._policy
        outbox = self._outbox

        async def write(conn: AsyncConnection, at: float) -> int:
            expired = await store.expire_due(conn, at)
            for ver in expired:
                await announce(conn, ver, at, outbox)
            await fraud_store.purge_traffic(
                conn,
                at,
                keep_minutes=policy.window + 2 * fraud_store.HOUR,
                keep_hours=policy.baseline_days * 86400 + policy.window + 2 * fraud_store.HOUR,
            )
            return len(expired)

        return await self._uow.run(write)

    async def flush_refusals(self) -> None:
        """Add the refusals counted since the last flush to the table."""
        counts, self.refusals = self.refusals, Counter()
        if not counts:
            return

        async def write(conn: AsyncConnection, at: float) -> None:
            for (account_id, reason), count in sorted(counts.items()):
                await fraud_store.count_refusal(conn, account_id, reason, at, count)

        await self._uow.run(write)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="verify-sweeper")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task  # never cancelled mid-turn (engine/tasks.py)
        await self.flush_refusals()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.expire_due()
                await self.flush_refusals()
            except Exception:
                log.exception("verification sweep failed; trying again later")
            await self._clock.wait(self._stop, self._interval)
