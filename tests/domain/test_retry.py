from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.errors import CATALOGUE, ErrorCode
from smsrelay.domain.retry import Backoff, RetryDecision, RetryPolicy, WebhookRetryPolicy

RETRYABLE = sorted(code for code, row in CATALOGUE.items() if row.retryable)
PERMANENT = sorted(code for code, row in CATALOGUE.items() if not row.retryable)


class FixedJitter(random.Random):
    """Draws the given fraction of every uniform range: 0.0 = shortest, 1.0 = longest."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


# --- backoff ------------------------------------------------------------------------------


def test_nominal_delays_double_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, factor=2.0, cap=300.0)
    assert [backoff.nominal(n) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff.nominal(100_000) == 300.0  # no OverflowError


def test_equal_jitter_bounds() -> None:
    backoff = Backoff()
    assert backoff.delay(4, FixedJitter(0.0)) == 4.0
    assert backoff.delay(4, FixedJitter(1.0)) == 8.0


@given(st.integers(min_value=1, max_value=5000), st.integers())
def test_delay_is_between_half_and_all_of_nominal(attempt: int, seed: int) -> None:
    backoff = Backoff(base=0.5, factor=3.0, cap=600.0)
    nominal = backoff.nominal(attempt)
    assert nominal <= 600.0
    assert nominal / 2 <= backoff.delay(attempt, random.Random(seed)) <= nominal
    if attempt > 1:
        assert backoff.nominal(attempt - 1) <= nominal


@pytest.mark.parametrize("kwargs", [{"base": 0}, {"factor": 0.5}, {"base": 10, "cap": 5}])
def test_bad_backoff_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        Backoff().delay(0, random.Random(1))
    with pytest.raises(ValueError):
        RetryPolicy().decide(
            attempts_made=0,
            error=ErrorCode.CARRIER_TIMEOUT,
            now=0,
            expires_at=None,
            rng=random.Random(1),
        )
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# --- message retry policy -----------------------------------------------------------------


@pytest.mark.parametrize("error", PERMANENT)
def test_permanent_errors_give_up_with_their_own_code(error: ErrorCode) -> None:
    decision = RetryPolicy().decide(
        attempts_made=1, error=error, now=100.0, expires_at=None, rng=random.Random(1)
    )
    assert decision == RetryDecision(None, error, f"{error} is not retryable")
    assert not decision.retry


def test_retryable_error_is_retried_with_backoff() -> None:
    decision = RetryPolicy().decide(
        attempts_made=3,
        error=ErrorCode.CARRIER_THROTTLED,
        now=1000.0,
        expires_at=None,
        rng=FixedJitter(1.0),
    )
    assert decision.retry_at == 1004.0
    assert decision.give_up_code is None
    assert decision.retry


def test_attempts_exhausted() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.decide(
        attempts_made=2,
        error=ErrorCode.CARRIER_TIMEOUT,
        now=0,
        expires_at=None,
        rng=random.Random(1),
    ).retry
    decision = policy.decide(
        attempts_made=3,
        error=ErrorCode.CARRIER_TIMEOUT,
        now=0,
        expires_at=None,
        rng=random.Random(1),
    )
    assert decision.give_up_code is ErrorCode.RETRIES_EXHAUSTED
    assert "carrier_timeout" in decision.reason


def test_validity_ends_before_the_next_attempt() -> None:
    policy = RetryPolicy()
    decision = policy.decide(
        attempts_made=4,
        error=ErrorCode.CARRIER_UNAVAILABLE,
        now=100.0,
        expires_at=104.0,
        rng=FixedJitter(0.0),
    )  # next at 104: allowed
    assert decision.retry_at == 104.0
    decision = policy.decide(
        attempts_made=4,
        error=ErrorCode.CARRIER_UNAVAILABLE,
        now=100.0,
        expires_at=103.9,
        rng=FixedJitter(0.0),
    )
    assert decision.give_up_code is ErrorCode.VALIDITY_EXPIRED


@given(
    attempts=st.integers(min_value=1, max_value=20),
    error=st.sampled_from(sorted(ErrorCode)),
    now=st.floats(min_value=0, max_value=2e9),
    validity=st.none() | st.floats(min_value=-100, max_value=1000),
    seed=st.integers(),
)
@settings(max_examples=300)
def test_decision_is_exactly_one_outcome(
    attempts: int, error: ErrorCode, now: float, validity: float | None, seed: int
) -> None:
    policy = RetryPolicy()
    expires_at = None if validity is None else now + validity
    decision = policy.decide(
        attempts_made=attempts, error=error, now=now, expires_at=expires_at, rng=random.Random(seed)
    )
    again = policy.decide(
        attempts_made=attempts, error=error, now=now, expires_at=expires_at, rng=random.Random(seed)
    )
    assert decision == again
    assert (decision.retry_at is None) != (decision.give_up_code is None)
    if decision.retry_at is not None:
        assert CATALOGUE[error].retryable
        assert attempts < policy.max_attempts
        assert now < decision.retry_at <= now + policy.backoff.cap
        assert expires_at is None or decision.retry_at <= expires_at
    elif not CATALOGUE[error].retryable:
        assert decision.give_up_code is error
    elif attempts >= policy.max_attempts:
        assert decision.give_up_code is ErrorCode.RETRIES_EXHAUSTED
    else:
        assert decision.give_up_code is ErrorCode.VALIDITY_EXPIRED


# --- webhook retry policy -----------------------------------------------------------------


def _schedule(policy: WebhookRetryPolicy, rng: random.Random, start: float) -> list[float]:
    """Attempt times of a delivery that always fails."""
    times = [start]
    while (
        nxt := policy.decide(
            attempts_made=len(times), first_attempt_at=start, now=times[-1], rng=rng
        )
    ) is not None:
        times.append(nxt)
    return times


@pytest.mark.parametrize(("fraction", "attempts"), [(0.0, 58), (1.0, 34)])
def test_webhook_schedule_extremes_match_the_docstring(fraction: float, attempts: int) -> None:
    times = _schedule(WebhookRetryPolicy(), FixedJitter(fraction), 0.0)
    assert len(times) == attempts
    assert 86400 <= times[-1] <= 86400 + 3600
    assert 42 * 60 <= times[10] <= 86 * 60


@given(st.integers(), st.floats(min_value=0, max_value=2e9))
@settings(max_examples=50)
def test_webhooks_keep_trying_for_at_least_a_day(seed: int, start: float) -> None:
    policy = WebhookRetryPolicy()
    times = _schedule(policy, random.Random(seed), start)
    assert times[-1] - start >= 86400
    assert times[-1] - start <= 86400 + 3600
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 2.5
    assert max(gaps) <= 3600
    assert 34 <= len(times) <= 58


def test_webhook_dead_letters_after_the_window() -> None:
    policy = WebhookRetryPolicy()
    assert (
        policy.decide(attempts_made=40, first_attempt_at=0, now=86399.0, rng=random.Random(1))
        is not None
    )
    assert (
        policy.decide(attempts_made=40, first_attempt_at=0, now=86400.0, rng=random.Random(1))
        is None
    )
    with pytest.raises(ValueError):
        policy.decide(attempts_made=0, first_attempt_at=0, now=0, rng=random.Random(1))
