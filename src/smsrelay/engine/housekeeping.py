"""The dispatcher's housekeeping: the periodic write that keeps the queue honest.

Each tick is one write in the engine's turn: leases of messages still waiting in our lanes are
extended; leases of crashed workers return their messages to the queue (and the dispatcher
claims them in the same turn); messages whose validity passed expire; messages whose receipt
never came within ``dlr_timeout`` settle as ``unknown``; receipts parked before their submit
result was stored are matched. Now and then unmatched receipts and idempotency records past
their time are purged, and so are delivery counters older than any window reads. The
callbacks these changes queue are claimed in the same turn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.engine.clock import Clock
from smsrelay.engine.delivery_stats import DeliveryStats
from smsrelay.engine.dispatch_claim import DispatchClaims
from smsrelay.engine.dlr import apply_late_matches
from smsrelay.engine.money import settle_changes
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import idempotency as idem_store
from smsrelay.store import queue as queue_store
from smsrelay.store import receipts as receipt_store
from smsrelay.store import stats as stats_store

log = logging.getLogger(__name__)

PURGE_EVERY = 600  # ticks


class Housekeeper:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        claims: DispatchClaims,
        *,
        interval: float,
        lease_seconds: float,
        unmatched_receipt_ttl: float,
        outbox: Claimant[Any] | None,
        refund_on: frozenset[str] = frozenset(),
        delivery: DeliveryStats | None = None,
    ) -> None:
        """``delivery``: counts the receipts matched late, and says how long its per-minute
        counters are kept."""
        self._refund_on = refund_on
        self._uow = uow
        self._delivery = delivery
        self._clock = clock
        self._claims = claims
        self._interval = interval
        self._lease_seconds = lease_seconds
        self._unmatched_ttl = unmatched_receipt_ttl
        self._outbox = outbox
        self._stop = asyncio.Event()

    async def run(self) -> None:
        ticks = 0
        while not self._stop.is_set():
            try:
                await self.tick(purge=ticks % PURGE_EVERY == 0)
            except Exception:
                log.exception("housekeeping failed")
            ticks += 1
            if await self._clock.wait(self._stop, self._interval):
                return

    def stop(self) -> None:
        self._stop.set()

    async def tick(self, *, purge: bool = False) -> None:
        claims, outbox, delivery = self._claims, self._outbox, self._delivery
        held = list(claims.held)  # messages waiting in a throttled lane keep their lease

        async def write(conn: AsyncConnection, now: float) -> int:
            if held:
                await queue_store.extend_leases(
                    conn, held, worker=claims.worker_id, lease_until=now + self._lease_seconds
                )
            returned = await queue_store.reclaim_expired_leases(conn, now)
            expired = await queue_store.expire_overdue(conn, now)
            unknown = await queue_store.time_out_unconfirmed(conn, now)
            settled = await apply_late_matches(conn, now)
            finals = [*expired, *unknown, *settled]
            if delivery is not None:
                delivery.finals(settled, now)
            await settle_changes(conn, finals, now, refund_on=self._refund_on, outbox=outbox)
            if purge:
                await receipt_store.purge_unmatched(conn, now - self._unmatched_ttl)
                await idem_store.purge_idempotency(conn, now)
                if delivery is not None:
                    await stats_store.prune(conn, now - delivery.retention())
            if returned:
                claims.note_due()
            return returned

        returned = await self._uow.run(write)
        if returned:
            log.warning("returned %d expired leases to the queue", returned)
