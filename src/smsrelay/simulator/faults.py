"""Fault injection for the carrier simulator: what a misbehaving carrier does, on request.

Real carriers throttle (ESME_RTHROTTLED past a contracted rate, §5.1.3), fail transiently
(ESME_RSYSERR), drop TCP connections with requests in flight, and stall: the link stays up
(enquire_link is still answered, §4.11) but submit_sm is never answered. Each fault here is
one field, so a test or the ``simulate-carrier`` command turns on exactly the ones it wants.

:class:`Faults` is the static configuration; :class:`FaultState` is its runtime side (the
throttle buckets, the random source, and a stall that can be started and ended while the
simulator runs). Both are pure: time is passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from smsrelay.smpp.constants import CommandStatus
from smsrelay.smpp.timers import TokenBucket

__all__ = ["FaultState", "Faults", "Verdict"]


@dataclass(frozen=True, slots=True)
class Faults:
    """Which faults to inject.

    Attributes:
        throttle: accepted submits per second per system_id, across all its binds (0: none);
            submits past it are answered ESME_RTHROTTLED.
        error_rate: share (0..1) of submits answered ESME_RSYSERR.
        drop_every: close a connection without answering the N-th request it sends
            (counted per connection; 0: never).
        stall: from the start, answer no submit at all (until :meth:`FaultState.end_stall`).
    """

    throttle: float = 0.0
    error_rate: float = 0.0
    drop_every: int = 0
    stall: bool = False

    def __post_init__(self) -> None:
        if self.throttle < 0 or not 0 <= self.error_rate <= 1 or self.drop_every < 0:
            raise ValueError(f"invalid faults {self}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one request: ``drop`` the connection, ``stall`` (no answer), or
    answer with ``status`` (0: handle normally)."""

    status: int = 0
    drop: bool = False
    stall: bool = False


_OK = Verdict()
_DROP = Verdict(drop=True)
_STALL = Verdict(stall=True)


class FaultState:
    """The faults in force, with their counters; ``judge`` decides each request's fate."""

    def __init__(self, faults: Faults, rng: random.Random) -> None:
        self.faults = faults
        self._rng = rng
        self._buckets: dict[str, TokenBucket] = {}
        self._stall_until: float | None = float("inf") if faults.stall else None

    def stall(self, now: float, seconds: float | None = None) -> None:
        """Stop answering submits for ``seconds`` from ``now`` (``None``: until ended)."""
        self._stall_until = float("inf") if seconds is None else now + seconds

    def end_stall(self) -> None:
        self._stall_until = None

    def stalled(self, now: float) -> bool:
        return self._stall_until is not None and now < self._stall_until

    def judge(self, system_id: str, requests_on_connection: int, now: float) -> Verdict:
        """The fate of a submit that is the ``requests_on_connection``-th request (1-based)
        on its connection. Order: drop, stall, throttle, random system error."""
        f = self.faults
        if f.drop_every and requests_on_connection % f.drop_every == 0:
            return _DROP
        if self.stalled(now):
            return _STALL
        if f.throttle > 0:
            bucket = self._buckets.get(system_id)
            if bucket is None:
                bucket = self._buckets[system_id] = TokenBucket(f.throttle, now)
            if not bucket.take(now):
                return Verdict(CommandStatus.ESME_RTHROTTLED)
        if f.error_rate and self._rng.random() < f.error_rate:
            return Verdict(CommandStatus.ESME_RSYSERR)
        return _OK
