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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.connectors.base import Connector
from smsrelay.domain.circuit import CircuitBreaker
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Message, OutboundMessage, SubmitOutcome
from smsrelay.domain.retry import RetryPolicy
from smsrelay.domain.routing import PriceTable, Route, connector_order, select_route
from smsrelay.engine.clock import Clock
from smsrelay.engine.dlr import apply_early_receipts, apply_late_matches
from smsrelay.engine.lanes import Lane
from smsrelay.engine.notify import enqueue_status_callbacks
from smsrelay.engine.tasks import finish, record_batches, wait_event
from smsrelay.engine.webhooks import CallbackOutbox, UnclaimedOutbox
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
    marketing_share: float = 0.1


@dataclass(frozen=True, slots=True)
class _Result:
    message: Message
    connector: str | None
    outcome: SubmitOutcome


class Dispatcher:
    def __init__(
        self,
        db: Database,
        connectors: Mapping[str, Connector],
        routes: Sequence[Route],
        retry: RetryPolicy,
        clock: Clock,
        *,
        settings: DispatchSettings | None = None,
        account_names: Callable[[str], str] | None = None,
        on_callbacks: Callable[[], None] | None = None,
        outbox: CallbackOutbox | None = None,
        rates: Mapping[str, float] | None = None,
        prices: PriceTable | None = None,
        country_rates: Mapping[str, Mapping[str, float]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._connectors = dict(connectors)
        self.settings = settings or DispatchSettings()
        rates = rates or {}
        self.lanes = {
            name: Lane(
                name,
                rates.get(name, 0.0),
                marketing_share=self.settings.marketing_share,
                country_rates=(country_rates or {}).get(name),
                unlimited_room=self.settings.max_inflight,
            )
            for name in self._connectors
        }
        self.circuits = {name: CircuitBreaker() for name in self._connectors}
        self._held: dict[str, Message] = {}  # claimed by us, outcome not yet recorded
        self._routes = list(routes)
        self._prices: PriceTable = dict(prices or {})
        self._retry = retry
        self._clock = clock
        self._account_names = account_names or (lambda account_id: account_id)
        # where status-changing transactions open (a WebhookSender claims their callbacks)
        self._outbox = outbox or UnclaimedOutbox(db, on_callbacks)
        self._rng = rng or random.Random()
        self._inflight = 0
        self._reserved = 0  # room promised to claims under way
        self._backlog = True  # the last claim was full: more may be due than was claimed
        self._capacity = asyncio.Event()
        self._wake = asyncio.Event()
        self._results: asyncio.Queue[_Result | None] = asyncio.Queue()
        self._stop = asyncio.Event()
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
            *(
                asyncio.create_task(self._lane_loop(lane), name=f"lane-{lane.name}")
                for lane in self.lanes.values()
            ),
        ]

    async def stop(self) -> None:
        """Stop claiming, return unsent claims, let submits in flight finish, record them.

        Loops that touch the database are asked to stop and awaited, never cancelled
        mid-transaction (see engine/tasks.py).
        """
        self._stopping = True
        self._stop.set()
        self._wake.set()
        self._capacity.set()
        claim, record, housekeeping, *lane_loops = self._tasks or (None, None, None)
        for task in lane_loops:  # no database work in a lane loop: safe to cancel
            task.cancel()
        await asyncio.gather(*lane_loops, return_exceptions=True)
        await finish(claim)
        await finish(housekeeping)
        await self._release_waiting()
        if self._submits:
            await asyncio.wait(self._submits, timeout=10)
        self._results.put_nowait(None)
        await finish(record)
        await self._record_pending()

    def wake(self) -> None:
        """New work may be due (an accept just committed)."""
        self._wake.set()

    # -- claim and submit ------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping:
            try:
                more = await self.claim_and_submit()
            except Exception:
                log.exception("claim failed; retrying")
                more = False
                await asyncio.sleep(1.0)
            if more:
                continue
            await self._sleep_until_due()

    def _room(self, finishing: int = 0) -> int:
        """How many messages to claim: the in-flight budget (counting ``finishing`` messages
        whose results are being recorded as gone), and what the lanes can take."""
        budget = self.settings.max_inflight - self._inflight - self._reserved + finishing
        lanes = sum(lane.room() for lane in self.lanes.values()) if self.lanes else budget
        return min(budget, lanes, self.settings.claim_batch)

    async def _claim_in(self, conn: AsyncConnection, now: float, limit: int) -> list[Message]:
        claimed = await queue_store.claim(
            conn,
            worker=self.settings.worker_id,
            now=now,
            lease_seconds=self.settings.lease_seconds,
            limit=limit,
        )
        self._backlog = len(claimed) >= limit
        return claimed

    async def claim_and_submit(self) -> bool:
        """Claim what the budget and the lanes allow; hand each message to its lane.

        True when more may be due at once: the claim was full, or there was no room yet.
        Otherwise everything due was claimed, and the loop waits to be woken: accepts either
        claim in their own transaction (:meth:`claim_along`) or wake it.
        """
        room = self._room()
        if room <= 0:
            self._capacity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._capacity.wait(), 0.05)
            return True
        now = self._clock.now()
        self._reserved += room
        try:
            async with self._db.transaction() as conn:
                messages = await self._claim_in(conn, now, room)
        finally:
            self._reserved -= room
        if await self._take(messages):
            # their lane is full: give it time to drain instead of claiming them again at once
            await wait_event(self._stop, 0.05)
        return self._backlog

    @contextlib.asynccontextmanager
    async def claim_along(
        self,
    ) -> AsyncIterator[Callable[[AsyncConnection, float], Awaitable[None]]]:
        """Claim due messages inside another write transaction (the accept's group commit).

        Use it around that transaction and call what it yields with the connection before
        the commit; the claimed messages go to their lanes once the transaction has
        committed, so a burst of accepts costs no claim transactions of its own. The room is
        reserved before the transaction starts; a claim that may have left messages due
        wakes the claim loop.
        """
        room = 0 if self._stopping or not self._tasks else max(0, self._room())
        self._reserved += room
        claimed: list[Message] = []

        async def claim(conn: AsyncConnection, now: float) -> None:
            if room and not claimed:
                claimed.extend(await self._claim_in(conn, now, room))

        try:
            yield claim
        finally:
            self._reserved -= room
        # committed: nothing here may fail the caller's commit (an accept retried after its
        # rows are stored would store them twice); a claim that cannot be handed over keeps
        # its lease and returns to the queue when the lease runs out
        try:
            if claimed:
                await self._take(claimed)
        except Exception:
            log.exception("handing %d claimed messages to their lanes failed", len(claimed))
        if not room or len(claimed) >= room:
            self.wake()

    async def _take(self, messages: Sequence[Message]) -> int:
        """Hand committed claims to their lanes; those a full lane cannot take go back to
        the queue. Returns how many went back."""
        self.stats["claimed"] += len(messages)
        overflow: list[Message] = []
        for message in messages:
            self._inflight += 1
            self._held[message.id] = message
            try:
                if not self._assign(message):
                    overflow.append(message)
            except Exception as error:  # a bad route must not strand a claimed message
                log.exception("routing failed message_id=%s", message.id)
                self._results.put_nowait(
                    _Result(
                        message,
                        None,
                        SubmitOutcome(error=ErrorCode.NO_ROUTE, detail=f"routing failed: {error}"),
                    )
                )
        if overflow:
            await self._release(overflow)
        return len(overflow)

    def _assign(self, message: Message) -> bool:
        """Choose the connector for this attempt and queue the message in its lane.

        False when that lane is already full (its connector is throttled): the message goes
        back to the queue rather than waiting here, in ``sending``, where it could be neither
        canceled nor expired.
        """
        route = self.route_for(message)
        if route is None:
            self._results.put_nowait(
                _Result(
                    message,
                    None,
                    SubmitOutcome(error=ErrorCode.NO_ROUTE, detail="no route matches this message"),
                )
            )
            return True
        name = self._choose_connector(route, message)
        lane = self.lanes.get(name)
        if lane is None:
            self._results.put_nowait(
                _Result(
                    message,
                    name,
                    SubmitOutcome(
                        error=ErrorCode.NO_ROUTE, detail=f"connector {name!r} is not defined"
                    ),
                )
            )
            return True
        if lane.room() <= 0 and message.priority < lane.lowest_waiting_priority():
            return False
        lane.put(message)
        return True

    async def _release(self, messages: Sequence[Message]) -> None:
        """Hand claimed, unsent messages back to the queue (the attempt is not counted)."""
        async with self._db.transaction() as conn:
            await queue_store.release_claims(
                conn,
                [m.id for m in messages],
                worker=self.settings.worker_id,
                now=self._clock.now(),
            )
        self._inflight -= len(messages)
        for message in messages:
            self._held.pop(message.id, None)
        self._capacity.set()

    def _choose_connector(self, route: Route, message: Message) -> str:
        """The attempt's connector in the route's order for this message, skipping connectors
        whose circuit is open while another one of the route is usable."""
        now = self._clock.now()
        order = connector_order(
            route, message_id=message.id, country=message.country, prices=self._prices
        )
        start = (max(message.attempts, 1) - 1) % len(order)
        for offset in range(len(order)):
            name = order[(start + offset) % len(order)]
            circuit = self.circuits.get(name)
            if circuit is None or circuit.allows(now):
                return name
        return order[start]

    def add_connector(
        self,
        name: str,
        connector: Connector,
        *,
        rate: float = 0.0,
        country_rates: Mapping[str, float] | None = None,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        """Start sending through a new connector (routes may name it from now on)."""
        if name in self._connectors:
            raise ValueError(f"connector {name!r} exists")
        self._connectors[name] = connector
        self.lanes[name] = lane = Lane(
            name,
            rate,
            marketing_share=self.settings.marketing_share,
            country_rates=country_rates,
            unlimited_room=self.settings.max_inflight,
        )
        self.circuits[name] = CircuitBreaker()
        self._prices = {**self._prices, name: dict(prices or {})}
        if self._tasks:
            self._tasks.append(asyncio.create_task(self._lane_loop(lane), name=f"lane-{name}"))

    async def remove_connector(self, name: str) -> None:
        """Stop using a connector no route names; its waiting messages go back to the queue."""
        if any(name in route.connectors for route in self._routes):
            raise ValueError(f"connector {name!r} is still named by a route")
        lane = self.lanes.pop(name, None)
        self._connectors.pop(name, None)
        self.circuits.pop(name, None)
        for task in list(self._tasks):
            if task.get_name() == f"lane-{name}":
                task.cancel()  # a lane loop does no database work: safe to cancel
                self._tasks.remove(task)
        if lane is not None and len(lane):
            await self._release(lane.drain())

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def set_routes(self, routes: Sequence[Route]) -> None:
        """Replace the route table; messages claimed from now on use it."""
        self._routes = list(routes)

    async def _lane_loop(self, lane: Lane) -> None:
        connector = self._connectors[lane.name]
        while True:
            message = await lane.next()
            task = asyncio.create_task(self._submit(message, lane.name, connector))
            self._submits.add(task)
            task.add_done_callback(self._submits.discard)

    async def _release_waiting(self) -> None:
        """Return messages still waiting in lanes to the queue (their attempt is not spent)."""
        waiting = [m for lane in self.lanes.values() for m in lane.drain()]
        if waiting:
            await self._release(waiting)

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
        return select_route(
            self._routes,
            to=message.to,
            country=message.country,
            kind=str(message.kind),
            account=self._account_names(message.account_id),
        )

    async def _submit(self, message: Message, name: str, connector: Connector) -> None:
        try:
            outcome = await connector.submit(_outbound(message))
        except Exception as error:  # a connector bug must not lose the message
            log.exception("submit raised message_id=%s connector=%s", message.id, name)
            outcome = SubmitOutcome(error=ErrorCode.CARRIER_SYSTEM_ERROR, detail=str(error))
        circuit = self.circuits.get(name)
        if circuit is not None:
            circuit.record(outcome.error, self._clock.now())
        self._results.put_nowait(_Result(message, name, outcome))

    # -- record ----------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        await record_batches(self._results, self._record, what="submit results")

    async def _record_pending(self) -> None:
        batch = []
        while not self._results.empty():
            item = self._results.get_nowait()
            if item is not None:
                batch.append(item)
        if batch:
            await self._record(batch)

    async def _record(self, batch: Sequence[_Result]) -> None:
        """Write a batch of submit results in one transaction, with a fixed statement count
        for the common case (accepted by the carrier)."""
        now = self._clock.now()
        accepted = [r for r in batch if r.outcome.ok]
        refused = [r for r in batch if not r.outcome.ok]
        deadline = now + self.settings.dlr_timeout
        carrier_ids: dict[str, list[str]] = {}
        for r in accepted:
            carrier_ids.setdefault(r.connector or "", []).extend(r.outcome.carrier_ids)
        # the same transaction claims the callbacks it queues and, while messages wait for
        # room, the next ones (the room these results free up): under load, neither needs a
        # transaction of its own
        room = (
            0
            if self._stopping or not self._tasks or not self._backlog
            else max(0, self._room(len(batch)))
        )
        self._reserved += room
        try:
            async with self._outbox.transaction() as tx:
                conn = tx.conn
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
                        worker=self.settings.worker_id,
                    )
                )
                for connector, ids in carrier_ids.items():
                    changed += await apply_early_receipts(conn, connector, ids, now)
                for result in refused:
                    changed.append(await self._record_refusal(conn, result, now))
                if await enqueue_status_callbacks(conn, changed, now):
                    await tx.claim_due(now)
                claimed = await self._claim_in(conn, now, room) if room else []
        finally:
            self._reserved -= room
        self.stats["sent"] += len(accepted)
        self._inflight -= len(batch)
        for result in batch:
            self._held.pop(result.message.id, None)
        if claimed:
            await self._take(claimed)
        self._capacity.set()

    async def _record_refusal(
        self, conn: AsyncConnection, result: _Result, now: float
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
        if decision.retry_at is not None:
            self.stats["retried"] += 1
            await queue_store.record_retry(
                conn,
                message.id,
                error_code=str(outcome.error),
                detail=outcome.detail,
                retry_at=decision.retry_at,
                now=now,
                connector=result.connector,
                worker=self.settings.worker_id,
            )
            return None
        self.stats["failed"] += 1
        code = decision.give_up_code or outcome.error
        detail = outcome.detail if code == outcome.error else decision.reason
        return await queue_store.record_failed(
            conn,
            message.id,
            error_code=str(code),
            detail=detail,
            now=now,
            connector=result.connector,
            worker=self.settings.worker_id,
        )

    # -- housekeeping ----------------------------------------------------------------------

    async def _housekeeping_loop(self) -> None:
        ticks = 0
        while not self._stopping:
            try:
                await self.housekeeping(purge=ticks % 600 == 0)
            except Exception:
                log.exception("housekeeping failed")
            ticks += 1
            if await wait_event(self._stop, self.settings.housekeeping_interval):
                return

    async def housekeeping(self, *, purge: bool = False) -> None:
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            conn = tx.conn
            if self._held:  # messages waiting in a throttled lane keep their lease
                await queue_store.extend_leases(
                    conn,
                    list(self._held),
                    worker=self.settings.worker_id,
                    lease_until=now + self.settings.lease_seconds,
                )
            returned = await queue_store.reclaim_expired_leases(conn, now)
            expired = await queue_store.expire_overdue(conn, now)
            unknown = await queue_store.time_out_unconfirmed(conn, now)
            settled = await apply_late_matches(conn, now)
            if await enqueue_status_callbacks(conn, [*expired, *unknown, *settled], now):
                await tx.claim_due(now)
            if purge:
                await receipt_store.purge_unmatched(conn, now - self.settings.unmatched_receipt_ttl)
                await idem_store.purge_idempotency(conn, now)
        if returned:
            log.warning("returned %d expired leases to the queue", returned)
            self.wake()


def _outbound(message: Message) -> OutboundMessage:
    return OutboundMessage(
        message_id=message.id,
        to=message.to,
        body=message.body,
        encoding=message.encoding,
        segments=message.segments,
        sender=message.sender,
        kind=message.kind,
        attempt=message.attempts,
        expires_at=message.expires_at,
    )
