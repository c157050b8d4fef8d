"""Deliver the webhook outbox: sign, POST, record the attempt, back off on failure.

Deliveries are claimed from the store under a lease, so a crash never loses one and two
workers never send the same one. The store hands out a message's callbacks one at a time in
order, so a customer never sees ``delivered`` before ``sent``. Any 2xx acknowledges; anything
else (including a timeout or a refused connection) is retried with jittered exponential
backoff for at least 24 hours, then dead-lettered, and every attempt is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from typing import Literal

import httpx

from smsrelay.domain import signing
from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import Clock
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.db import Database
from smsrelay.store.webhooks import WebhookDelivery

log = logging.getLogger(__name__)

USER_AGENT = "smsrelay-webhooks/1"


class WebhookSender:
    def __init__(self, db: Database, clock: Clock, *, policy: WebhookRetryPolicy | None = None,
                 timeout: float = 10.0, concurrency: int = 64, idle_poll: float = 0.5,
                 lease_seconds: float = 60.0, rng: random.Random | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._db = db
        self._clock = clock
        self._policy = policy or WebhookRetryPolicy()
        self._timeout = timeout
        self._concurrency = concurrency
        self._idle_poll = idle_poll
        self._lease = max(lease_seconds, timeout * 3)
        self._rng = rng or random.Random()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._secrets: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = {"delivered": 0, "failed_attempts": 0, "dead": 0}

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self._timeout, transport=self._transport, follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=self._concurrency,
                                max_keepalive_connections=self._concurrency))
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("webhook delivery round failed")
                sent = 0
                await asyncio.sleep(1.0)
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll)

    async def deliver_due(self) -> int:
        """Claim what is due, send it concurrently, record every attempt. Returns the count."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            due = await webhook_store.claim_webhooks(conn, now=now, lease_seconds=self._lease,
                                                     limit=self._concurrency * 4)
        if not due:
            return 0
        await self._load_secrets({d.account_id for d in due})
        semaphore = asyncio.Semaphore(self._concurrency)

        async def one(delivery: WebhookDelivery) -> tuple[WebhookDelivery, int | None,
                                                          str | None, float]:
            async with semaphore:
                return (delivery, *await self._post(delivery))

        results = await asyncio.gather(*(one(d) for d in due))
        await self._record(results)
        return len(due)

    async def _load_secrets(self, account_ids: set[str]) -> None:
        missing = account_ids - self._secrets.keys()
        if not missing:
            return
        async with self._db.read() as conn:
            for account_id in missing:
                account = await account_store.get_account(conn, account_id)
                if account is not None:
                    self._secrets[account_id] = account.webhook_secret

    async def _post(self, delivery: WebhookDelivery) -> tuple[int | None, str | None, float]:
        assert self._client is not None
        body = delivery.payload.encode()
        secret = self._secrets.get(delivery.account_id, "")
        headers = {
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.sign(secret, body, int(self._clock.now())),
            "X-Smsrelay-Delivery": str(delivery.id),
            "X-Smsrelay-Message-Id": delivery.message_id,
        }
        started = time.perf_counter()
        try:
            response = await self._client.post(delivery.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "timeout", _ms(started)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500], _ms(started)
        except Exception as error:  # a malformed URL etc. must not stop the outbox
            return None, f"{type(error).__name__}: {error}"[:500], _ms(started)
        return response.status_code, None, _ms(started)

    async def _record(self, results: Sequence[tuple[WebhookDelivery, int | None, str | None,
                                                    float]]) -> None:
        now = self._clock.now()
        async with self._db.transaction() as conn:
            for delivery, status, error, duration in results:
                outcome: Literal["delivered", "retry", "dead"]
                if status is not None and 200 <= status < 300:
                    outcome, next_at = "delivered", None
                    self.stats["delivered"] += 1
                else:
                    self.stats["failed_attempts"] += 1
                    next_at = self._policy.decide(attempts_made=delivery.attempts + 1,
                                                  first_attempt_at=delivery.created_at,
                                                  now=now, rng=self._rng)
                    outcome = "retry" if next_at is not None else "dead"
                    if next_at is None:
                        self.stats["dead"] += 1
                        log.warning("webhook dead-lettered delivery=%s message_id=%s",
                                    delivery.id, delivery.message_id)
                    if error is None:
                        error = f"HTTP {status}"
                await webhook_store.record_webhook_attempt(
                    conn, delivery.id, now=now, status_code=status, error=error,
                    duration_ms=duration, outcome=outcome, next_attempt_at=next_at)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
