"""The accept path: ``send`` (POST /send, c=64) and ``batch`` (POST /v1/messages/batch of 100).

Both run against the whole stack (external carrier simulator, webhook receiver), so the
gateway is also dispatching and calling back while it accepts, as it would in production.
After each, the database must hold exactly the messages answered 202 more than before
(accepted = committed).
"""

from __future__ import annotations

from typing import Any

import orjson
from loadgen import LoadResult, post_request, run_load

from . import procs
from .checks import db_counts
from .report import ms
from .stack import Stack


async def _measure(
    stack: Stack, path: str, body: Any, total: int, concurrency: int, keep_bodies: bool = False
) -> tuple[LoadResult, dict[str, Any]]:
    make = post_request("127.0.0.1", stack.http_port, path, stack.key, body)
    cpu0 = procs.cpu_seconds(stack.gateway_pid)
    r = await run_load(
        "127.0.0.1",
        stack.http_port,
        make,
        total=total,
        concurrency=concurrency,
        keep_bodies=keep_bodies,
    )
    common = {
        "wall_s": r.elapsed,
        "loadgen_cpu_s": r.cpu,
        "gateway_cpu_s": procs.cpu_seconds(stack.gateway_pid) - cpu0,
        "requests": r.requests,
        "statuses": r.statuses,
        "errors": r.errors,
        "concurrency": concurrency,
        "p50_s": r.percentile(0.5),
        "p99_s": r.percentile(0.99),
        "gateway_rss_bytes": procs.rss_bytes(stack.gateway_pid),
    }
    return r, common


async def send(stack: Stack, total: int, concurrency: int = 64) -> dict[str, Any]:
    body = b'{"to": "+14155552671", "message": "Your verification code is 1234"}'
    before = sum((await db_counts(stack.database_url)).values())
    r, out = await _measure(stack, "/send", lambda i: body, total, concurrency)
    accepted = r.statuses.get(202, 0)
    stored = sum((await db_counts(stack.database_url)).values()) - before
    rps = r.requests / r.elapsed if r.elapsed else 0.0
    out.update(
        scenario="send",
        requests_per_s=rps,
        accepted=accepted,
        stored=stored,
        throughput_text=f"{rps:,.0f} req/s",
        p50_text=ms(out["p50_s"]),
        p99_text=ms(out["p99_s"]),
        detail=f"{total} req c={concurrency}; 202: {accepted}, stored {stored}",
        ok=accepted == total and stored == accepted,
    )
    return out


async def batch(stack: Stack, batches: int, concurrency: int = 8) -> dict[str, Any]:
    items = b",".join(
        b'{"to": "+4915112345678", "message": "Batch message %d"}' % i for i in range(100)
    )
    body = b'{"messages": [' + items + b"]}"
    before = sum((await db_counts(stack.database_url)).values())
    r, out = await _measure(
        stack, "/v1/messages/batch", lambda i: body, batches, concurrency, keep_bodies=True
    )
    accepted = sum(
        int(orjson.loads(raw)["accepted"]) for status, raw in r.answered.values() if status == 202
    )
    stored = sum((await db_counts(stack.database_url)).values()) - before
    mps = accepted / r.elapsed if r.elapsed else 0.0
    out.update(
        scenario="batch",
        messages_per_s=mps,
        accepted=accepted,
        stored=stored,
        throughput_text=f"{mps:,.0f} msg/s",
        p50_text=ms(out["p50_s"]),
        p99_text=ms(out["p99_s"]),
        detail=f"{batches} x 100 c={concurrency}; stored {stored}/{accepted}",
        ok=accepted == batches * 100 and stored == accepted,
    )
    return out
