"""Sender pools (``domain/senders.py``): what each account may send from, and where."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.senders import NumberRegistration, PoolSender, RegistrationType, SenderType
from smsrelay.store.db import already_exists
from smsrelay.store.schema import sender_adaptations, senders

__all__ = [
    "adaptations_of",
    "add_sender",
    "get_sender",
    "pool_of",
    "record_adaptations",
    "remove_sender",
    "set_registration",
]


def _sender(row: Row[Any]) -> PoolSender:
    registration = (
        NumberRegistration(RegistrationType(row.registration_type), row.registration_id)
        if row.registration_type is not None
        else None
    )
    countries = frozenset(c for c in row.countries.split(",") if c)
    return PoolSender(row.id, SenderType(row.type), row.value, countries, registration)


async def add_sender(
    conn: AsyncConnection,
    *,
    sender_id: str,
    account_id: str,
    type: SenderType,
    value: str,
    countries: Iterable[str],
    now: float,
    registration: NumberRegistration | None = None,
) -> PoolSender:
    """Add one sender to the account's pool; ALREADY_EXISTS when it holds that value."""
    listed = frozenset(c.upper() for c in countries)
    with already_exists(f"sender {value}"):
        async with conn.begin_nested():
            await conn.execute(
                senders.insert().values(
                    id=sender_id,
                    account_id=account_id,
                    type=str(type),
                    value=value,
                    countries=",".join(sorted(listed)),
                    created_at=now,
                    registration_type=str(registration.type) if registration else None,
                    registration_id=registration.id if registration else None,
                )
            )
    return PoolSender(sender_id, type, value, listed, registration)


async def pool_of(conn: AsyncConnection, account_id: str) -> list[PoolSender]:
    """The account's pool, oldest first."""
    rows = await conn.execute(
        select(senders)
        .where(senders.c.account_id == account_id)
        .order_by(senders.c.created_at, senders.c.id)
    )
    return [_sender(r) for r in rows]


async def get_sender(conn: AsyncConnection, account_id: str, sender_id: str) -> PoolSender | None:
    row = (
        await conn.execute(
            select(senders).where(senders.c.id == sender_id, senders.c.account_id == account_id)
        )
    ).first()
    if row is None:
        return None
    return _sender(row)


async def set_registration(
    conn: AsyncConnection, account_id: str, sender_id: str, registration: NumberRegistration | None
) -> PoolSender | None:
    """Change (or clear) the registration of one sender of the account's pool; None when it
    has no sender of that id."""
    stmt = (
        update(senders)
        .where(senders.c.id == sender_id, senders.c.account_id == account_id)
        .values(
            registration_type=str(registration.type) if registration else None,
            registration_id=registration.id if registration else None,
        )
        .returning(*senders.c)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else _sender(row)


async def remove_sender(conn: AsyncConnection, account_id: str, sender_id: str) -> bool:
    """Remove one sender of the account's pool; False when it has none of that id."""
    result = await conn.execute(
        delete(senders).where(senders.c.id == sender_id, senders.c.account_id == account_id)
    )
    return result.rowcount > 0


async def record_adaptations(
    conn: AsyncConnection, adapted: Iterable[tuple[str, str, str]]
) -> None:
    """(message id, requested sender, reason) of messages sent from another sender: in the
    write that stores the messages (``messages.insert_messages``)."""
    rows = [{"message_id": m, "requested": r, "reason": why[:200]} for m, r, why in adapted]
    if rows:
        await conn.execute(sender_adaptations.insert(), rows)


async def adaptations_of(
    conn: AsyncConnection, message_ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """message id → (requested sender, reason), for those of ``message_ids`` adapted."""
    wanted = list(set(message_ids))
    if not wanted:
        return {}
    c = sender_adaptations.c
    rows = await conn.execute(
        select(c.message_id, c.requested, c.reason).where(c.message_id.in_(wanted))
    )
    return {r.message_id: (r.requested, r.reason) for r in rows}
