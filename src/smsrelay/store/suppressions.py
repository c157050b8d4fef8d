"""Suppression lists: numbers an account must not send to (opt-outs and manual entries)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store import hot
from smsrelay.store.db import dialect_insert
from smsrelay.store.hot import padded
from smsrelay.store.schema import suppressions

__all__ = [
    "Suppression",
    "add_suppression",
    "list_suppressions",
    "remove_suppression",
    "suppressed_among",
]

MAX_PAGE = 1000
t = suppressions


@dataclass(frozen=True, slots=True)
class Suppression:
    account_id: str
    number: str
    reason: str  # optout | manual
    source: str  # mo | api
    created_at: float


async def add_suppression(
    conn: AsyncConnection, account_id: str, number: str, *, reason: str, source: str, now: float
) -> bool:
    """Suppress ``number`` for the account; False when it already was (the first entry stays)."""
    insert = dialect_insert(conn)
    stmt = (
        insert(t)
        .values(account_id=account_id, number=number, reason=reason, source=source, created_at=now)
        .on_conflict_do_nothing()
    )
    result = await conn.execute(stmt)
    return result.rowcount > 0


async def remove_suppression(conn: AsyncConnection, account_id: str, number: str) -> bool:
    """Lift the suppression; False when the number was not suppressed."""
    result = await conn.execute(delete(t).where(t.c.account_id == account_id, t.c.number == number))
    return result.rowcount > 0


async def suppressed_among(
    conn: AsyncConnection, account_id: str, numbers: Iterable[str]
) -> set[str]:
    """Which of ``numbers`` the account has suppressed: one query per batch."""
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    rows = await hot.rows(
        conn, _suppressed_statement(), {"s_account": account_id, "s_numbers": padded(wanted)}
    )
    return {r[0] for r in rows}


@cache
def _suppressed_statement() -> Select[Any]:
    return select(t.c.number).where(
        t.c.account_id == bindparam("s_account"),
        t.c.number.in_(bindparam("s_numbers", expanding=True)),
    )


async def list_suppressions(
    conn: AsyncConnection, account_id: str, *, cursor: str | None = None, limit: int = 50
) -> list[Suppression]:
    """The account's suppressed numbers in number order; ``cursor`` is the last number seen."""
    query = select(t).where(t.c.account_id == account_id)
    if cursor is not None:
        query = query.where(t.c.number > cursor)
    rows = await conn.execute(query.order_by(t.c.number).limit(max(1, min(limit, MAX_PAGE))))
    return [Suppression(r.account_id, r.number, r.reason, r.source, r.created_at) for r in rows]
