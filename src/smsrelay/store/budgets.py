"""Shared token buckets: one row per limit, taken from by every process on this database.

A process asks for a chunk of tokens and gets what the bucket holds now (refilled at ``rate``
since it was last taken from, up to ``burst``). The row is locked for the read-modify-write
(SQLite: the write transaction; PostgreSQL: ``FOR UPDATE``), so two processes never spend
the same tokens. A bucket whose rate or burst changed starts full at the new values.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.db import dialect_insert
from smsrelay.store.schema import rate_budgets

__all__ = ["take_tokens"]


async def take_tokens(
    conn: AsyncConnection, key: str, want: float, *, rate: float, burst: float, now: float
) -> float:
    """Take up to ``want`` tokens from bucket ``key``; returns how many were taken (0 when
    it is empty). Runs in the caller's write transaction."""
    t = rate_budgets
    insert = dialect_insert(conn)
    await conn.execute(
        insert(t)
        .values(key=key, tokens=burst, rate=rate, burst=burst, updated_at=now)
        .on_conflict_do_nothing(index_elements=[t.c.key])
    )
    query = select(t.c.tokens, t.c.rate, t.c.burst, t.c.updated_at).where(t.c.key == key)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).one()
    if row.rate != rate or row.burst != burst:
        tokens, updated = burst, now
    else:
        updated = max(now, row.updated_at)  # a clock behind another process's refills nothing
        tokens = min(burst, row.tokens + (updated - row.updated_at) * rate)
    taken = max(0.0, min(want, tokens))
    await conn.execute(
        update(t)
        .where(t.c.key == key)
        .values(tokens=tokens - taken, rate=rate, burst=burst, updated_at=updated)
    )
    return taken
