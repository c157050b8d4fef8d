"""The fraud guard's rows: traffic counts in minute and hour buckets, blocks, refusals.

Counts are upserts into ``verify_traffic`` (one row per account, scope, key, bucket width and
bucket), so a send costs a few small writes and a judgement a few index range sums. Old
buckets are purged by :func:`purge_traffic`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.fraud import Traffic
from smsrelay.store.db import dialect_insert
from smsrelay.store.schema import fraud_blocks, verify_refusals, verify_traffic

__all__ = [
    "HOUR",
    "MINUTE",
    "BlockRow",
    "active_blocks",
    "add_block",
    "count_refusal",
    "count_traffic",
    "lift_blocks",
    "lifted_since",
    "list_blocks",
    "purge_traffic",
    "refusal_counts",
    "traffic_between",
]

MINUTE, HOUR = 60, 3600
t = verify_traffic
b = fraud_blocks


async def count_traffic(
    conn: AsyncConnection,
    account_id: str,
    keys: Iterable[tuple[str, str]],
    at: float,
    *,
    sends: int = 0,
    approvals: int = 0,
) -> None:
    """Add to the minute and hour buckets holding ``at`` of each ``(scope, key)``."""
    rows = [
        {
            "account_id": account_id,
            "scope": scope,
            "key": key,
            "width": width,
            "bucket": float(int(at // width) * width),
            "sends": sends,
            "approvals": approvals,
        }
        for scope, key in keys
        for width in (MINUTE, HOUR)
    ]
    if not rows:
        return
    stmt = dialect_insert(conn)(t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.account_id, t.c.scope, t.c.key, t.c.width, t.c.bucket],
        set_={
            "sends": t.c.sends + stmt.excluded.sends,
            "approvals": t.c.approvals + stmt.excluded.approvals,
        },
    )
    await conn.execute(stmt, rows)


async def traffic_between(
    conn: AsyncConnection,
    account_id: str,
    scope: str,
    key: str,
    width: int,
    since: float,
    until: float,
) -> tuple[Traffic, float | None]:
    """Sums of the buckets of ``width`` starting in [since, until), and the first bucket."""
    row = (
        await conn.execute(
            select(func.sum(t.c.sends), func.sum(t.c.approvals), func.min(t.c.bucket)).where(
                t.c.account_id == account_id,
                t.c.scope == scope,
                t.c.key == key,
                t.c.width == width,
                t.c.bucket >= since,
                t.c.bucket < until,
            )
        )
    ).one()
    return Traffic(int(row[0] or 0), int(row[1] or 0)), row[2]


async def purge_traffic(
    conn: AsyncConnection, now: float, *, keep_minutes: float, keep_hours: float
) -> int:
    result = await conn.execute(
        delete(t).where(
            or_(
                (t.c.width == MINUTE) & (t.c.bucket < now - keep_minutes),
                (t.c.width == HOUR) & (t.c.bucket < now - keep_hours),
            )
        )
    )
    return result.rowcount


# -- blocks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockRow:
    id: int
    account_id: str
    scope: str
    key: str
    reason: str
    created_at: float
    until: float
    lifted_at: float | None


def _block(row: Any) -> BlockRow:
    return BlockRow(
        row.id,
        row.account_id,
        row.scope,
        row.key,
        row.reason,
        row.created_at,
        row.until,
        row.lifted_at,
    )


def _active(now: float) -> Any:
    return (b.c.lifted_at.is_(None)) & (b.c.until > now)


async def active_blocks(
    conn: AsyncConnection, account_id: str, keys: Sequence[tuple[str, str]], now: float
) -> list[BlockRow]:
    """The blocks in force on any of ``(scope, key)`` for the account."""
    if not keys:
        return []
    wanted = or_(*((b.c.scope == scope) & (b.c.key == key) for scope, key in keys))
    rows = (
        await conn.execute(
            select(b).where(b.c.account_id == account_id, wanted, _active(now)).order_by(b.c.id)
        )
    ).all()
    return [_block(r) for r in rows]


async def lifted_since(
    conn: AsyncConnection, account_id: str, keys: Sequence[tuple[str, str]], since: float
) -> dict[tuple[str, str], float]:
    """When the operator last lifted a block on each of ``(scope, key)``, if after ``since``:
    traffic before a lift is not judged again."""
    if not keys:
        return {}
    wanted = or_(*((b.c.scope == scope) & (b.c.key == key) for scope, key in keys))
    rows = await conn.execute(
        select(b.c.scope, b.c.key, func.max(b.c.lifted_at))
        .where(b.c.account_id == account_id, wanted, b.c.lifted_at >= since)
        .group_by(b.c.scope, b.c.key)
    )
    return {(r[0], r[1]): float(r[2]) for r in rows.all()}


async def add_block(
    conn: AsyncConnection,
    account_id: str,
    scope: str,
    key: str,
    reason: str,
    now: float,
    until: float,
) -> BlockRow:
    result = await conn.execute(
        b.insert()
        .values(
            account_id=account_id, scope=scope, key=key, reason=reason, created_at=now, until=until
        )
        .returning(*b.c)
    )
    return _block(result.one())


async def list_blocks(
    conn: AsyncConnection, now: float, *, account_id: str | None = None
) -> list[BlockRow]:
    query = select(b).where(_active(now)).order_by(b.c.id)
    if account_id is not None:
        query = query.where(b.c.account_id == account_id)
    return [_block(r) for r in (await conn.execute(query)).all()]


async def lift_blocks(
    conn: AsyncConnection, key: str, now: float, *, account_id: str | None = None
) -> int:
    """Lift the blocks in force on ``key`` (a prefix or a country code); how many."""
    stmt = update(b).where(b.c.key == key, _active(now)).values(lifted_at=now)
    if account_id is not None:
        stmt = stmt.where(b.c.account_id == account_id)
    return (await conn.execute(stmt)).rowcount


# -- refusals --------------------------------------------------------------------------------


async def count_refusal(
    conn: AsyncConnection, account_id: str, reason: str, now: float, count: int = 1
) -> None:
    r = verify_refusals
    stmt = dialect_insert(conn)(r).values(
        account_id=account_id, reason=reason, count=count, last_at=now
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[r.c.account_id, r.c.reason],
            set_={"count": r.c.count + stmt.excluded.count, "last_at": stmt.excluded.last_at},
        )
    )


async def refusal_counts(
    conn: AsyncConnection, *, account_id: str | None = None
) -> dict[tuple[str, str], int]:
    """``(account_id, reason) → count``: what a metrics endpoint exposes."""
    r = verify_refusals
    query = select(r.c.account_id, r.c.reason, r.c.count)
    if account_id is not None:
        query = query.where(r.c.account_id == account_id)
    return {(row[0], row[1]): int(row[2]) for row in (await conn.execute(query)).all()}
