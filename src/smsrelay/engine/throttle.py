"""Token buckets: per-account request limits now, per-connector send rates later.

A bucket refills continuously at ``rate`` tokens per second up to ``burst``. ``take`` either
spends the tokens and answers 0, or spends nothing and answers how long to wait: the
``Retry-After`` a client is told, or the sleep of a throttled sender (never a busy wait).
"""

from __future__ import annotations

from dataclasses import dataclass


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
