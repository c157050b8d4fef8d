"""A circuit told when its connector loses and regains the way to its carrier."""

from __future__ import annotations

from smsrelay.domain.circuit import CircuitBreaker, CircuitState
from smsrelay.domain.errors import ErrorCode

DOWN = ErrorCode.CARRIER_UNAVAILABLE


def _opened(now: float = 0.0) -> CircuitBreaker:
    circuit = CircuitBreaker(threshold=1, cooldown=10.0)
    circuit.record(DOWN, now)
    assert circuit.state is CircuitState.OPEN
    return circuit


def test_back_from_an_outage_probes_at_once() -> None:
    circuit = _opened()
    circuit.unreachable()
    circuit.reachable()
    assert circuit.state is CircuitState.HALF_OPEN
    assert circuit.allows(1.0)  # the probe, long before the cool-down's end
    assert not circuit.allows(1.0)  # one probe at a time
    circuit.record(None, 1.5)
    assert circuit.state is CircuitState.CLOSED


def test_a_failed_probe_after_recovery_waits_the_base_cooldown() -> None:
    circuit = _opened()
    circuit.current_cooldown = 300.0  # grown through a long outage
    circuit.unreachable()
    circuit.reachable()
    assert circuit.allows(1.0)
    circuit.record(DOWN, 1.0)
    assert circuit.state is CircuitState.OPEN
    assert circuit.current_cooldown == 10.0


def test_reachable_without_an_outage_keeps_the_cooldown() -> None:
    """A carrier that fails while its sessions stay bound is probed after the cool-down."""
    circuit = _opened()
    circuit.reachable()
    assert circuit.state is CircuitState.OPEN
    assert not circuit.allows(5.0)
    assert circuit.allows(10.0)


def test_a_closed_circuit_ignores_reachability() -> None:
    circuit = CircuitBreaker()
    circuit.unreachable()
    circuit.reachable()
    assert circuit.state is CircuitState.CLOSED and not circuit.unreached
