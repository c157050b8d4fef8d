"""Pure session timers (§2.9 enquire_link; the session-init, inactivity and response timers of
SMPP 3.4 §7.2's "timer" table). Every method takes ``now`` (seconds, any monotonic origin)
and nothing here reads a clock, so tests drive it with plain numbers, as smppex's
``smpp_timers`` is tested.

- session-init: a connection must bind within ``session_init_timeout`` of opening;
- enquire_link: when nothing has been received for ``enquire_link_interval``, probe the peer
  (and again every interval while it stays silent; the probe's own response timeout is what
  declares the link dead);
- inactivity: nothing received for ``inactivity_timeout`` ends the session;
- response: each request we sent must be answered within its timeout.
"""

from __future__ import annotations

from enum import Enum
from typing import Generic, TypeVar

__all__ = ["LinkTimer", "LinkTimers", "Pending", "PendingRequests", "TokenBucket"]

T = TypeVar("T")
C = TypeVar("C")


class LinkTimer(Enum):
    """Which link timer fired."""

    SESSION_INIT = "session_init"
    ENQUIRE_LINK = "enquire_link"
    INACTIVITY = "inactivity"


class LinkTimers:
    """Session-init, enquire_link and inactivity timers for one session. ``None`` disables."""

    def __init__(
        self,
        now: float,
        *,
        enquire_link_interval: float | None = None,
        inactivity_timeout: float | None = None,
        session_init_timeout: float | None = None,
    ) -> None:
        self.enquire_link_interval = enquire_link_interval
        self.inactivity_timeout = inactivity_timeout
        self.session_init_timeout = session_init_timeout
        self._opened_at = now
        self._last_received = now
        self._last_probe = now
        self._bound = False
        self._init_fired = False
        self._inactivity_fired = False

    def received(self, now: float) -> None:
        """Any PDU arrived: the peer is alive."""
        self._last_received = now
        self._inactivity_fired = False

    def bound(self) -> None:
        """The session bound; the session-init timer no longer applies."""
        self._bound = True

    def expired(self, now: float) -> list[LinkTimer]:
        """Timers that fired by ``now``. Each fires once until activity re-arms it."""
        fired: list[LinkTimer] = []
        init = self.session_init_timeout
        if (
            init is not None
            and not self._bound
            and not self._init_fired
            and now - self._opened_at >= init
        ):
            self._init_fired = True
            fired.append(LinkTimer.SESSION_INIT)
        idle = self.inactivity_timeout
        if idle is not None and not self._inactivity_fired and now - self._last_received >= idle:
            self._inactivity_fired = True
            fired.append(LinkTimer.INACTIVITY)
        interval = self.enquire_link_interval
        if interval is not None and now - max(self._last_received, self._last_probe) >= interval:
            self._last_probe = now
            fired.append(LinkTimer.ENQUIRE_LINK)
        return fired

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`expired` can return something."""
        deadlines: list[float] = []
        if self.session_init_timeout is not None and not self._bound and not self._init_fired:
            deadlines.append(self._opened_at + self.session_init_timeout)
        if self.inactivity_timeout is not None and not self._inactivity_fired:
            deadlines.append(self._last_received + self.inactivity_timeout)
        if self.enquire_link_interval is not None:
            deadlines.append(
                max(self._last_received, self._last_probe) + self.enquire_link_interval
            )
        return min(deadlines) if deadlines else None


class Pending(Generic[T, C]):
    """One outstanding request: what we sent, the caller's context, and its deadline."""

    __slots__ = ("context", "deadline", "request", "timeout")

    def __init__(self, request: T, context: C | None, deadline: float, timeout: float) -> None:
        self.request = request
        self.context = context
        self.deadline = deadline
        self.timeout = timeout


class PendingRequests(Generic[T, C]):
    """Outstanding requests by sequence number, each with a response deadline."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._items: dict[int, Pending[T, C]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, sequence_number: object) -> bool:
        return sequence_number in self._items

    def add(
        self,
        sequence_number: int,
        request: T,
        context: C | None,
        now: float,
        timeout: float | None = None,
    ) -> None:
        t = self.timeout if timeout is None else timeout
        self._items[sequence_number] = Pending(request, context, now + t, t)

    def pop(self, sequence_number: int) -> Pending[T, C] | None:
        return self._items.pop(sequence_number, None)

    def expired(self, now: float) -> list[Pending[T, C]]:
        """Remove and return every request whose deadline has passed."""
        late = [seq for seq, p in self._items.items() if p.deadline <= now]
        return [self._items.pop(seq) for seq in late]

    def drain(self) -> list[Pending[T, C]]:
        """Remove and return everything (the session is closing)."""
        items = list(self._items.values())
        self._items.clear()
        return items

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._items.values()), default=None)


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst`` (default: one
    second's worth). Used for per-bind throughput limits; pure, like everything here."""

    def __init__(self, rate: float, now: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._at = now

    def take(self, now: float, n: float = 1.0) -> bool:
        """Take ``n`` tokens if available at ``now``; False means "over the limit"."""
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
        if self._tokens >= n:
            self._tokens -= n
            return True
        return False
