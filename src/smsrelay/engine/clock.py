"""Time as a dependency: the engine asks a Clock what time it is, and to sleep and wait.

Every engine loop that pauses (a poll interval, a backoff, a housekeeping tick) pauses through
its clock. ``SystemClock`` is the wall clock; ``ManualClock`` moves only when a test advances
it, and advancing releases the sleeps and waits whose time has come. So an engine test that
checks "nothing happens before the backoff ends" advances the clock to just before the end,
lets the loop run, and looks, without waiting on the wall clock. Real-time waits remain only
at real network boundaries (socket timeouts, a peer's answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass on this clock; True if it is set."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if not event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, seconds))
        return event.is_set()


class ManualClock:
    """A clock that moves only when told to; :meth:`advance` wakes the sleepers it passes.

    ``settle()`` lets every task that can run do so (a few loop turns), so a test can advance,
    settle, and then check what happened.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and release every sleep and wait that has come due."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    @property
    def sleeping(self) -> int:
        """How many sleeps and waits are parked on this clock."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def next_deadline(self) -> float | None:
        """When the earliest parked sleep or wait comes due, if any."""
        pending = [deadline for deadline, _, future in self._sleepers if not future.done()]
        return min(pending) if pending else None

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        try:
            await future
        finally:
            if not future.done():
                future.cancel()

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, sleeper):
                task.cancel()
            await asyncio.gather(waiter, sleeper, return_exceptions=True)
        return event.is_set()

    async def settle(self, turns: int = 20) -> None:
        """Give every runnable task ``turns`` chances to run (no wall-clock wait)."""
        for _ in range(turns):
            await asyncio.sleep(0)

    async def run_for(self, seconds: float, *, step: float | None = None) -> None:
        """Advance ``seconds`` from one due sleep to the next (or by ``step`` at most),
        settling at each, as if that much time passed with the loops running."""
        end = self._now + seconds
        while True:
            await self.settle()
            deadline = self.next_deadline()
            target = end if deadline is None else min(deadline, end)
            if step is not None:
                target = min(target, self._now + step)
            if target > self._now:
                self.advance(target - self._now)
            elif self._now >= end:
                return
            else:
                self.advance(0.0)


async def refresh_every(
    clock: Clock,
    interval: float,
    refresh: Callable[[], Awaitable[None]],
    *,
    failed: str,
) -> None:
    """Call ``refresh`` every ``interval`` seconds of ``clock`` until cancelled: the loop of
    every in-memory copy that follows what other processes write to the database. A failed
    read is logged (``failed`` says what was kept) and the copy stays as it was."""
    while True:
        await clock.sleep(interval)
        try:
            await refresh()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(failed)
