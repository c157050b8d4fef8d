"""End to end: POST /send → submit_sm at the carrier simulator → receipt → signed webhook.

``e2e`` sends N messages as fast as 64 connections go; ``soak`` paces them at a fixed rate
for a while and watches the gateway's RSS. Both count at the end (:func:`count_everything`):
a message lost or doubled anywhere makes the run FAILED.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from loadgen import LoadResult, post_request, run_load

from . import procs
from .checks import accept_to_sent, count_everything, wait_for_callbacks
from .report import ms
from .stack import Stack


def _make(stack: Stack, tag: str) -> Any:
    return post_request(
        "127.0.0.1",
        stack.http_port,
        "/send",
        stack.key,
        lambda i: orjson.dumps({"to": "+14155552671", "message": f"{tag} message {i}"}),
    )


def _accepted_ids(r: LoadResult) -> list[str]:
    return [
        orjson.loads(body)["message_id"] for status, body in r.answered.values() if status == 202
    ]


async def _drive(
    stack: Stack,
    tag: str,
    total: int,
    rate: float,
    drain_timeout: float,
    rss_samples: list[tuple[float, int]] | None = None,
) -> dict[str, Any]:
    pid = stack.gateway_pid
    cpu0, t0 = procs.cpu_seconds(pid), time.time()
    load = asyncio.create_task(
        run_load(
            "127.0.0.1",
            stack.http_port,
            _make(stack, tag),
            total=total,
            concurrency=64,
            keep_bodies=True,
            rate=rate,
        )
    )
    while not load.done():  # sample RSS every 5 s while the load runs (bounded by the load)
        if rss_samples is not None:
            rss_samples.append((time.time() - t0, procs.rss_bytes(pid)))
        await asyncio.wait({load}, timeout=5.0)
    r = load.result()
    load_end = time.time()
    cpu_load = procs.cpu_seconds(pid) - cpu0
    ids = _accepted_ids(r)
    stats = await wait_for_callbacks(stack, len(ids), timeout=drain_timeout)
    last = float(stats.get("last_final_at") or load_end)
    cpu_total = procs.cpu_seconds(pid) - cpu0
    if rss_samples is not None:  # the end of the traffic: every callback is in
        rss_samples.append((time.time() - t0, procs.rss_bytes(pid)))
    counted = await count_everything(stack, ids)
    sample = await accept_to_sent(stack, ids, 300)
    e2e_wall = max(1e-9, last - t0)
    return {
        "messages": total,
        "requests": r.requests,
        "statuses": r.statuses,
        "errors": r.errors,
        "concurrency": 64,
        "paced_rate": rate or None,
        "accept_wall_s": r.elapsed,
        "accept_rps": r.requests / r.elapsed if r.elapsed else 0,
        "accept_p50_s": r.percentile(0.5),
        "accept_p99_s": r.percentile(0.99),
        "e2e_wall_s": e2e_wall,
        "e2e_messages_per_s": len(ids) / e2e_wall,
        "drain_s": max(0.0, last - load_end),
        "wall_s": e2e_wall,
        "loadgen_wall_s": r.elapsed,
        "loadgen_cpu_s": r.cpu,
        "gateway_cpu_load_s": cpu_load,
        "gateway_cpu_s": cpu_total,
        "receipt_to_webhook_p50_s": counted["receiver"]["receipt_to_webhook_p50_s"],
        "receipt_to_webhook_p99_s": counted["receiver"]["receipt_to_webhook_p99_s"],
        **sample,
        **counted,
    }


def _verdict(out: dict[str, Any]) -> str:
    if out["counted_ok"]:
        return f"counted {out['accepted']}={out['final_callback_messages']}={out['db_final']}"
    return (
        f"LOST/DUP: acc {out['accepted']} cb {out['final_callback_messages']} "
        f"dup {out['callbacks_duplicated']} db {out['db_final']}/{out['db_total']}"
    )


async def e2e(
    stack: Stack, total: int, drain_timeout: float, scenario: str = "e2e"
) -> dict[str, Any]:
    out = await _drive(stack, scenario, total, 0.0, drain_timeout)
    out.update(
        scenario=scenario,
        throughput_text=f"{out['e2e_messages_per_s']:,.0f} msg/s",
        p50_text=f"{ms(out['accept_to_sent_p50_s'])}",
        p99_text=f"{ms(out['accept_to_sent_p99_s'])}",
        detail=(
            f"acc {out['accept_rps']:,.0f}/s; cb {out['receipt_to_webhook_p50_s']:.2f}/"
            f"{out['receipt_to_webhook_p99_s']:.2f} s; drain {out['drain_s']:.0f} s; "
            f"{_verdict(out)}"
        ),
        ok=out["counted_ok"] and out["accepted"] == total,
    )
    return out


async def soak(stack: Stack, seconds: float, rate: float, drain_timeout: float) -> dict[str, Any]:
    pid = stack.gateway_pid
    rss_idle = procs.rss_bytes(pid)
    samples: list[tuple[float, int]] = []
    total = max(1, int(seconds * rate))
    out = await _drive(stack, "soak", total, rate, drain_timeout, samples)
    # the end is the end of the traffic (the last sample, once every callback is in), not
    # after the checks that follow: they read 300 messages back through the API and count
    # rows, first uses that load code and caches (measured: +7 MB on one process)
    rss_end = samples[-1][1] if samples else procs.rss_bytes(pid)
    rss_after_checks = procs.rss_bytes(pid)
    # the baseline is the first sample taken after 10 % of the run (warm caches, pools)
    warm_at = seconds * 0.1
    warm = next((rss for t, rss in samples if t >= warm_at), rss_idle)
    growth = (rss_end - warm) / warm * 100 if warm else 0.0
    out.update(
        scenario="soak",
        seconds=seconds,
        rss_idle_bytes=rss_idle,
        rss_warm_bytes=warm,
        rss_end_bytes=rss_end,
        rss_after_checks_bytes=rss_after_checks,
        rss_growth_pct=growth,
        rss_samples=samples,
        throughput_text=f"{rate:,.0f} msg/s paced",
        p50_text=ms(out["accept_p50_s"]),
        p99_text=ms(out["accept_p99_s"]),
        detail=(
            f"{seconds:.0f} s; RSS {warm / 2**20:.0f}→{rss_end / 2**20:.0f} MB "
            f"({growth:+.1f}%); {_verdict(out)}"
        ),
        ok=out["counted_ok"] and out["accepted"] == total and growth <= 10.0,
    )
    return out
