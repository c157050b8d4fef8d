"""Rate budgets: how fast something may go, for the whole gateway rather than per process.

An account's send rate and a connector's throughput are limits of the gateway. With several
gateway processes (``SMSRELAY_WORKERS``, or several machines on one PostgreSQL), a bucket per
process would let N processes go N times as fast, and a carrier answers that with throttling
or by blocking the bind. So the limits take their tokens from a :class:`RateBudget`:

* ``throttle.LocalBudget``: one process (SQLite with one worker, tests): in-memory buckets.
* :class:`SharedBudget`: the buckets live in the database (``store/budgets.py``), which every
  process already shares. A process takes a chunk of tokens at a time (by default what the
  rate gives in 50 ms, or what one request needs) and spends it locally. Once the bucket came
  up short, it asks at most once per chunk of time, and not before what it lacked could have
  refilled: a few small transactions a second per busy limit, not one per message. Tokens a
  process holds but has not spent within ``hold`` seconds are dropped rather than spent late,
  so a process that went quiet cannot add an old chunk to a later burst. The gateway as a
  whole never exceeds ``rate`` over time; a burst can exceed ``burst`` by at most one chunk
  per process.

``take`` answers 0 (granted and spent) or the seconds to wait before asking again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from smsrelay.engine.throttle import LocalBudget, RateBudget
from smsrelay.store import budgets as budget_store
from smsrelay.store.db import Database

log = logging.getLogger(__name__)

FAILED_WAIT = 1.0  # seconds a limit waits when its shared budget could not be read


@dataclass(slots=True)
class _Held:
    tokens: float = 0.0
    taken_at: float = 0.0
    ask_after: float = 0.0  # the bucket came up short: no new ask before this time
    limit: tuple[float, float] = (0.0, 0.0)  # the (rate, burst) these tokens were taken at


class SharedBudget:
    """Buckets in the database, spent in chunks; see the module docstring."""

    def __init__(self, db: Database, *, chunk: float = 0.05, hold: float = 1.0) -> None:
        self._db = db
        self._chunk = chunk
        self._hold = hold
        self._held: dict[str, _Held] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.refills = 0

    async def take(
        self, key: str, amount: float, *, rate: float, burst: float, now: float
    ) -> float:
        if rate <= 0:
            return 0.0
        held = self._held.get(key)
        if held is None or held.limit != (rate, burst):  # a new limit starts afresh
            held = self._held[key] = _Held(limit=(rate, burst))
        if held.tokens >= amount - 1e-9 and now - held.taken_at <= self._hold:
            held.tokens -= amount
            return 0.0
        if now < held.ask_after:  # asked a moment ago: spend what that gave first
            return max(held.ask_after - now, (amount - held.tokens) / rate)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one refill per key at a time in this process
            if now - held.taken_at > self._hold:
                held.tokens = 0.0  # too old to spend: the shared bucket has refilled since
            if held.tokens < amount - 1e-9:
                want = max(amount - held.tokens, min(burst, rate * self._chunk))
                try:
                    async with self._db.transaction() as conn:
                        taken = await budget_store.take_tokens(
                            conn, key, want, rate=rate, burst=burst, now=now
                        )
                except Exception as error:
                    # fail closed: a limit whose budget cannot be read lets nothing through
                    # for a moment, and its caller (a lane, an accept) waits, never breaks
                    log.warning(
                        "rate budget %s unavailable (%s); waiting %.0f s", key, error, FAILED_WAIT
                    )
                    held.ask_after = now + FAILED_WAIT
                    return FAILED_WAIT
                self.refills += 1
                if taken < want - 1e-9:  # the bucket is drained: ask once per chunk of time
                    held.ask_after = now + self._chunk
                if taken > 0:
                    held.tokens += taken
                    held.taken_at = now
            if held.tokens >= amount - 1e-9:
                held.tokens = max(0.0, held.tokens - amount)
                return 0.0
            # ask again once a chunk could have refilled, not at every token: a process that
            # asks as fast as it spends would cost a transaction per token under contention
            wait = max((amount - held.tokens) / rate, self._chunk)
            held.ask_after = now + wait
            return wait


def budget_for(db: Database, *, shared: bool) -> RateBudget:
    """The budget a gateway process uses: shared when it is not the only process."""
    return SharedBudget(db) if shared else LocalBudget()
