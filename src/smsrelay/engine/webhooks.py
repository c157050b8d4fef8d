"""Deliver the webhook outbox: sign, POST, record the attempt, back off on failure.

Deliveries are claimed from the store under a lease, so a crash never loses one and two
workers never send the same one. The store hands out a message's callbacks one at a time in
order, so a customer never sees ``delivered`` before ``sent``. Any 2xx acknowledges; anything
else (a timeout, a refused connection, a 5xx) is retried with jittered exponential backoff
for at least 24 hours, then dead-lettered; every attempt is recorded.

Delivery is a pipeline, so one slow or dead receiver cannot hold the others back: a claimer
keeps up to ``concurrency`` requests in flight, at most ``per_host`` to one host; results are
recorded in batches. A host that keeps failing is backed off as a whole (its deliveries are
deferred without spending an attempt) while other hosts go on at full speed.

Callbacks can be claimed in the transaction that queues them (:meth:`WebhookSender.
transaction`): this sender's own records do it (they release a message's next callback), and
so do receipts and submit results where the composition root hands them this sender as their
outbox (SQLite: ``app.py`` says why not PostgreSQL). Under load a callback then costs no claim
transaction of its own, and the claim loop is left with retries, wake-ups and whatever did
not fit in the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain import signing
from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import Clock
from smsrelay.engine.http_post import HttpPoster
from smsrelay.engine.tasks import finish, record_batches, wait_event
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.db import Database
from smsrelay.store.webhooks import WebhookDelivery

log = logging.getLogger(__name__)

USER_AGENT = "smsrelay-webhooks/1"


@dataclass(frozen=True, slots=True)
class _Attempt:
    delivery: WebhookDelivery
    status: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class _Host:
    """Health of one receiving host: consecutive failures and when to try it again."""

    semaphore: asyncio.Semaphore
    failures: int = 0
    until: float = 0.0
    active: int = 0  # requests holding or waiting for a slot


class OutboxTransaction:
    """A write transaction that may claim, before it commits, the callbacks it queued.

    ``conn`` is the transaction's connection. After queueing callbacks, the caller awaits
    :meth:`claim_due`; whatever it claimed is posted once the transaction has committed (a
    rollback takes the claim back with everything else).
    """

    __slots__ = ("_claim", "claimed", "conn", "room", "skipped", "wanted")

    def __init__(
        self,
        conn: AsyncConnection,
        room: int,
        claim: Callable[
            [AsyncConnection, float, int], Awaitable[tuple[list[WebhookDelivery], set[int]]]
        ]
        | None,
    ) -> None:
        self.conn = conn
        self.room = room
        self._claim = claim
        self.claimed: list[WebhookDelivery] = []
        self.skipped: set[int] = set()
        self.wanted = False

    async def claim_due(self, now: float) -> None:
        """Callbacks were queued: claim what is due, up to the sender's free room."""
        self.wanted = True
        if self._claim is not None and self.room > 0 and not self.claimed:
            self.claimed, self.skipped = await self._claim(self.conn, now, self.room)

    @property
    def needs_wake(self) -> bool:
        """Callbacks were queued that this claim may have left for the claim loop."""
        return self.wanted and (self._claim is None or len(self.claimed) >= self.room)


class CallbackOutbox(Protocol):
    """Where the engine's status changes open their write transactions."""

    def transaction(self) -> AbstractAsyncContextManager[OutboxTransaction]: ...


class UnclaimedOutbox:
    """An outbox that claims nothing itself: after a commit that queued callbacks it calls
    ``on_callbacks`` (a sender's ``wake``), for whoever delivers them."""

    def __init__(self, db: Database, on_callbacks: Callable[[], None] | None = None) -> None:
        self._db = db
        self._on_callbacks = on_callbacks

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[OutboxTransaction]:
        async with self._db.transaction() as conn:
            tx = OutboxTransaction(conn, 0, None)
            yield tx
        if tx.wanted and self._on_callbacks is not None:
            self._on_callbacks()


class WebhookSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        policy: WebhookRetryPolicy | None = None,
        timeout: float = 10.0,
        concurrency: int = 64,
        per_host: int = 16,
        host_backoff_after: int = 3,
        idle_poll: float = 0.5,
        block_private: bool = False,
        lease_seconds: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._policy = policy or WebhookRetryPolicy()
        self._timeout = timeout
        self._concurrency = concurrency
        self._per_host = per_host
        self._host_backoff_after = host_backoff_after
        self._idle_poll = idle_poll
        self._block_private = block_private
        # a leased delivery may wait for a per-host slot behind others: cover that wait too
        queue_ahead = -(-concurrency // max(per_host, 1))
        self._lease = max(lease_seconds, timeout * (queue_ahead + 2))
        self._rng = rng or random.Random()
        self._client: HttpPoster | None = None
        self._secrets: dict[str, str] = {}
        self._hosts: dict[str, _Host] = {}
        self._inflight = 0
        self._reserved = 0  # room promised to claims under way, not yet in flight
        self._last_sweep = 0.0
        self._wake = asyncio.Event()
        self._results: asyncio.Queue[_Attempt | None] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._posts: set[asyncio.Task[_Attempt]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = {"delivered": 0, "failed_attempts": 0, "dead": 0, "deferred": 0}

    async def start(self) -> None:
        self._client = HttpPoster(
            timeout=self._timeout,
            max_idle_per_host=self._per_host,
            user_agent=USER_AGENT,
            block_private=self._block_private,
        )

    async def run(self) -> None:
        """Start the background pipeline (``start`` alone leaves delivery to the caller)."""
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="webhooks-claim"),
            asyncio.create_task(self._record_loop(), name="webhooks-record"),
        ]

    async def stop(self) -> None:
        """Stop claiming, let requests in flight finish (bounded by the timeout), record
        them; no loop is cancelled inside a transaction."""
        self._stop.set()
        self._wake.set()
        claim, record = [*self._tasks, None, None][:2]
        await finish(claim)
        if self._posts:
            await asyncio.wait(self._posts, timeout=self._timeout + 1)
        self._results.put_nowait(None)
        await finish(record)
        pending = [a for a in self._drain_results() if a is not None]
        if pending:
            await self._record(pending)
        if self._client is not None:
            await self._client.aclose()

    def _drain_results(self) -> list[_Attempt | None]:
        items = []
        while not self._results.empty():
            items.append(self._results.get_nowait())
        return items

    def wake(self) -> None:
        self._wake.set()

    # -- the pipeline ----------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                room = self._free_room()
                if room <= 0:
                    # every post that ends is recorded by a transaction that claims what is
                    # due in the room it frees (transaction()): wait for a wake-up or the poll
                    await wait_event(self._wake, self._idle_poll)
                    continue
                claimed, _ = await self._claim_and_post(room)
            except Exception:
                log.exception("webhook claim failed")
                claimed = room = 0
                await asyncio.sleep(1.0)
            if claimed < room or not claimed:
                # everything due is claimed: the transactions that queue callbacks claim
                # them themselves and wake this loop only for what they left
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll)

    async def _record_loop(self) -> None:
        await record_batches(self._results, self._record, what="webhook attempts", pause=1.0)

    def _free_room(self) -> int:
        return self._concurrency - self._inflight - self._reserved

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[OutboxTransaction]:
        """A write transaction that claims, before committing, the callbacks it queues
        (:class:`OutboxTransaction`), and posts them once it has committed.

        The room it may claim is reserved before the transaction starts, so claims running at
        once never promise more than ``concurrency`` requests between them. Without the
        background pipeline (``run`` not called) it claims nothing and only wakes.
        """
        running = bool(self._tasks) and not self._stop.is_set()
        room = max(0, self._free_room()) if running else 0
        self._reserved += room
        try:
            async with self._db.transaction() as conn:
                tx = OutboxTransaction(conn, room, self._claim_in if room else None)
                yield tx
        finally:
            self._reserved -= room
        # committed: a failure here must not fail the caller's transaction after the fact;
        # unposted claims keep their lease and are claimed again when it runs out
        try:
            await self._post_claimed(tx.claimed, tx.skipped)
        except Exception:
            log.exception("posting %d claimed callbacks failed", len(tx.claimed))
        if tx.needs_wake:
            self.wake()

    async def _claim_and_post(self, limit: int) -> tuple[int, int]:
        """Claim up to ``limit`` due deliveries and start posting them; returns how many were
        claimed and how many started (the others wait for their host)."""
        now = self._clock.now()
        self._reserved += limit
        try:
            async with self._db.transaction() as conn:
                due, skipped = await self._claim_in(conn, now, limit)
        finally:
            self._reserved -= limit
        return len(due), await self._post_claimed(due, skipped)

    async def _claim_in(
        self, conn: AsyncConnection, now: float, limit: int
    ) -> tuple[list[WebhookDelivery], set[int]]:
        """Claim due deliveries in the caller's transaction; deliveries to a host that is
        backing off are deferred at once (returned as skipped)."""
        if now - self._last_sweep >= 2.0 or now < self._last_sweep:
            self._last_sweep = now
            await webhook_store.release_blocked(conn, now)
        due = await webhook_store.claim_webhooks(
            conn, now=now, lease_seconds=self._lease, limit=limit
        )
        deferred: dict[float, list[int]] = {}
        for delivery in due:
            host = self._host(delivery.url)
            if host.until > now:
                deferred.setdefault(host.until, []).append(delivery.id)
        for until, ids in deferred.items():
            await webhook_store.defer_webhooks(conn, ids, until=until)
        return due, {i for ids in deferred.values() for i in ids}

    async def _post_claimed(self, due: Sequence[WebhookDelivery], skipped: set[int]) -> int:
        """Start posting committed claims; returns how many were started."""
        if not due:
            return 0
        self.stats["deferred"] += len(skipped)
        await self._load_secrets({d.account_id for d in due})
        started = 0
        for delivery in due:
            if delivery.id in skipped:
                continue
            self._inflight += 1
            task = asyncio.create_task(self._post(delivery))
            self._posts.add(task)
            task.add_done_callback(self._finished)
            started += 1
        return started

    def _finished(self, task: asyncio.Task[_Attempt]) -> None:
        self._posts.discard(task)
        self._inflight -= 1
        if not task.cancelled() and task.exception() is None:
            self._results.put_nowait(task.result())

    def _host(self, url: str) -> _Host:
        try:
            key = urlsplit(url).netloc.lower()
        except ValueError:
            key = ""
        host = self._hosts.get(key)
        if host is None:
            if len(self._hosts) >= 10_000:  # hosts come from user input: keep the map bounded
                for name, known in list(self._hosts.items()):
                    if known.failures == 0 and known.active == 0:
                        del self._hosts[name]
            host = self._hosts[key] = _Host(asyncio.Semaphore(self._per_host))
        return host

    async def deliver_due(self) -> int:
        """One round without the background pipeline: claim, post, record. For tests and
        tools; returns how many deliveries were attempted."""
        _, started = await self._claim_and_post(self._concurrency)
        if started:
            await asyncio.wait(set(self._posts), timeout=self._timeout + 5)
        await self._record([a for a in self._drain_results() if a is not None])
        return started

    # -- one request -----------------------------------------------------------------------

    async def _load_secrets(self, account_ids: set[str]) -> None:
        missing = account_ids - self._secrets.keys()
        if not missing:
            return
        async with self._db.read() as conn:
            for account_id in missing:
                account = await account_store.get_account(conn, account_id)
                if account is not None:
                    self._secrets[account_id] = account.webhook_secret

    async def _post(self, delivery: WebhookDelivery) -> _Attempt:
        assert self._client is not None
        body = delivery.payload.encode()
        secret = self._secrets.get(delivery.account_id, "")
        headers = {
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.sign(secret, body, int(self._clock.now())),
            "X-Smsrelay-Delivery": str(delivery.id),
            "X-Smsrelay-Message-Id": delivery.message_id,
        }
        host = self._host(delivery.url)
        host.active += 1
        try:
            return await self._post_in_slot(delivery, host, body, headers)
        finally:
            host.active -= 1

    async def _post_in_slot(
        self, delivery: WebhookDelivery, host: _Host, body: bytes, headers: dict[str, str]
    ) -> _Attempt:
        assert self._client is not None
        async with host.semaphore:
            started = time.perf_counter()
            try:
                status = await self._client.post(delivery.url, body, headers)
            except TimeoutError:
                return _Attempt(delivery, None, "timeout", _ms(started))
            except Exception as error:  # refused, reset, malformed URL: all just a failure
                return _Attempt(
                    delivery, None, f"{type(error).__name__}: {error}"[:500], _ms(started)
                )
            return _Attempt(delivery, status, None, _ms(started))

    async def _record(self, attempts: Sequence[_Attempt]) -> None:
        if not attempts:
            return
        now = self._clock.now()
        records = []
        for attempt in attempts:
            delivery = attempt.delivery
            host = self._host(delivery.url)
            outcome: Literal["delivered", "retry", "dead"]
            error = attempt.error
            next_at: float | None = None
            if attempt.ok:
                outcome = "delivered"
                self.stats["delivered"] += 1
                host.failures, host.until = 0, 0.0
            else:
                self.stats["failed_attempts"] += 1
                host.failures += 1
                if host.failures >= self._host_backoff_after:
                    # the host as a whole waits, growing like one delivery's backoff
                    excess = host.failures - self._host_backoff_after
                    host.until = now + min(300.0, self._policy.backoff.nominal(min(excess + 1, 16)))
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
        # the same transaction claims what is due now, among it the next callback of each
        # message whose delivery just ended
        async with self.transaction() as tx:
            await webhook_store.record_webhook_attempts(tx.conn, records, now)
            await tx.claim_due(now)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
