"""The webhook sender: sign each callback, POST it, and keep receiving hosts apart.

Delivery is a pipeline, so one slow or dead receiver cannot hold the others back: up to
``concurrency`` requests are in flight, at most ``per_host`` to one host. What to send and
what an answer means for the delivery is the outbox's job (``outbox.py``): it claims
deliveries, hands them here, and records the attempts this sender reports.

Host health. A host that fails ``host_backoff_after`` times in a row is *down*: from then on
it gets one request at a time, a probe, at a pace that grows like a delivery's backoff up to
``probe_every`` seconds, and its other deliveries wait without spending an attempt (the
outbox defers them). The first probe that succeeds marks the host up again and tells the
outbox, which makes the host's whole backlog due at once, whatever each delivery's own
backoff said: after an outage of any length the backlog goes out as soon as the host is
back (at ``per_host`` requests at a time), while a host that stays down sees one request per
probe. Health is kept per process; each process finds a host's return with its own probe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from smsrelay.domain import signing
from smsrelay.domain.retry import Backoff, WebhookRetryPolicy
from smsrelay.engine.clock import Clock
from smsrelay.httpclient import HttpClient
from smsrelay.store import accounts as account_store
from smsrelay.store.db import Database
from smsrelay.store.webhooks import WebhookDelivery

USER_AGENT = "smsrelay-webhooks/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery: WebhookDelivery
    status: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class HostNews:
    """What an attempt's outcome changed for its host: ``back``, the URLs whose backlog to
    release (a down host answered); ``probe_at``, when a host that is (still) down is probed
    next (0: no new pause)."""

    back: frozenset[str] = frozenset()
    probe_at: float = 0.0


MAX_URLS_PER_HOST = 1000  # URLs remembered for a down host, to release its backlog by


SENDER_REREAD = 60.0  # seconds an account's secret and address rule are kept


@dataclass(frozen=True, slots=True)
class _Sender:
    """What posting for one account needs: its signing secret, and whether its callbacks may
    only reach public addresses (a tenant the operator has not allowed private ones)."""

    secret: str
    public_only: bool
    read_at: float

    def stale(self, now: float) -> bool:
        return now - self.read_at > SENDER_REREAD


@dataclass(slots=True)
class _Host:
    """Health of one receiving host (see the module docstring)."""

    semaphore: asyncio.Semaphore
    failures: int = 0  # in a row
    down: bool = False
    probes_failed: int = 0
    until: float = 0.0  # a down host's next probe
    probe: int | None = None  # the delivery in flight as the probe
    probe_ends: float = 0.0  # the probe is given up (a claim rolled back) after this
    urls: set[str] = field(default_factory=set)  # of deliveries deferred or failed while down
    active: int = 0  # requests holding or waiting for a slot


class WebhookSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        timeout: float = 10.0,
        concurrency: int = 64,
        per_host: int = 16,
        host_backoff_after: int = 3,
        host_backoff: Backoff | None = None,
        probe_every: float = 5.0,
        block_private: bool = False,
    ) -> None:
        """``db``: read for the accounts' signing secrets. ``host_backoff``: how the pause
        between probes of a down host grows (a delivery's own backoff), up to
        ``probe_every`` seconds: one request that often is no load for a receiver, and it
        bounds how long a returning host's backlog waits to be noticed."""
        self._db = db
        self._clock = clock
        self.timeout = timeout
        self._concurrency = concurrency
        self._per_host = per_host
        self._host_backoff_after = host_backoff_after
        self._host_backoff = host_backoff or WebhookRetryPolicy().backoff
        self._probe_every = probe_every
        self._block_private = block_private
        self._client: HttpClient | None = None
        self._senders: dict[str, _Sender] = {}  # per account: secret, address rule, when read
        self._hosts: dict[str, _Host] = {}
        self._inflight = 0
        self._posts: set[asyncio.Task[Attempt]] = set()
        self._report: Callable[[Attempt], None] = lambda attempt: None
        self.started = 0
        self.stats = {
            "delivered": 0,
            "failed_attempts": 0,
            "dead": 0,
            "deferred": 0,
            "released": 0,
        }

    def longest_wait(self) -> float:
        """How long a request may take, waiting for its host's slot behind others included."""
        queue_ahead = -(-self._concurrency // max(self._per_host, 1))
        return self.timeout * (queue_ahead + 2)

    async def start(self, report: Callable[[Attempt], None]) -> None:
        """Open the HTTP client; each finished attempt is passed to ``report``."""
        self._report = report
        self._client = HttpClient(
            timeout=self.timeout,
            max_idle_per_host=self._per_host,
            user_agent=USER_AGENT,
            block_private=self._block_private,
        )

    async def finish_posts(self) -> None:
        """Wait for the requests in flight (each bounded by the timeout: a network wait)."""
        if self._posts:
            await asyncio.wait(set(self._posts), timeout=self.timeout + 5)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def free_room(self) -> int:
        return self._concurrency - self._inflight

    async def post_all(self, due: Sequence[WebhookDelivery]) -> None:
        """Start posting ``due`` (committed claims)."""
        if not due:
            return
        await self._load_secrets({d.account_id for d in due})
        for delivery in due:
            self._inflight += 1
            self.started += 1
            task = asyncio.create_task(self._post(delivery))
            self._posts.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Attempt]) -> None:
        self._posts.discard(task)
        self._inflight -= 1
        if not task.cancelled() and task.exception() is None:
            self._report(task.result())

    # -- host health -----------------------------------------------------------------------

    def backing_off_until(self, url: str, now: float, delivery_id: int) -> float:
        """0 if ``delivery_id`` may be posted to its host now, else when to try it again.

        An up host takes everything. A down host takes one probe when its pause is over and
        no probe is in flight; otherwise the answer is when the next probe may go (the
        outbox keeps one delivery for it and puts the rest further away: a successful probe
        releases them all).
        """
        host = self._host(url)
        if not host.down:
            return 0.0
        if len(host.urls) < MAX_URLS_PER_HOST:
            host.urls.add(url)
        if host.probe is not None and now >= host.probe_ends:
            host.probe = None  # its claim was rolled back, or its answer was lost
        if host.probe is None and now >= host.until:
            host.probe, host.probe_ends = delivery_id, now + self.longest_wait()
            return 0.0
        return host.until if host.probe is None else now + self._probe_every

    def host_answered(self, url: str, delivery_id: int, ok: bool, now: float) -> HostNews:
        """Note an attempt's outcome, and say what it changed for the host."""
        host = self._host(url)
        probe = host.probe == delivery_id
        if probe:
            host.probe = None
        if ok:
            back = host.urls | {url} if host.down else set()
            host.failures, host.down, host.probes_failed, host.until = 0, False, 0, 0.0
            host.urls = set()
            return HostNews(back=frozenset(back))
        host.failures += 1
        if len(host.urls) < MAX_URLS_PER_HOST:
            host.urls.add(url)
        if probe or (not host.down and host.failures >= self._host_backoff_after):
            # down, or still down: the next probe, paced like one delivery's backoff; an
            # attempt that was in flight when the host went down does not move it
            host.down = True
            host.probes_failed += 1
            pause = self._host_backoff.nominal(min(host.probes_failed, 16))
            host.until = now + min(self._probe_every, pause)
            return HostNews(probe_at=host.until)
        return HostNews()

    def _host(self, url: str) -> _Host:
        try:
            key = urlsplit(url).netloc.lower()
        except ValueError:
            key = ""
        host = self._hosts.get(key)
        if host is None:
            if len(self._hosts) >= 10_000:  # hosts come from user input: keep the map bounded
                for name, known in list(self._hosts.items()):
                    if not known.down and known.failures == 0 and known.active == 0:
                        del self._hosts[name]
            host = self._hosts[key] = _Host(asyncio.Semaphore(self._per_host))
        return host

    # -- one request -----------------------------------------------------------------------

    async def _load_secrets(self, account_ids: set[str]) -> None:
        """Read the signing secret and the address rule of each account, at most once a
        minute: a rotated secret or an operator's change of the rule is seen within it."""
        now = self._clock.now()
        missing = {a for a in account_ids if a not in self._senders or self._senders[a].stale(now)}
        if not missing:
            return
        async with self._db.read() as conn:
            for account_id in missing:
                account = await account_store.get_account(conn, account_id)
                if account is not None:
                    self._senders[account_id] = _Sender(
                        account.webhook_secret, not account.private_callbacks_allowed, now
                    )

    async def _post(self, delivery: WebhookDelivery) -> Attempt:
        assert self._client is not None
        body = delivery.payload.encode()
        sender = self._senders.get(delivery.account_id)
        secret = sender.secret if sender is not None else ""
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
    ) -> Attempt:
        assert self._client is not None
        async with host.semaphore:
            started = time.perf_counter()
            try:
                sender = self._senders.get(delivery.account_id)
                status = await self._client.post(
                    delivery.url, body, headers, public_only=sender is None or sender.public_only
                )
            except TimeoutError:
                return Attempt(delivery, None, "timeout", _ms(started))
            except Exception as error:  # refused, reset, malformed URL: all just a failure
                return Attempt(
                    delivery, None, f"{type(error).__name__}: {error}"[:500], _ms(started)
                )
            return Attempt(delivery, status, None, _ms(started))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
