"""The dispatcher's recording: write the carriers' answers to submits, in the engine's turns.

Submit tasks put their outcome here; one loop hands everything that finished meanwhile to the
unit of work as one write: sent with the carrier ids of every part (and any receipt that
overtook the answer), a retry at a backed-off time on the route's next connector, or failed
with the catalogue's error. A message that fails with a price is credited back in the same
write when the operator refunds ``failed`` (``refund_on``). The status callbacks those
changes queue are claimed by the webhook outbox in the same turn, and while messages wait
for room the dispatcher claims the next ones in it too (the room these results free up).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Message, SubmitOutcome
from smsrelay.domain.retry import RetryPolicy
from smsrelay.engine.clock import Clock
from smsrelay.engine.delivery_stats import DeliveryStats
from smsrelay.engine.dispatch_claim import DispatchClaims
from smsrelay.engine.dlr import apply_early_receipts
from smsrelay.engine.money import settle_changes
from smsrelay.engine.tasks import record_batches
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork, Write
from smsrelay.store import queue as queue_store


@dataclass(frozen=True, slots=True)
class SubmitResult:
    message: Message
    connector: str | None
    outcome: SubmitOutcome


@dataclass(slots=True)
class _Recorded:
    retried: int = 0
    failed: int = 0


class SubmitRecorder:
    """Records submit results in batches, one write per batch in the engine's turn."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        claims: DispatchClaims,
        retry: RetryPolicy,
        *,
        dlr_timeout: float,
        rng: random.Random,
        outbox: Claimant[Any] | None,
        stats: dict[str, int],
        refund_on: frozenset[str] = frozenset(),
        delivery: DeliveryStats | None = None,
    ) -> None:
        """``delivery``: where the turn counts accepted and refused submits per connector."""
        self._refund_on = refund_on
        self._uow = uow
        self._delivery = delivery
        self._clock = clock
        self._claims = claims
        self._retry = retry
        self._dlr_timeout = dlr_timeout
        self._rng = rng
        self._outbox = outbox
        self._stats = stats
        self._results: asyncio.Queue[SubmitResult | None] = asyncio.Queue()

    def put(self, result: SubmitResult) -> None:
        self._results.put_nowait(result)

    async def run(self) -> None:
        await record_batches(
            self._results, self.record, what="submit results", sleep=self._clock.sleep
        )

    def stop(self) -> None:
        """The loop ends after recording what was put before this."""
        self._results.put_nowait(None)

    async def record_pending(self) -> None:
        batch = []
        while not self._results.empty():
            item = self._results.get_nowait()
            if item is not None:
                batch.append(item)
        if batch:
            await self.record(batch)

    async def record(self, batch: Sequence[SubmitResult]) -> None:
        """Write a batch of submit results in one write, with a fixed statement count for the
        common case (accepted by the carrier)."""
        claims = self._claims
        claims.finishing += len(batch)
        try:
            done = await self._uow.run(self._write(batch), weight=len(batch))
        finally:
            claims.finishing -= len(batch)
        self._stats["sent"] += sum(1 for r in batch if r.outcome.ok)
        self._stats["retried"] += done.retried
        self._stats["failed"] += done.failed
        claims.finished([r.message for r in batch])

    def _write(self, batch: Sequence[SubmitResult]) -> Write[_Recorded]:
        claims, outbox, delivery = self._claims, self._outbox, self._delivery

        async def write(conn: AsyncConnection, now: float) -> _Recorded:
            done = _Recorded()
            accepted = [r for r in batch if r.outcome.ok]
            carrier_ids: dict[str, list[str]] = {}
            for r in accepted:
                carrier_ids.setdefault(r.connector or "", []).extend(r.outcome.carrier_ids)
            deadline = now + self._dlr_timeout
            changed: list[Message | None] = list(
                await queue_store.record_submitted_many(
                    conn,
                    [
                        queue_store.SubmittedItem(
                            r.message.id, r.connector or "", r.outcome.carrier_ids, deadline
                        )
                        for r in accepted
                    ],
                    now,
                    worker=claims.worker_id,
                )
            )
            if delivery is not None:
                for message in changed:
                    if message is not None and message.connector is not None:
                        delivery.submitted(message.connector, message, now)
            for connector, ids in carrier_ids.items():
                settled = await apply_early_receipts(conn, connector, ids, now)
                if delivery is not None:
                    delivery.finals(settled, now)
                changed += settled
            for result in batch:
                if not result.outcome.ok:
                    if delivery is not None and _counts_against(result):
                        assert result.connector is not None
                        delivery.refused(result.connector, result.message, now)
                    changed.append(await self._refusal(conn, result, now, done))
            await settle_changes(conn, changed, now, refund_on=self._refund_on, outbox=outbox)
            if claims.full:  # more were due than the last claim took: claim in this room
                claims.note_due()
            return done

        return write

    async def _refusal(
        self, conn: AsyncConnection, result: SubmitResult, now: float, done: _Recorded
    ) -> Message | None:
        """A failed submit: retry later (on the route's next connector) or give up."""
        message, outcome = result.message, result.outcome
        assert outcome.error is not None
        decision = self._retry.decide(
            attempts_made=message.attempts,
            error=outcome.error,
            now=now,
            expires_at=message.expires_at,
            rng=self._rng,
        )
        worker = self._claims.worker_id
        if decision.retry_at is not None:
            done.retried += 1
            await queue_store.record_retry(
                conn,
                message.id,
                error_code=str(outcome.error),
                detail=outcome.detail,
                retry_at=decision.retry_at,
                now=now,
                connector=result.connector,
                worker=worker,
            )
            return None
        done.failed += 1
        code = decision.give_up_code or outcome.error
        detail = outcome.detail if code == outcome.error else decision.reason
        return await queue_store.record_failed(
            conn,
            message.id,
            error_code=str(code),
            detail=detail,
            now=now,
            connector=result.connector,
            worker=worker,
        )


def _counts_against(result: SubmitResult) -> bool:
    """Whether a refusal says something about its connector (a message that no route or
    no defined connector could take never reached one)."""
    return result.connector is not None and result.outcome.error is not ErrorCode.NO_ROUTE
