"""A small keep-alive HTTP/1.1 load generator over asyncio streams.

Lighter than a general HTTP client, so that on a 2-core box the generator is not what limits
the measurement. Each connection sends one request at a time (concurrency = connections).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0
    errors: int = 0
    bodies: list[bytes] = field(default_factory=list)
    answered: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    unanswered: set[int] = field(default_factory=set)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def _connection(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    counter: list[int],
    total: int,
    result: LoadResult,
    keep_bodies: bool,
    pace: tuple[float, float] | None = None,
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        result.errors += 1
        return
    index = -1
    try:
        while True:
            index = counter[0]
            if index >= total:
                return
            counter[0] += 1
            if pace is not None:  # open-loop pacing: request i is due at t0 + i / rate
                delay = pace[0] + index / pace[1] - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            started = time.perf_counter()
            writer.write(make_request(index))
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError("server closed the connection")
            status = int(status_line.split(b" ", 2)[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1
            if keep_bodies:
                result.bodies.append(body)
                result.answered[index] = (status, body)
            index = -1
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        # the server went away (a crash test kills it): the request in flight is in doubt
        result.errors += 1
        if index >= 0:
            result.unanswered.add(index)
    finally:
        writer.close()


def post_request(
    host: str, port: int, path: str, key: str, body: Callable[[int], bytes]
) -> Callable[[int], bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()

    def make(index: int) -> bytes:
        payload = body(index)
        return head + b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload

    return make


async def run_load(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    total: int,
    concurrency: int,
    keep_bodies: bool = False,
    counter: list[int] | None = None,
    result: LoadResult | None = None,
    rate: float = 0.0,
) -> LoadResult:
    """Send requests ``counter[0]`` .. ``total - 1`` over ``concurrency`` connections.

    Passing ``counter`` and ``result`` lets a caller watch progress and resume after a
    server restart where the previous run stopped. ``rate`` > 0 paces the requests to that
    many per second in total (as long as ``concurrency`` connections can keep up).
    """
    result = result if result is not None else LoadResult()
    counter = counter if counter is not None else [0]
    cpu0 = time.process_time()
    started = time.perf_counter()
    pace = (started - counter[0] / rate, rate) if rate > 0 else None
    await asyncio.gather(
        *(
            _connection(host, port, make_request, counter, total, result, keep_bodies, pace)
            for _ in range(concurrency)
        )
    )
    result.elapsed = time.perf_counter() - started
    result.cpu = time.process_time() - cpu0
    return result
