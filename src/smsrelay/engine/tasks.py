"""Stopping background loops without cutting a database transaction in half.

Cancelling a task while it awaits the database can leave its connection mid-transaction (on
SQLite, still holding the write lock). The engine's loops therefore stop at a safe point: the
owner sets a stop event, the loop finishes what it is doing and returns, and only a loop that
does not return in time is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


async def finish(task: asyncio.Task[None] | None, timeout: float = 30.0) -> None:
    """Wait for a loop that was asked to stop; cancel it only past ``timeout``."""
    if task is None:
        return
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("task %s did not stop in %.0f s; cancelling it", task.get_name(), timeout)
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def record_batches(
    queue: asyncio.Queue[T | None],
    record: Callable[[list[T]], Awaitable[None]],
    *,
    what: str,
    sleep: Callable[[float], Awaitable[None]],
    limit: int = 2000,
    pause: float = 0.5,
) -> None:
    """Record what arrives on ``queue`` in batches until a ``None`` says stop.

    Each batch is everything queued so far (up to ``limit``); a batch whose recording fails
    is retried after ``pause`` (on the engine's clock) until it succeeds: nothing is dropped.
    The ``None`` is honoured only after the items queued before it are recorded.
    """
    while True:
        first = await queue.get()
        if first is None:
            return
        batch = [first]
        while not queue.empty() and len(batch) < limit:
            item = queue.get_nowait()
            if item is None:
                queue.put_nowait(None)  # stop after this batch
                break
            batch.append(item)
        while True:
            try:
                await record(batch)
                break
            except Exception:
                log.exception("recording %d %s failed; retrying", len(batch), what)
                await sleep(pause)
