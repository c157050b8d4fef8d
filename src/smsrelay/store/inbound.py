"""Inbound (mobile-originated) messages: stored once, listed per account, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.schema import inbound_messages

__all__ = ["StoredInbound", "get_inbound", "insert_inbound", "list_inbound"]

MAX_PAGE = 1000
t = inbound_messages


@dataclass(frozen=True, slots=True)
class StoredInbound:
    """An MO message as stored; ``account_id`` is None when no account owns ``to_number``."""

    id: str
    account_id: str | None
    connector: str
    from_number: str
    to_number: str
    body: str
    carrier_id: str | None
    keyword: str | None
    received_at: float
    created_at: float


def _inbound(row: Row[Any]) -> StoredInbound:
    return StoredInbound(
        id=row.id,
        account_id=row.account_id,
        connector=row.connector,
        from_number=row.from_number,
        to_number=row.to_number,
        body=row.body,
        carrier_id=row.carrier_id,
        keyword=row.keyword,
        received_at=row.received_at,
        created_at=row.created_at,
    )


async def insert_inbound(conn: AsyncConnection, items: Sequence[StoredInbound]) -> None:
    """Store a batch of MO messages: one multi-row INSERT."""
    if items:
        await conn.execute(t.insert(), [asdict(i) for i in items])


async def get_inbound(conn: AsyncConnection, inbound_id: str) -> StoredInbound | None:
    row = (await conn.execute(select(t).where(t.c.id == inbound_id))).first()
    return _inbound(row) if row else None


async def list_inbound(
    conn: AsyncConnection, account_id: str, *, cursor: str | None = None, limit: int = 50
) -> list[StoredInbound]:
    """The account's MO messages, newest first; ``cursor`` is the last id of the previous page."""
    query = select(t).where(t.c.account_id == account_id)
    if cursor is not None:
        query = query.where(t.c.id < cursor)
    rows = await conn.execute(query.order_by(t.c.id.desc()).limit(max(1, min(limit, MAX_PAGE))))
    return [_inbound(r) for r in rows]
