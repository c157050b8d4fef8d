"""Counting at the end of a run: the database, the receiver, and a sample of message events."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .report import percentile
from .stack import Stack

FINAL = frozenset(
    {"delivered", "undelivered", "expired", "rejected", "failed", "canceled", "unknown"}
)


async def db_counts(url: str) -> dict[str, int]:
    """Messages per status, read straight from the database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT status, count(*) FROM messages GROUP BY 1"))
            return {str(status): int(n) for status, n in rows}
    finally:
        await engine.dispose()


async def wait_for_callbacks(
    stack: Stack, expected: int, *, timeout: float, stall: float = 30.0
) -> dict[str, Any]:
    """Poll the receiver until ``expected`` messages have a final callback, or no progress for
    ``stall`` seconds, or ``timeout``; bounded either way."""
    started = time.time()
    last, last_change = -1, started
    stats: dict[str, Any] = {}
    for _ in range(int(timeout / 0.25) + 1):
        stats = await asyncio.to_thread(stack.receiver_stats)
        done = int(stats["final_messages"])
        if done >= expected:
            break
        if done != last:
            last, last_change = done, time.time()
        if time.time() - last_change > stall or time.time() - started > timeout:
            break
        if not stack.gateway_alive():
            break
        await asyncio.sleep(0.25)
    return stats


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def accept_to_sent(stack: Stack, ids: list[str], sample: int) -> dict[str, Any]:
    """created_at → first ``sent`` event, from GET /v1/messages/{id} on an even sample."""
    step = max(1, len(ids) // max(1, sample))
    chosen = ids[::step][:sample]
    delays: list[float] = []
    headers = {"Authorization": f"Bearer {stack.key}"}
    limit = asyncio.Semaphore(8)

    async def one(client: httpx.AsyncClient, message_id: str) -> None:
        async with limit:
            answer = await client.get(f"{stack.base}/v1/messages/{message_id}", headers=headers)
        if answer.status_code != 200:
            return
        body = answer.json()
        created = _ts(body.get("created_at"))
        sent = [_ts(e.get("at")) for e in body.get("events") or [] if e.get("status") == "sent"]
        if created is not None and sent and sent[0] is not None:
            delays.append(sent[0] - created)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client, m) for m in chosen))
    return {
        "accept_to_sent_samples": len(delays),
        "accept_to_sent_p50_s": percentile(delays, 0.5),
        "accept_to_sent_p99_s": percentile(delays, 0.99),
    }


async def count_everything(stack: Stack, accepted_ids: list[str]) -> dict[str, Any]:
    """accepted = final callbacks = final statuses in the database; none lost or doubled."""
    await asyncio.sleep(1.0)  # let a late duplicate arrive, if there is one
    stats = await asyncio.to_thread(stack.receiver_stats, True)
    final: dict[str, int] = stats.pop("final")
    accepted = set(accepted_ids)
    counts = await db_counts(stack.database_url)
    db_final = sum(n for s, n in counts.items() if s in FINAL)
    missing = accepted - final.keys()
    out = {
        "accepted": len(accepted),
        "accepted_duplicate_ids": len(accepted_ids) - len(accepted),
        "final_callback_messages": len(final),
        "final_callbacks": sum(final.values()),
        "callbacks_missing": len(missing),
        "callbacks_unexpected": len(final.keys() - accepted),
        "callbacks_duplicated": sum(1 for n in final.values() if n > 1),
        "bad_signatures": stats["bad_signature"],
        "db_by_status": counts,
        "db_total": sum(counts.values()),
        "db_final": db_final,
        "receiver": stats,
        "missing_sample": sorted(missing)[:10],
    }
    out["counted_ok"] = (
        not missing
        and not out["callbacks_unexpected"]
        and not out["callbacks_duplicated"]
        and not out["bad_signatures"]
        and not out["accepted_duplicate_ids"]
        and out["db_total"] == len(accepted)
        and db_final == len(accepted)
    )
    return out
