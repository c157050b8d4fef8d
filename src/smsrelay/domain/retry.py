"""Retry policy as pure values: given what happened and when, decide when to try again.

The dispatcher calls :meth:`RetryPolicy.decide` after a failed submit and applies the
decision to the message row (``queued`` with a new ``not_before``, or ``failed`` with the
give-up code); the webhook sender calls :meth:`WebhookRetryPolicy.decide` after a failed
delivery. Attempt counts live in the database, and time and randomness are arguments, so a
restart loses nothing and tests need no clock.

Jitter: **equal jitter** — a delay is half the exponential backoff plus a uniform random part
of the other half. A retry here follows a carrier or endpoint failure (throttling, a link
down), and thousands of messages fail together in the same outage. The random half spreads
them out; the fixed half guarantees the pace really slows down. Full jitter spreads load
slightly better but can draw a delay near zero, which resubmits at once to a carrier that is
still failing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from smsrelay.domain.errors import ErrorCode, spec

__all__ = ["Backoff", "RetryDecision", "RetryPolicy", "WebhookRetryPolicy"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with equal jitter, in seconds.

    The nominal delay before retry ``attempt`` (1 = the first retry) is
    ``min(cap, base * factor ** (attempt - 1))``; :meth:`delay` draws uniformly from
    ``[nominal / 2, nominal]``.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0

    def __post_init__(self) -> None:
        if not (self.base > 0 and self.factor >= 1 and self.cap >= self.base):
            raise ValueError(f"invalid backoff {self}")

    def nominal(self, attempt: int) -> float:
        """The delay before jitter; raises ``ValueError`` for an attempt below 1."""
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, not {attempt}")
        try:
            return min(self.cap, self.base * self.factor ** (attempt - 1))
        except OverflowError:
            return self.cap

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry ``attempt``, in ``[nominal / 2, nominal]``."""
        half = self.nominal(attempt) / 2
        return half + rng.uniform(0, half)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Retry at ``retry_at`` (unix seconds), or give up with ``give_up_code``; ``reason``
    is for logs and the message's event history."""

    retry_at: float | None
    give_up_code: ErrorCode | None
    reason: str

    @property
    def retry(self) -> bool:
        return self.retry_at is not None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of a message towards carriers.

    ``max_attempts`` counts every submit, the first included. With the defaults (6 attempts,
    1 s doubling to at most 300 s) the retries come after about 1, 2, 4, 8 and 16 s (each
    between half and all of that), enough to ride over a throttle or a rebind; longer outages
    are for failover to another connector, not for waiting.
    """

    max_attempts: int = 6
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def decide(
        self,
        *,
        attempts_made: int,
        error: ErrorCode,
        now: float,
        expires_at: float | None,
        rng: random.Random,
    ) -> RetryDecision:
        """Decide after attempt number ``attempts_made`` (≥ 1) failed with ``error``.

        In order: an error the catalogue marks not retryable gives up with that error; a spent
        attempt budget gives up with ``retries_exhausted``; a retry that would fall after
        ``expires_at`` (the message's validity) gives up with ``validity_expired``; otherwise
        retry at ``now`` plus the backoff delay for retry number ``attempts_made``.
        """
        if attempts_made < 1:
            raise ValueError(f"attempts_made counts from 1, not {attempts_made}")
        if not spec(error).retryable:
            return RetryDecision(None, error, f"{error} is not retryable")
        if attempts_made >= self.max_attempts:
            return RetryDecision(
                None,
                ErrorCode.RETRIES_EXHAUSTED,
                f"{attempts_made} attempts made, last error {error}",
            )
        retry_at = now + self.backoff.delay(attempts_made, rng)
        if expires_at is not None and retry_at > expires_at:
            return RetryDecision(
                None,
                ErrorCode.VALIDITY_EXPIRED,
                f"next attempt would be {retry_at - expires_at:.1f} s after "
                f"the validity ends; last error {error}",
            )
        return RetryDecision(retry_at, None, f"retry {attempts_made} after {error}")


@dataclass(frozen=True, slots=True)
class WebhookRetryPolicy:
    """Retries of a webhook delivery: keep trying for at least ``window`` seconds (24 h).

    A failed delivery is retried while it failed less than ``window`` after the first attempt,
    so some attempt always happens at or after ``first + window``. With the defaults (5 s
    doubling to at most 1 h, each delay between half and all of its nominal value) the nominal
    delays are::

        5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 320 s, 640 s, 1280 s, 2560 s, then 3600 s each

    so the first ten retries fall within 42 to 86 minutes, then one every 30 to 60 minutes.
    The last attempt lands between 24 h and 25 h after the first, after 34 to 58 attempts in
    all; then the delivery goes to the dead letters.
    """

    window: float = 86400.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base=5.0, factor=2.0, cap=3600.0))

    def decide(
        self, *, attempts_made: int, first_attempt_at: float, now: float, rng: random.Random
    ) -> float | None:
        """When to try again after attempt number ``attempts_made`` (≥ 1) failed at ``now``;
        None means give up (dead-letter)."""
        if attempts_made < 1:
            raise ValueError(f"attempts_made counts from 1, not {attempts_made}")
        if now - first_attempt_at >= self.window:
            return None
        return now + self.backoff.delay(attempts_made, rng)
