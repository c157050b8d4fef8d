"""Token buckets, and the account rate limit that every way in applies through them.

A bucket refills continuously at ``rate`` tokens per second up to ``burst``. ``take`` either
spends the tokens and answers 0, or spends nothing and answers how long to wait: the
``Retry-After`` a client is told. ``AccountRate`` is the one place that works out an account's
limit (its own, else the gateway's default) and refuses what exceeds it; the accept path
(``engine/accept.py``) calls it for REST and SMPP alike. Connector send rates are paced by
the lanes (``engine/lanes.py``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from smsrelay.domain.errors import ErrorCode, SmsError


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate, burst, burst, now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, amount: float, now: float) -> float:
        """Spend ``amount`` tokens and return 0, or return the seconds until they exist."""
        self._refill(now)
        if amount <= self.tokens + 1e-9:  # tolerate float rounding after an exact wait
            self.tokens = max(0.0, self.tokens - amount)
            return 0.0
        if amount > self.burst:
            # could never fit: wait for a full bucket, the caller should split the request
            return (self.burst - self.tokens) / self.rate + (amount - self.burst) / self.rate
        return (amount - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key (an account id), created full on first use."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, key: str, amount: float, *, rate: float, burst: float, now: float) -> float:
        """0 when allowed (and spent), else the seconds to wait. ``rate`` 0 means no limit."""
        if rate <= 0:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = self._buckets[key] = TokenBucket.full(rate, burst, now)
        return bucket.take(amount, now)


class RateLimited(Protocol):
    """What the rate limit reads of an account: its id and its own limit, if set."""

    @property
    def id(self) -> str: ...

    @property
    def rate_limit(self) -> float | None: ...

    @property
    def rate_burst(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """An account as the rate limit sees it, for callers that hold only its id (tools,
    tests): no limit of its own, so the gateway's default applies."""

    id: str
    rate_limit: float | None = None
    rate_burst: int | None = None


class RateBudget(Protocol):
    """Where a limit's tokens come from: this process (:class:`LocalBudget`) or every process
    of the gateway (``engine/budget.SharedBudget``)."""

    async def take(
        self, key: str, amount: float, *, rate: float, burst: float, now: float
    ) -> float:
        """Spend ``amount`` tokens of bucket ``key`` and answer 0, or answer the seconds
        until they could exist. ``rate`` 0 means no limit."""
        ...


class LocalBudget:
    """Buckets in this process's memory: right when this process is the whole gateway."""

    def __init__(self) -> None:
        self._limiter = RateLimiter()

    async def take(
        self, key: str, amount: float, *, rate: float, burst: float, now: float
    ) -> float:
        return self._limiter.check(key, amount, rate=rate, burst=burst, now=now)


class AccountRate:
    """Each account's message rate: its stored limit, else the gateway's default.

    ``check`` spends ``count`` messages from the account's bucket or raises: a request larger
    than the burst can never pass (``batch_too_large``: split it), one that exceeds the rate
    now is ``rate_limited`` with the seconds to wait (HTTP ``Retry-After``, SMPP
    ESME_RTHROTTLED). The bucket is the gateway's, not the process's, when ``budget`` is
    shared (``engine/budget.SharedBudget``).
    """

    def __init__(
        self, *, rate: float = 500.0, burst: int = 1000, budget: RateBudget | None = None
    ) -> None:
        self.default_rate = rate
        self.default_burst = burst
        self._budget = budget or LocalBudget()

    async def check(self, account: RateLimited, count: int, now: float) -> None:
        rate = account.rate_limit if account.rate_limit is not None else self.default_rate
        burst = account.rate_burst if account.rate_burst is not None else self.default_burst
        burst = max(burst, 1)
        if rate <= 0:
            return
        if count > burst:
            raise SmsError(
                ErrorCode.BATCH_TOO_LARGE,
                f"{count} messages in one request exceed this account's burst of "
                f"{burst}; send smaller batches.",
                field="messages",
            )
        wait = await self._budget.take(
            f"account:{account.id}", count, rate=rate, burst=burst, now=now
        )
        if wait > 0:
            raise SmsError(
                ErrorCode.RATE_LIMITED,
                f"Rate limit of {rate:g} messages/s exceeded; retry in {wait:.1f} s.",
                retry_after=wait,
            )
