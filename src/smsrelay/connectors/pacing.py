"""Send pacing for one connector: a configured rate, and slowing down when the carrier says so.

A carrier contracts a rate (messages per second across all binds) and answers anything
above it with ESME_RTHROTTLED (§5.1.3). :class:`Pacer` spaces submit_sm PDUs to the
configured ``rate`` (0: no limit of our own) and, on each throttle, halves the effective rate
(from the configured one, or from the rate actually observed when none is configured) and
pauses briefly. After ``recover_after`` seconds without a throttle it raises the rate again
by ``recovery`` per step until it is back at the configured rate (or, without one, well
above the rate it was throttled at, where the limit is lifted). Multiplicative decrease,
multiplicative probing back up: it settles near the carrier's real limit.

Scheduling is by reservation (a "theoretical arrival time", as in GCRA): each caller is
given its own send time at once, so concurrent callers are served in order and nobody
polls. Pure: time is passed in; :mod:`smsrelay.connectors.smpp` does the sleeping.
"""

from __future__ import annotations

__all__ = ["Pacer"]


class Pacer:
    """Reservations of send times at an adaptive rate (see the module docstring).

    ``generation`` changes on every throttle: a caller that reserved before it should
    reserve again, so a pause applies to sends already scheduled too.
    """

    def __init__(
        self,
        rate: float = 0.0,
        *,
        min_rate: float = 1.0,
        slowdown: float = 0.5,
        pause: float = 0.5,
        recover_after: float = 2.0,
        recovery: float = 1.25,
    ) -> None:
        if rate < 0 or min_rate <= 0 or not 0 < slowdown < 1 or recovery <= 1:
            raise ValueError("invalid pacing parameters")
        self.configured = rate
        self.limit: float | None = rate or None
        self.min_rate = min_rate
        self.slowdown = slowdown
        self.pause = pause
        self.recover_after = recover_after
        self.recovery = recovery
        self.generation = 0
        self.throttles = 0
        self._tat = 0.0
        self._pause_until = 0.0
        self._last_change: float | None = None
        self._ceiling = 0.0
        self._window_start: float | None = None
        self._window_count = 0
        self._observed = 0.0

    @property
    def slowed(self) -> bool:
        """Running below the configured rate (or limited without one) after a throttle."""
        return self.limit is not None and (not self.configured or self.limit < self.configured)

    def reserve(self, now: float) -> float:
        """Reserve the next send; returns the seconds to wait before it (0: now)."""
        self._recover(now)
        self._observe(now)
        start = max(now, self._pause_until)
        if self.limit is None:
            return start - now
        at = max(self._tat, start)
        self._tat = at + 1.0 / self.limit
        return at - now

    def throttled(self, now: float) -> None:
        """The carrier answered ESME_RTHROTTLED: slow down and pause. Responses to a whole
        window arrive together, so throttles within one ``pause`` count once."""
        if now < self._pause_until:
            return
        base = self.limit if self.limit is not None else max(self.min_rate, self._rate(now))
        self._ceiling = max(self._ceiling, base)
        self.limit = max(self.min_rate, base * self.slowdown)
        self._pause_until = now + self.pause
        self._tat = self._pause_until
        self._last_change = now
        self.generation += 1
        self.throttles += 1

    def pause_for(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` (an HTTP provider's ``Retry-After``)."""
        until = now + seconds
        if until > self._pause_until:
            self._pause_until = until
            self._tat = max(self._tat, until)
            self.generation += 1

    def _recover(self, now: float) -> None:
        if self._last_change is None or self.limit is None:
            return
        if now - self._last_change < self.recover_after:
            return
        self._last_change = now
        raised = self.limit * self.recovery
        if self.configured and raised >= self.configured:
            self.limit, self._last_change = self.configured, None
        elif not self.configured and raised >= 2 * self._ceiling:
            self.limit, self._last_change, self._ceiling = None, None, 0.0
        else:
            self.limit = raised

    def _observe(self, now: float) -> None:
        if self._window_start is None:
            self._window_start = now
        self._window_count += 1
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            self._observed = self._window_count / elapsed
            self._window_start, self._window_count = now, 0

    def _rate(self, now: float) -> float:
        """Sends per second lately: the last full second, or the current one counted over
        at least 0.1 s (a burst at start-up must not read as thousands per millisecond)."""
        if self._window_start is None:
            return self.min_rate
        current = self._window_count / max(0.1, now - self._window_start)
        return max(self._observed, current, self.min_rate)
