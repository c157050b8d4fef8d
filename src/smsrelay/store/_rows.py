"""Row ↔ value mapping of messages, shared by ``messages.py``, ``queue.py`` and ``_status.py``.

A ``Message`` is a ``messages`` row plus the carrier ids of its parts, read here in one query
for any number of messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Encoding, Message, MessageKind
from smsrelay.domain.states import MessageStatus
from smsrelay.store import hot
from smsrelay.store.hot import padded
from smsrelay.store.schema import message_parts, messages

MESSAGE_COLUMNS = tuple(messages.c)

# statuses a message can only reach after record_submitted wrote its parts
_HAS_PARTS = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.UNKNOWN,
    }
)


def message_from_row(row: Any, carrier_ids: Sequence[str] = ()) -> Message:
    """Build the domain ``Message`` from a ``messages`` row (``to_number`` → ``to``)."""
    # attributes: a Row and a hot statement's row (hot.py) both have them, and reading them
    # makes no mapping per row
    m = row
    return Message(
        id=m.id,
        account_id=m.account_id,
        to=m.to_number,
        country=m.country,
        sender=m.sender,
        body=m.body,
        encoding=Encoding(m.encoding.partition("-")[0]),
        segments=m.segments,
        kind=MessageKind(m.kind),
        priority=m.priority,
        status=MessageStatus(m.status),
        created_at=m.created_at,
        updated_at=m.updated_at,
        not_before=m.not_before,
        expires_at=m.expires_at,
        variant=m.variant,
        client_ref=m.client_ref,
        callback_url=m.callback_url,
        attempts=m.attempts,
        error_code=m.error_code,
        error_message=m.error_message,
        connector=m.connector,
        carrier_ids=tuple(carrier_ids),
        origin=m.origin,
        smpp_user_id=m.smpp_user_id,
        receipt_requested=m.receipt_requested,
        price_micros=m.price_micros,
        currency=m.currency,
        submitted_at=m.submitted_at,
        language=m.encoding.partition("-")[2] or None,
    )


def message_to_row(message: Message) -> dict[str, Any]:
    """The ``messages`` row of a new message (the queue columns start empty)."""
    return {
        "id": message.id,
        "account_id": message.account_id,
        "to_number": message.to,
        "country": message.country,
        "sender": message.sender,
        "body": message.body,
        # a national language rides in the same column: "gsm7-tr" (String(8) holds it)
        "encoding": (
            f"{message.encoding.value}-{message.language}"
            if message.language
            else message.encoding.value
        ),
        "segments": message.segments,
        "kind": message.kind.value,
        "priority": message.priority,
        "status": message.status.value,
        "variant": message.variant,
        "client_ref": message.client_ref,
        "callback_url": message.callback_url,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "not_before": message.not_before,
        "expires_at": message.expires_at,
        "attempts": message.attempts,
        "lease_until": None,
        "worker": None,
        "connector": message.connector,
        "submitted_at": None,
        "dlr_deadline": None,
        "final_at": None,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "origin": message.origin,
        "smpp_user_id": message.smpp_user_id,
        "receipt_requested": message.receipt_requested,
        "price_micros": message.price_micros,
        "currency": message.currency,
    }


@cache
def _carrier_ids_statement() -> Select[Any]:
    return (
        select(message_parts.c.message_id, message_parts.c.carrier_id)
        .where(message_parts.c.message_id.in_(bindparam("c_ids", expanding=True)))
        .order_by(message_parts.c.message_id, message_parts.c.seq)
    )


async def carrier_ids_of(
    conn: AsyncConnection, message_ids: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Carrier ids per message, in segment order: one query for any number of messages."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = await hot.rows(conn, _carrier_ids_statement(), {"c_ids": padded(ids)})
    found: dict[str, list[str]] = {}
    for message_id, carrier_id in rows:
        found.setdefault(message_id, []).append(carrier_id)
    return {k: tuple(v) for k, v in found.items()}


async def messages_from_rows(
    conn: AsyncConnection,
    rows: Iterable[Row[Any]],
    *,
    known: Mapping[str, Sequence[str]] | None = None,
) -> list[Message]:
    """Map rows to messages, fetching carrier ids only for statuses that can have parts.

    ``known``: carrier ids the caller already holds (it just wrote or read the parts), so
    those messages cost no query.
    """
    rows = list(rows)
    known = known or {}
    need = [r.id for r in rows if r.status in _HAS_PARTS and r.id not in known]
    parts: Mapping[str, Sequence[str]] = (
        {**await carrier_ids_of(conn, need), **known} if need else known
    )
    return [message_from_row(r, parts.get(r.id, ())) for r in rows]
