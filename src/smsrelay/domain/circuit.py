"""A circuit breaker per connector: stop sending to a carrier that keeps failing.

After ``threshold`` consecutive connection-type failures the circuit opens: the connector is
skipped (traffic fails over) for a cool-down; then one probe message is let through
(half-open). Its success closes the circuit; its failure opens it again for twice as long, up
to ``max_cooldown``. Pure: every call takes ``now``.

The cool-down is a guess at when a failing carrier may work again; when the connector can
tell (an SMPP connector knows whether a session is bound), the dispatcher says so instead:
``unreachable`` while the connector has no way to the carrier (no probe is wasted then, so
the cool-down does not keep doubling through a long outage) and ``reachable`` once it has
one again, which starts the probe at once. Without that, a carrier back after a long outage
waited out a cool-down grown to minutes while its traffic stayed on the next connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smsrelay.domain.errors import ErrorCode


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


TRIPPING_ERRORS = frozenset(
    {
        ErrorCode.CARRIER_UNAVAILABLE,
        ErrorCode.CARRIER_TIMEOUT,
        ErrorCode.CARRIER_SYSTEM_ERROR,
        ErrorCode.CARRIER_AUTH_FAILED,
    }
)
"""Errors that say the connector, not the message, is at fault."""

OPENING_AT_ONCE = frozenset({ErrorCode.CARRIER_AUTH_FAILED})
"""Errors after which waiting for more failures only makes more: the provider refused our
credentials, and will refuse the next message the same way."""


@dataclass(slots=True)
class CircuitBreaker:
    threshold: int = 5
    cooldown: float = 10.0
    max_cooldown: float = 300.0
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    current_cooldown: float = 0.0
    probing: bool = False
    unreached: bool = False  # seen without a way to the carrier since the circuit opened

    def allows(self, now: float) -> bool:
        """Whether a message may be sent through this connector now (may start a probe)."""
        if self.state is CircuitState.CLOSED:
            return True
        if self.state is CircuitState.OPEN and now >= self.opened_at + self.current_cooldown:
            self.state = CircuitState.HALF_OPEN
            self.probing = False
        if self.state is CircuitState.HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def unreachable(self) -> None:
        """The connector has no way to its carrier now (no bound session)."""
        if self.state is not CircuitState.CLOSED:
            self.unreached = True

    def reachable(self) -> None:
        """The connector can reach its carrier: after an outage, probe now, not after the
        cool-down (whose growth measured the outage, not the carrier's health)."""
        if self.unreached and self.state is CircuitState.OPEN:
            self.state = CircuitState.HALF_OPEN
            self.probing = False
            self.current_cooldown = 0.0
        self.unreached = False

    def record(self, error: ErrorCode | None, now: float) -> None:
        """Feed the outcome of one submit (``None`` = success)."""
        if error is None or error not in TRIPPING_ERRORS:
            if error is None or self.state is CircuitState.HALF_OPEN:
                self.state = CircuitState.CLOSED
                self.current_cooldown = 0.0
            self.failures = 0
            self.probing = False
            return
        self.failures += 1
        if self.state is CircuitState.HALF_OPEN:
            self._open(now, min(self.max_cooldown, max(self.cooldown, self.current_cooldown * 2)))
        elif self.state is CircuitState.CLOSED and (
            self.failures >= self.threshold or error in OPENING_AT_ONCE
        ):
            self._open(now, self.cooldown)

    def _open(self, now: float, cooldown: float) -> None:
        self.state = CircuitState.OPEN
        self.unreached = False
        self.opened_at = now
        self.current_cooldown = cooldown
        self.probing = False
