"""Numbers (E.164 or short codes) owned by accounts: where an inbound message belongs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.db import already_exists
from smsrelay.store.hot import padded
from smsrelay.store.schema import numbers

__all__ = ["OwnedNumber", "add_number", "list_numbers", "owners_of", "remove_number"]

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class OwnedNumber:
    number: str
    account_id: str
    created_at: float


async def add_number(
    conn: AsyncConnection, number: str, account_id: str, now: float
) -> OwnedNumber:
    """Assign ``number`` to the account; ALREADY_EXISTS when any account owns it."""
    with already_exists(f"number {number}"):
        async with conn.begin_nested():
            await conn.execute(
                numbers.insert().values(number=number, account_id=account_id, created_at=now)
            )
    return OwnedNumber(number, account_id, now)


async def remove_number(conn: AsyncConnection, number: str, account_id: str | None = None) -> bool:
    """Release a number (only the given account's, when given); False if there was none."""
    stmt = delete(numbers).where(numbers.c.number == number)
    if account_id is not None:
        stmt = stmt.where(numbers.c.account_id == account_id)
    return (await conn.execute(stmt)).rowcount > 0


async def list_numbers(
    conn: AsyncConnection,
    account_id: str | None = None,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> list[OwnedNumber]:
    """Numbers in number order (one account's, or all); ``cursor`` is the last number seen."""
    query = select(numbers)
    if account_id is not None:
        query = query.where(numbers.c.account_id == account_id)
    if cursor is not None:
        query = query.where(numbers.c.number > cursor)
    rows = await conn.execute(query.order_by(numbers.c.number).limit(max(1, min(limit, MAX_PAGE))))
    return [OwnedNumber(r.number, r.account_id, r.created_at) for r in rows]


async def owners_of(conn: AsyncConnection, wanted: Iterable[str]) -> dict[str, str]:
    """number → account id for those of ``wanted`` that are assigned: one query."""
    keys = sorted(set(wanted))
    if not keys:
        return {}
    rows = await conn.execute(
        select(numbers.c.number, numbers.c.account_id).where(numbers.c.number.in_(padded(keys)))
    )
    return {r.number: r.account_id for r in rows}
