"""Run ASGI apps on real sockets (127.0.0.1, an ephemeral port) inside the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


@contextlib.asynccontextmanager
async def serve_app(app: Any, *, lifespan: str = "on") -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1:0; yields its base URL, shuts it down cleanly after."""
    async with serve_app_on(app, 0, lifespan=lifespan) as url:
        yield url


@contextlib.asynccontextmanager
async def serve_app_on(app: Any, port: int, *, lifespan: str = "off") -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` (0: ephemeral); yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan=lifespan
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
        raise RuntimeError("server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll an (async or plain) predicate until it is true: for work done by other tasks."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def free_port() -> int:
    """A port free on 127.0.0.1 now: for a server whose address must be known before it
    starts (a gateway's public URL, which HTTP providers call back)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
