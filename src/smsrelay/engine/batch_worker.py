"""A queue drained in batches by one task: the shape of receipt and inbound processing.

Connectors hand items over from their read loops. ``submit`` returns once the item is
committed, so a connector acknowledges a receipt or an MO message to the carrier only when
it can no longer be lost (the carrier keeps and re-sends what we did not acknowledge); each
such handler runs as its own task, so waiting does not stall the read loop. One task takes
everything queued so far (up to ``max_batch``) and applies it as one write in the engine's
turn (``unit_of_work.py``): the commit is shared. A failed batch is retried after a pause.
``stop`` waits for the batch in progress instead of cancelling it mid-turn, then applies what
is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Generic, TypeVar

from smsrelay.engine.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")


def clean_text(value: str, limit: int) -> str:
    """A carrier's string made storable: no NUL (PostgreSQL refuses it), at most ``limit``."""
    return value.replace("\x00", "")[:limit]


class BatchWorker(Generic[T]):
    name = "batch"

    def __init__(self, clock: Clock, *, max_batch: int = 1000, retry_pause: float = 1.0) -> None:
        """``clock``: the retry pause is slept on it."""
        self._clock = clock
        self._max_batch = max_batch
        self._retry_pause = retry_pause
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[None] | None]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._busy = asyncio.Lock()  # held while a batch is applied: stop() waits for it
        self.applied = 0

    def put(self, item: T) -> None:
        """Queue ``item`` without waiting for it to be stored."""
        self._queue.put_nowait((item, None))

    async def submit(self, item: T) -> None:
        """Queue ``item`` and return once the transaction that stores it has committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, done))
        await asyncio.shield(done)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop between batches (never inside a transaction), then apply what is left."""
        if self._task is not None:
            async with self._busy:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await self.drain()

    async def drain(self) -> None:
        """Apply everything received so far (for shutdown and tests)."""
        while not self._queue.empty():
            async with self._busy:
                await self._apply(self._take_batch())

    def _take_batch(self) -> list[tuple[T, asyncio.Future[None] | None]]:
        batch: list[tuple[T, asyncio.Future[None] | None]] = []
        while not self._queue.empty() and len(batch) < self._max_batch:
            batch.append(self._queue.get_nowait())
        return batch

    async def _apply(self, batch: list[tuple[T, asyncio.Future[None] | None]]) -> None:
        await self._apply_batch([item for item, _ in batch])
        self.applied += len(batch)
        for _, done in batch:
            if done is not None and not done.done():
                done.set_result(None)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first, *self._take_batch()]
            retry: list[tuple[T, asyncio.Future[None] | None]] = []
            try:
                async with self._busy:
                    retry = await self._apply_isolating(batch)
            except asyncio.CancelledError:
                # cancelled only while stop() holds _busy, so before applying: keep the batch
                for entry in batch:
                    self._queue.put_nowait(entry)
                raise
            if retry:
                for entry in retry:  # queued again before the pause: a stop cannot lose them
                    self._queue.put_nowait(entry)
                await self._clock.sleep(self._retry_pause)

    async def _apply_isolating(
        self, batch: list[tuple[T, asyncio.Future[None] | None]]
    ) -> list[tuple[T, asyncio.Future[None] | None]]:
        """Apply a batch; if it fails, apply its items one by one.

        Returns what must be retried later. When every item fails on its own too, the cause
        is the database, not the data: all of them are retried. When only some fail, those
        are items the database will never take (a carrier's malformed field): they are logged
        and dropped, so one bad input cannot stop every later one.
        """
        try:
            await self._apply(batch)
            return []
        except Exception:
            if len(batch) == 1:
                log.exception("%s: applying 1 item failed; retrying shortly", self.name)
                return batch
            log.warning(
                "%s: a batch of %d failed; applying its items one by one", self.name, len(batch)
            )
        failed = []
        for entry in batch:
            try:
                await self._apply([entry])
            except Exception:
                failed.append(entry)
        if len(failed) == len(batch):
            log.exception("%s: every item failed; retrying the batch shortly", self.name)
            return failed
        for item, done in failed:
            log.error("%s: dropped an item the database refuses: %r", self.name, item)
            if done is not None and not done.done():
                done.set_result(None)
        return []

    async def _apply_batch(self, batch: Sequence[T]) -> None:
        raise NotImplementedError
