"""The circuit breaker: opens after repeated carrier failures, probes, closes on success."""

from __future__ import annotations

from smsrelay.domain.circuit import CircuitBreaker, CircuitState
from smsrelay.domain.errors import ErrorCode


def test_opens_after_threshold_and_probes_after_cooldown() -> None:
    c = CircuitBreaker(threshold=3, cooldown=10)
    for _ in range(2):
        c.record(ErrorCode.CARRIER_UNAVAILABLE, now=0)
    assert c.allows(0)
    c.record(ErrorCode.CARRIER_TIMEOUT, now=1)
    assert c.state is CircuitState.OPEN and not c.allows(5)
    assert c.allows(11)  # the probe
    assert not c.allows(11)  # only one probe at a time
    c.record(None, now=12)
    assert c.state is CircuitState.CLOSED and c.allows(12)


def test_failed_probe_doubles_the_cooldown() -> None:
    c = CircuitBreaker(threshold=1, cooldown=10, max_cooldown=25)
    c.record(ErrorCode.CARRIER_SYSTEM_ERROR, now=0)
    assert c.allows(10)
    c.record(ErrorCode.CARRIER_SYSTEM_ERROR, now=10)
    assert not c.allows(29) and c.allows(30)
    c.record(ErrorCode.CARRIER_SYSTEM_ERROR, now=30)
    assert not c.allows(54) and c.allows(55)  # capped at 25


def test_message_errors_do_not_trip_it() -> None:
    c = CircuitBreaker(threshold=2)
    for _ in range(10):
        c.record(ErrorCode.INVALID_DESTINATION, now=0)
    assert c.state is CircuitState.CLOSED


def test_refused_credentials_open_the_circuit_at_once() -> None:
    breaker = CircuitBreaker(threshold=5, cooldown=10.0)
    breaker.record(ErrorCode.CARRIER_AUTH_FAILED, 0.0)
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allows(5.0)
    assert breaker.allows(10.0)  # one probe after the cool-down
    breaker.record(ErrorCode.CARRIER_AUTH_FAILED, 10.0)
    assert breaker.state is CircuitState.OPEN and breaker.current_cooldown == 20.0
