"""The webhook outbox: claim due callbacks under a lease, keep each message's order, record
every attempt. The HTTP side (signing, POSTs, per-host concurrency) is ``webhooks.py``.

Deliveries are claimed from the store under a lease, so a crash never loses one and two
workers never send the same one. The store hands out a message's callbacks one at a time in
order, so a customer never sees ``delivered`` before ``sent``. Claims run inside the engine's
turns (``unit_of_work.py``): a turn whose writes queued callbacks (receipts, submit results,
housekeeping, inbound messages, this outbox's own attempt records, which release a message's
next callback) claims them before it commits, in the room the sender has free. This module's
own loop asks for a turn only for retries coming due, wake-ups and what did not fit.

Any 2xx acknowledges; anything else (a timeout, a refused connection, a 5xx) is retried with
jittered exponential backoff for at least 24 hours, then dead-lettered. A host that keeps
failing is down (``webhooks.py``): it gets one probe at a time, its other claimed deliveries
are deferred without spending an attempt, while other hosts go on at full speed. The probe
that finds it back releases its whole backlog in the transaction that records it, so the
backlog goes out at once instead of each delivery waiting out its own backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import Clock
from smsrelay.engine.tasks import finish, record_batches
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.engine.webhooks import Attempt, WebhookSender
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.webhooks import WebhookDelivery

log = logging.getLogger(__name__)

SWEEP_EVERY = 2.0  # seconds between sweeps for blocked deliveries nothing released
DOWN_DEFER = 300.0  # how far a down host's deliveries are put back (its return releases them)


class WebhookOutbox(Claimant[WebhookDelivery]):
    name = "webhooks"

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        sender: WebhookSender,
        *,
        policy: WebhookRetryPolicy | None = None,
        idle_poll: float = 0.5,
        lease_seconds: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        self._uow = uow
        self._clock = clock
        self.sender = sender
        self._policy = policy or WebhookRetryPolicy()
        self._idle_poll = idle_poll
        # a leased delivery may wait for a per-host slot behind others: cover that wait too
        self._lease = max(lease_seconds, sender.longest_wait())
        self._rng = rng or random.Random()
        self._last_sweep = 0.0
        self._skipped: set[int] = set()  # claimed in this turn for a host that backs off
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._results: asyncio.Queue[Attempt | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = sender.stats

    async def start(self) -> None:
        await self.sender.start(self._results.put_nowait)

    async def run(self) -> None:
        """Start the background pipeline (``start`` alone leaves delivery to the caller)."""
        self._uow.join(self)
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="webhooks-claim"),
            asyncio.create_task(self._record_loop(), name="webhooks-record"),
        ]

    async def stop(self) -> None:
        """Stop claiming, let requests in flight finish (bounded by the timeout), record
        them; no loop is cancelled inside a turn."""
        self.stopping = True
        self._stop.set()
        self._wake.set()
        claim, record = [*self._tasks, None, None][:2]
        await finish(claim)
        await self.sender.finish_posts()
        self._results.put_nowait(None)
        await finish(record)
        pending = [a for a in self._drain_results() if a is not None]
        if pending and self._uow.running:
            await self._record(pending)
        self._uow.leave(self)
        await self.sender.aclose()

    def wake(self) -> None:
        """Callbacks were queued outside the engine's turns (a cancel, an admin change)."""
        self.note_due()
        self._wake.set()

    def missed(self) -> None:
        self._wake.set()

    def _drain_results(self) -> list[Attempt | None]:
        items = []
        while not self._results.empty():
            items.append(self._results.get_nowait())
        return items

    # -- claiming --------------------------------------------------------------------------

    def free_room(self) -> int:
        return self.sender.free_room() - self.reserved

    async def claim_in(
        self, conn: AsyncConnection, now: float, limit: int
    ) -> list[WebhookDelivery]:
        """Claim due deliveries in the turn's transaction; deliveries to a host that is
        backing off are deferred at once (and not posted)."""
        if now - self._last_sweep >= SWEEP_EVERY or now < self._last_sweep:
            self._last_sweep = now
            await webhook_store.release_blocked(conn, now)
        due = await webhook_store.claim_webhooks(
            conn, now=now, lease_seconds=self._lease, limit=limit
        )
        deferred: dict[float, list[int]] = {}
        candidates: set[str] = set()  # hosts that keep a delivery for their next probe
        for delivery in due:
            until = self.sender.backing_off_until(delivery.url, now, delivery.id)
            if until > now:
                if delivery.url in candidates:
                    # a claim does not wade through a down host's backlog at every probe
                    until = max(until, now + DOWN_DEFER)
                candidates.add(delivery.url)
                deferred.setdefault(until, []).append(delivery.id)
        for until, ids in deferred.items():
            await webhook_store.defer_webhooks(conn, ids, until=until)
        self._skipped = {i for ids in deferred.values() for i in ids}
        return due

    async def hand_over(self, claimed: Sequence[WebhookDelivery]) -> None:
        skipped, self._skipped = self._skipped, set()
        self.stats["deferred"] += len(skipped)
        await self.sender.post_all([d for d in claimed if d.id not in skipped])

    async def _claim_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self.free_room() > 0:
                    await self._uow.claim(self)
                    if self.full:
                        continue
            except Exception:
                log.exception("webhook claim failed")
                await self._clock.wait(self._stop, 1.0)
            # everything due is claimed, or there is no room: the turns that queue callbacks
            # or record attempts claim them, and wake this loop only for what they left
            await self._clock.wait(self._wake, self._idle_poll)

    async def deliver_due(self) -> int:
        """One round without the background pipeline: claim, post, record. For tests and
        tools; returns how many deliveries were attempted."""
        self._uow.join(self)
        try:
            before = self.sender.started
            await self._uow.claim(self)
            started = self.sender.started - before
        finally:
            self._uow.leave(self)
        if started:
            await self.sender.finish_posts()
        await self._record([a for a in self._drain_results() if a is not None])
        return started

    # -- recording -------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        await record_batches(
            self._results, self._record, what="webhook attempts", sleep=self._clock.sleep, pause=1.0
        )

    async def _record(self, attempts: Sequence[Attempt]) -> None:
        if not attempts:
            return
        now = self._clock.now()
        records = []
        back: set[str] = set()  # URLs of hosts that answered again after being down
        probes: list[tuple[str, int, float]] = []  # down hosts: (url, failed, next probe at)
        for attempt in attempts:
            delivery = attempt.delivery
            outcome: Literal["delivered", "retry", "dead"]
            error = attempt.error
            next_at: float | None = None
            news = self.sender.host_answered(delivery.url, delivery.id, attempt.ok, now)
            back |= news.back
            if news.probe_at:
                probes.append((delivery.url, delivery.id, news.probe_at))
            if attempt.ok:
                outcome = "delivered"
                self.stats["delivered"] += 1
            else:
                self.stats["failed_attempts"] += 1
                next_at = self._policy.decide(
                    attempts_made=delivery.attempts + 1,
                    first_attempt_at=delivery.created_at,
                    now=now,
                    rng=self._rng,
                )
                outcome = "retry" if next_at is not None else "dead"
                if next_at is None:
                    self.stats["dead"] += 1
                    log.warning(
                        "webhook dead-lettered delivery=%s message_id=%s",
                        delivery.id,
                        delivery.message_id,
                    )
                if error is None:
                    error = f"HTTP {attempt.status}"
            records.append(
                webhook_store.AttemptRecord(
                    delivery.id, attempt.status, error, attempt.duration_ms, outcome, next_at
                )
            )

        if back:
            log.info("webhook host back, releasing its backlog: %s", sorted(back)[:3])

        async def write(conn: AsyncConnection, now: float) -> None:
            await webhook_store.record_webhook_attempts(conn, records, now)
            if back:
                released = await webhook_store.release_backlog(conn, sorted(back), now)
                self.stats["released"] += released
            for url, failed, at in probes:
                # the failed delivery keeps its own backoff; another one waits for the probe
                await webhook_store.schedule_probe(conn, url, at, not_id=failed)
            self.note_due()  # the next callback of each message whose delivery just ended

        await self._uow.run(write, weight=len(records))
