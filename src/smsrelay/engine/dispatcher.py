"""The dispatcher: claim due messages, submit them, record what happened.

Three cooperating loops share one in-flight budget:

* the claimer takes due messages from the store under a lease, in priority order, as many as
  the budget allows, and starts one submit task per message;
* each submit task picks the connector for this attempt from the message's route and awaits
  the carrier's answer;
* the recorder writes the answers in batches (one transaction for all that finished
  meanwhile): sent with the carrier ids of every part, a retry at a backed-off time on the
  next connector of the route, or failed with the catalogue's error.

A housekeeping tick returns leases of crashed workers to the queue, expires messages whose
validity passed, and settles messages whose receipt never came as ``unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.connectors.base import Connector
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Message, OutboundMessage, SubmitOutcome
from smsrelay.domain.retry import RetryPolicy
from smsrelay.domain.routing import Route, connector_for_attempt, select_route
from smsrelay.engine.clock import Clock
from smsrelay.engine.dlr import apply_early_receipts, apply_late_matches
from smsrelay.engine.notify import enqueue_status_callbacks
from smsrelay.store import idempotency as idem_store
from smsrelay.store import queue as queue_store
from smsrelay.store import receipts as receipt_store
from smsrelay.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    worker_id: str = "worker-1"
    claim_batch: int = 500
    max_inflight: int = 2000
    lease_seconds: float = 120.0
    dlr_timeout: float = 48 * 3600.0
    unmatched_receipt_ttl: float = 3600.0
    housekeeping_interval: float = 1.0
    idle_poll: float = 0.5


@dataclass(frozen=True, slots=True)
class _Result:
    message: Message
    connector: str | None
    outcome: SubmitOutcome


class Dispatcher:
    def __init__(self, db: Database, connectors: Mapping[str, Connector],
                 routes: Sequence[Route], retry: RetryPolicy, clock: Clock, *,
                 settings: DispatchSettings | None = None,
                 account_names: Callable[[str], str] | None = None,
                 on_callbacks: Callable[[], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self._db = db
        self._connectors = dict(connectors)
        self._routes = list(routes)
        self._retry = retry
        self._clock = clock
        self.settings = settings or DispatchSettings()
        self._account_names = account_names or (lambda account_id: account_id)
        self._on_callbacks = on_callbacks
        self._rng = rng or random.Random()
        self._inflight = 0
        self._capacity = asyncio.Event()
        self._wake = asyncio.Event()
        self._results: asyncio.Queue[_Result] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._submits: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.stats = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="dispatch-claim"),
            asyncio.create_task(self._record_loop(), name="dispatch-record"),
            asyncio.create_task(self._housekeeping_loop(), name="dispatch-housekeeping"),
        ]

    async def stop(self) -> None:
        """Stop claiming, let submits in flight finish, record their results."""
        self._stopping = True
        self._wake.set()
        claim, record, housekeeping = self._tasks or (None, None, None)
        for task in (claim, housekeeping):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._submits:
            await asyncio.wait(self._submits, timeout=10)
        if record is not None:
            record.cancel()
            await asyncio.gather(record, return_exceptions=True)
        await self._record_pending()

    def wake(self) -> None:
        """New work may be due (an accept just committed)."""
        self._wake.set()

    # -- claim and submit ------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.claim_and_submit()
            except Exception:
                log.exception("claim failed; retrying")
                claimed = 0
                await asyncio.sleep(1.0)
            if claimed:
                continue
            await self._sleep_until_due()

    async def claim_and_submit(self) -> int:
        """Claim what the in-flight budget allows and start submitting it."""
        room = self.settings.max_inflight - self._inflight
        if room <= 0:
            self._capacity.clear()
            await self._capacity.wait()
            return 1
        now = self._clock.now()
        async with self._db.transaction() as conn:
            messages = await queue_store.claim(
                conn, worker=self.settings.worker_id, now=now,
                lease_seconds=self.settings.lease_seconds,
                limit=min(room, self.settings.claim_batch))
        self.stats["claimed"] += len(messages)
        for message in messages:
            self._inflight += 1
            task = asyncio.create_task(self._submit(message))
            self._submits.add(task)
            task.add_done_callback(self._submits.discard)
        return len(messages)

    async def _sleep_until_due(self) -> None:
        self._wake.clear()
        timeout = self.settings.idle_poll
        try:
            async with self._db.read() as conn:
                due = await queue_store.next_due_at(conn, self._clock.now())
            if due is not None:
                timeout = min(timeout, max(0.0, due - self._clock.now()))
        except Exception:
            log.exception("next_due_at failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def route_for(self, message: Message) -> Route | None:
        return select_route(self._routes, to=message.to, country=message.country,
                            kind=str(message.kind),
                            account=self._account_names(message.account_id))

    async def _submit(self, message: Message) -> None:
        connector_name: str | None = None
        try:
            route = self.route_for(message)
            if route is None:
                outcome = SubmitOutcome(error=ErrorCode.NO_ROUTE,
                                        detail="no route matches this message")
            else:
                connector_name = connector_for_attempt(route, message.attempts)
                connector = self._connectors.get(connector_name)
                if connector is None:
                    outcome = SubmitOutcome(error=ErrorCode.NO_ROUTE,
                                            detail=f"connector {connector_name!r} is not defined")
                else:
                    outcome = await connector.submit(_outbound(message))
        except Exception as error:  # a connector bug must not lose the message
            log.exception("submit raised message_id=%s", message.id)
            outcome = SubmitOutcome(error=ErrorCode.CARRIER_SYSTEM_ERROR, detail=str(error))
        self._results.put_nowait(_Result(message, connector_name, outcome))

    # -- record ----------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            first = await self._results.get()
            batch = [first]
            while not self._results.empty() and len(batch) < 2000:
                batch.append(self._results.get_nowait())
            while True:
                try:
                    await self._record(batch)
                    break
                except Exception:
                    log.exception("recording %d results failed; retrying", len(batch))
                    await asyncio.sleep(0.5)

    async def _record_pending(self) -> None:
        batch = []
        while not self._results.empty():
            batch.append(self._results.get_nowait())
        if batch:
            await self._record(batch)

    async def _record(self, batch: Sequence[_Result]) -> None:
        now = self._clock.now()
        changed: list[Message | None] = []
        async with self._db.transaction() as conn:
            for result in batch:
                changed.extend(await self._record_one(conn, result, now))
            queued = await enqueue_status_callbacks(conn, changed, now)
        self._inflight -= len(batch)
        self._capacity.set()
        if queued and self._on_callbacks is not None:
            self._on_callbacks()

    async def _record_one(self, conn: AsyncConnection, result: _Result,
                          now: float) -> list[Message | None]:
        message, outcome = result.message, result.outcome
        if outcome.ok:
            sent = await queue_store.record_submitted(
                conn, message.id, connector=result.connector or "",
                carrier_ids=outcome.carrier_ids, now=now,
                dlr_deadline=now + self.settings.dlr_timeout)
            self.stats["sent"] += 1
            early = await apply_early_receipts(conn, result.connector or "",
                                               outcome.carrier_ids, now)
            return [sent, *early]
        assert outcome.error is not None
        decision = self._retry.decide(attempts_made=message.attempts, error=outcome.error,
                                      now=now, expires_at=message.expires_at, rng=self._rng)
        if decision.retry_at is not None:
            self.stats["retried"] += 1
            await queue_store.record_retry(
                conn, message.id, error_code=str(outcome.error), detail=outcome.detail,
                retry_at=decision.retry_at, now=now, connector=result.connector)
            return []
        self.stats["failed"] += 1
        code = decision.give_up_code or outcome.error
        detail = outcome.detail if code == outcome.error else decision.reason
        failed = await queue_store.record_failed(
            conn, message.id, error_code=str(code), detail=detail, now=now,
            connector=result.connector)
        return [failed]

    # -- housekeeping ----------------------------------------------------------------------

    async def _housekeeping_loop(self) -> None:
        ticks = 0
        while not self._stopping:
            try:
                await self.housekeeping(purge=ticks % 600 == 0)
            except Exception:
                log.exception("housekeeping failed")
            ticks += 1
            await asyncio.sleep(self.settings.housekeeping_interval)

    async def housekeeping(self, *, purge: bool = False) -> None:
        now = self._clock.now()
        async with self._db.transaction() as conn:
            returned = await queue_store.reclaim_expired_leases(conn, now)
            expired = await queue_store.expire_overdue(conn, now)
            unknown = await queue_store.time_out_unconfirmed(conn, now)
            settled = await apply_late_matches(conn, now)
            queued = await enqueue_status_callbacks(conn, [*expired, *unknown, *settled], now)
            if purge:
                await receipt_store.purge_unmatched(
                    conn, now - self.settings.unmatched_receipt_ttl)
                await idem_store.purge_idempotency(conn, now)
        if returned:
            log.warning("returned %d expired leases to the queue", returned)
            self.wake()
        if queued and self._on_callbacks is not None:
            self._on_callbacks()


def _outbound(message: Message) -> OutboundMessage:
    return OutboundMessage(
        message_id=message.id, to=message.to, body=message.body, encoding=message.encoding,
        segments=message.segments, sender=message.sender, kind=message.kind,
        attempt=message.attempts, expires_at=message.expires_at)
