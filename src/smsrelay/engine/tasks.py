"""Stopping background loops without cutting a database transaction in half.

Cancelling a task while it awaits the database can leave its connection mid-transaction (on
SQLite, still holding the write lock). The engine's loops therefore stop at a safe point: the
owner sets a stop event, the loop finishes what it is doing and returns, and only a loop that
does not return in time is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True if it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()


async def finish(task: asyncio.Task[None] | None, timeout: float = 30.0) -> None:
    """Wait for a loop that was asked to stop; cancel it only past ``timeout``."""
    if task is None:
        return
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("task %s did not stop in %.0f s; cancelling it", task.get_name(), timeout)
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
