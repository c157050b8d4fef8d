"""The webhook HTTP client against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from smsrelay.httpclient import HttpClient, HttpError
from tests.support.servers import serve_app


def _app(seen: list[tuple[bytes, dict[str, str]]]) -> Starlette:
    async def ok(request: Request) -> Response:
        seen.append((await request.body(), dict(request.headers)))
        return Response("fine", status_code=200)

    async def chunked(request: Request) -> StreamingResponse:
        await request.body()

        async def parts() -> AsyncIterator[bytes]:
            for piece in (b"a" * 10, b"b" * 5000, b"c"):
                yield piece

        return StreamingResponse(parts(), status_code=202)

    async def fails(request: Request) -> Response:
        return Response("no", status_code=503)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return Response("late")

    return Starlette(
        routes=[
            Route("/ok", ok, methods=["POST"]),
            Route("/chunked", chunked, methods=["POST"]),
            Route("/fails", fails, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
        ]
    )


async def test_posts_keep_alive_chunked_errors_and_timeouts() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    poster = HttpClient(timeout=1.0)
    async with serve_app(_app(seen), lifespan="off") as base:
        for n in range(5):
            status = await poster.post(
                f"{base}/ok?n={n}",
                b'{"n": %d}' % n,
                {"Content-Type": "application/json", "X-Test": "1"},
            )
            assert status == 200
        assert [body for body, _ in seen] == [b'{"n": %d}' % n for n in range(5)]
        assert seen[0][1]["x-test"] == "1" and seen[0][1]["content-type"] == "application/json"
        assert sum(len(p.idle) for p in poster._pools.values()) == 1  # one connection reused
        assert await poster.post(f"{base}/chunked", b"{}", {}) == 202
        assert await poster.post(f"{base}/ok", b"{}", {}) == 200  # still in sync after chunks
        assert await poster.post(f"{base}/fails", b"{}", {}) == 503
        with pytest.raises(TimeoutError):
            await poster.post(f"{base}/slow", b"{}", {})
        assert await poster.post(f"{base}/ok", b"{}", {}) == 200
    with pytest.raises(HttpError):
        await poster.post("http://127.0.0.1:9/nothing", b"{}", {})
    for bad in ("http://[bad", "ftp://example.org/", "http:///path"):
        with pytest.raises(HttpError):
            await poster.post(bad, b"{}", {})
    await poster.aclose()


async def test_a_connection_closed_by_the_server_is_replaced() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    poster = HttpClient(timeout=2.0)
    async with serve_app(_app(seen), lifespan="off") as base:
        assert await poster.post(f"{base}/ok", b"1", {}) == 200
        for pool in poster._pools.values():  # the server side drops idle connections
            for conn in pool.idle:
                with contextlib.suppress(Exception):
                    conn.writer.transport.abort()
        assert await poster.post(f"{base}/ok", b"2", {}) == 200
    assert [body for body, _ in seen] == [b"1", b"2"]
    await poster.aclose()


async def test_private_targets_are_refused_when_asked() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    guarded = HttpClient(timeout=1.0, block_private=True)
    async with serve_app(_app(seen), lifespan="off") as base:
        for url in (
            f"{base}/ok",
            base.replace("127.0.0.1", "localhost") + "/ok",
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest",
        ):
            with pytest.raises(HttpError, match="non-public"):
                await guarded.post(url, b"{}", {})
        assert seen == []
        assert await HttpClient(timeout=1.0).post(f"{base}/ok", b"{}", {}) == 200
