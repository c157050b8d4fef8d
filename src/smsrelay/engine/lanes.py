"""A connector's send lane: priority order, a rate limit, and a share kept for marketing.

The dispatcher puts claimed messages into the lane of the connector chosen for them; the lane
hands them out in priority order (OTP before transactional before marketing, then the
request's priority, then age) no faster than the connector's rate, sleeping on the token
bucket rather than polling. While higher lanes keep the connector busy, marketing still gets
``marketing_share`` of the sends, so a flood of OTPs delays a campaign but never starves it.

``room()`` tells the dispatcher how many more messages this lane can take without holding
them longer than ``lookahead`` seconds, so a throttled connector is fed just ahead of its
rate and a new OTP finds a short queue in front of it.

The connector's ``throughput`` and ``country_throughput`` are limits of the gateway, not of
one process: the tokens come from a :class:`~smsrelay.engine.throttle.RateBudget`, the
shared one (``engine/budget.SharedBudget``, buckets ``connector:<name>`` and
``connector:<name>:<country>``) when the gateway runs several processes, so N workers
together send at the connector's rate rather than N times it; in-memory buckets otherwise.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from smsrelay.domain.messages import LANES, Message, MessageKind
from smsrelay.engine.throttle import LocalBudget, RateBudget

_MARKETING_FLOOR = LANES[MessageKind.MARKETING] * 10 + 9


@dataclass(order=True, slots=True)
class _Entry:
    key: tuple[int, int]
    message: Message = field(compare=False)


class Lane:
    def __init__(
        self,
        name: str,
        rate: float = 0.0,
        *,
        marketing_share: float = 0.1,
        country_rates: Mapping[str, float] | None = None,
        lookahead: float = 2.0,
        unlimited_room: int = 1000,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: RateBudget | None = None,
    ) -> None:
        """``now`` must be the clock every process shares (wall time) when ``budget`` is."""
        self.name = name
        self.rate = rate
        self.marketing_share = marketing_share
        self.lookahead = lookahead
        self.unlimited_room = unlimited_room
        self._now = now
        self._sleep = sleep
        self._budget: RateBudget = budget or LocalBudget()
        self._key = f"connector:{name}"
        self._burst = max(1.0, rate * 0.1)
        self._countries = {
            country.upper(): r for country, r in (country_rates or {}).items() if r > 0
        }
        self._prepaid = 0.0  # tokens taken for a message that could not go: spent next
        self._high: list[_Entry] = []
        self._marketing: list[_Entry] = []
        self._order = itertools.count()
        self._nonempty = asyncio.Event()
        self._credit = 0.0
        self.sent = 0

    def __len__(self) -> int:
        return len(self._high) + len(self._marketing)

    def room(self) -> int:
        cap = int(self.rate * self.lookahead) + 1 if self.rate > 0 else self.unlimited_room
        return max(0, cap - len(self))

    def lowest_waiting_priority(self) -> int:
        """The lowest priority waiting here (a full lane still takes anything above it)."""
        heap = self._marketing or self._high
        if not heap:
            return 1 << 30
        return min(-entry.key[0] for entry in heap)

    def put(self, message: Message) -> None:
        self._push(_Entry((-message.priority, next(self._order)), message))
        self._nonempty.set()

    def drain(self) -> list[Message]:
        """Take every waiting message out (at shutdown, to return them to the queue)."""
        waiting = [e.message for e in self._high + self._marketing]
        self._high.clear()
        self._marketing.clear()
        return waiting

    def _pick(self) -> _Entry:
        if self._high and self._marketing:
            self._credit += self.marketing_share
            if self._credit >= 1.0:
                self._credit -= 1.0
                return heapq.heappop(self._marketing)
            return heapq.heappop(self._high)
        self._credit = 0.0
        return heapq.heappop(self._high or self._marketing)

    def _push(self, entry: _Entry) -> None:
        heapq.heappush(
            self._marketing if entry.message.priority <= _MARKETING_FLOOR else self._high, entry
        )

    async def _pick_sendable(self, now: float) -> tuple[Message | None, float]:
        """The best message whose destination country's own limit lets it go now.

        Messages to a country at its limit are passed over (and put back, keeping their
        place), so one throttled country does not hold up the others. Returns the message,
        or None and how long until the first passed-over country has a token again.
        """
        if not self._countries:
            return self._pick().message, 0.0
        passed: list[_Entry] = []
        chosen: Message | None = None
        soonest = float("inf")
        while len(self):
            entry = self._pick()
            country = (entry.message.country or "").upper()
            rate = self._countries.get(country, 0.0)
            wait = 0.0
            if rate > 0:
                wait = await self._budget.take(
                    f"{self._key}:{country}", 1, rate=rate, burst=max(1.0, rate * 0.1), now=now
                )
            if wait <= 0:
                chosen = entry.message
                break
            passed.append(entry)
            soonest = min(soonest, wait)
        for entry in passed:
            self._push(entry)
        return chosen, soonest

    def _peek_cost(self) -> int:
        heap = self._high or self._marketing
        return max(1, heap[0].message.segments)

    async def next(self) -> Message:
        """The next message to send, when the rate allows it (one token per segment)."""
        while True:
            if not len(self):
                self._nonempty.clear()
                await self._nonempty.wait()
                continue
            spent = 0.0
            if self.rate > 0:
                spent = min(self._peek_cost(), self._burst)
                if self._prepaid >= spent - 1e-9:
                    self._prepaid -= spent
                else:
                    wait = await self._budget.take(
                        self._key, spent, rate=self.rate, burst=self._burst, now=self._now()
                    )
                    if wait > 0:
                        await self._sleep(wait)
                        continue
            message, wait = await self._pick_sendable(self._now()) if len(self) else (None, 0.0)
            if message is None:  # every waiting message goes to a country at its limit
                # (or the lane was drained meanwhile): keep the tokens for the next one, since
                # a shared bucket cannot take them back
                self._prepaid = min(self._burst, self._prepaid + spent)
                await self._sleep(wait)
                continue
            self.sent += 1
            return message
