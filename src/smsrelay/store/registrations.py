"""The registration ids (India's DLT, ``domain/registration.py``) that messages carry.

Stored apart from ``messages``, like sender adaptations: most messages carry none, so the hot
insert and claim statements keep their shape and only messages with ids get a row. Rows are
written in the transaction that stores their messages (``messages.insert_messages``) and read
for a whole claimed batch in one statement (``engine/dispatch_claim.py``), on the driver
directly (``store/hot``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.domain.registration import Registration
from smsrelay.store import hot
from smsrelay.store.hot import padded
from smsrelay.store.schema import message_registrations

__all__ = ["record_registrations", "registrations_of"]


async def record_registrations(conn: AsyncConnection, messages: Iterable[Message]) -> None:
    """One row for each of ``messages`` that carries ids, in the write that stores them."""
    rows = [
        {
            "message_id": m.id,
            "entity_id": m.registration.entity_id,
            "template_id": m.registration.template_id,
            "telemarketer_id": m.registration.telemarketer_id,
        }
        for m in messages
        if m.registration
    ]
    if rows:
        await conn.execute(message_registrations.insert(), rows)


@cache
def _statement() -> Select[Any]:
    c = message_registrations.c
    return select(c.message_id, c.entity_id, c.template_id, c.telemarketer_id).where(
        c.message_id.in_(bindparam("r_ids", expanding=True))
    )


async def registrations_of(
    conn: AsyncConnection, message_ids: Sequence[str]
) -> dict[str, Registration]:
    """message id → its ids, for those of ``message_ids`` that carry any: one query."""
    if not message_ids:
        return {}
    rows = await hot.rows(conn, _statement(), {"r_ids": padded(list(message_ids))})
    return {
        message_id: Registration(entity, template, telemarketer)
        for message_id, entity, template, telemarketer in rows
    }
