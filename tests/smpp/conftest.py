from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from smsrelay.smpp.server import SmppServer, SmscHandler

#: Real seconds between timer checks in socket tests; protocol time comes from ManualClock.
TICK = 0.005


class ManualClock:
    """A clock tests move by hand; passed as ``now`` to clients and servers."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


async def until(predicate: Callable[[], bool], limit: float = 3.0) -> None:
    """Yield to the loop until ``predicate()`` holds (socket I/O needs a few turns)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.002)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_server(clock: ManualClock) -> AsyncIterator[Callable[..., Any]]:
    servers: list[SmppServer] = []

    async def factory(handler: SmscHandler | None = None, **kwargs: Any) -> SmppServer:
        kwargs.setdefault("now", clock)
        kwargs.setdefault("tick_interval", TICK)
        server = SmppServer(handler or SmscHandler(), "127.0.0.1", 0, **kwargs)
        await server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await server.close(unbind_timeout=0.5)
