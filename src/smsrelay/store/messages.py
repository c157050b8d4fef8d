"""Messages: insert batches with their first events, read them back, record status changes.

The accept path (REST, SMPP, campaigns) lands here through ``insert_messages``: one driver call
for the messages and one for their events per group-commit batch, never a round trip per
message. Every later status change is built in ``_status.py`` (receipts' outcomes through
:func:`change_status_many`, cancels here, the queue's changes in ``queue.py``): a guarded UPDATE
that applies only from a status the transition table in ``domain/states.py`` allows, so two
racing writers (a DLR and a lease reclaim, say) cannot move a message backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Message, MessageEvent
from smsrelay.domain.states import CANCELABLE, MessageStatus
from smsrelay.store._rows import (
    MESSAGE_COLUMNS,
    carrier_ids_of,
    message_from_row,
    message_to_row,
    messages_from_rows,
)
from smsrelay.store._status import (
    apply,
    event,
    guarded_update,
    guarded_update_many,
    insert_events,
)
from smsrelay.store.db import already_exists
from smsrelay.store.hot import insert_rows, padded
from smsrelay.store.registrations import record_registrations
from smsrelay.store.schema import message_events
from smsrelay.store.schema import messages as messages_table
from smsrelay.store.senders import record_adaptations
from smsrelay.store.smpp_parts import record_client_parts

__all__ = [
    "StatusChange",
    "cancel_message",
    "change_status_many",
    "get_events",
    "get_message",
    "insert_messages",
    "list_messages",
]

MAX_PAGE = 1000


async def insert_messages(conn: AsyncConnection, messages: Sequence[Message], now: float) -> None:
    """Persist new messages (status ``queued`` or ``scheduled``) and their first events.

    Two statements for the whole batch. ``now`` stamps the events; the rows keep the
    ``created_at``/``updated_at`` the caller built the messages with. A duplicate id raises
    ``SmsError(ALREADY_EXISTS)`` (ids are random: in practice it means a double insert).
    """
    if not messages:
        return
    with already_exists("message"):
        await insert_rows(conn, messages_table, [message_to_row(m) for m in messages])
    await insert_events(conn, [event(m.id, m.status, now) for m in messages])
    counts = [(m.id, m.client_parts) for m in messages if m.client_parts]
    if counts:  # long SMPP messages: their part count, for one receipt per part
        await record_client_parts(conn, counts, now)
    adapted = [(m.id, *m.sender_adapted) for m in messages if m.sender_adapted]
    if adapted:  # the destination did not take the requested sender
        await record_adaptations(conn, adapted)
    await record_registrations(conn, messages)  # DLT ids: rows only for messages with some


async def get_message(
    conn: AsyncConnection, message_id: str, *, account_id: str | None = None
) -> Message | None:
    """One message with its carrier ids; None if missing or (given ``account_id``) not theirs."""
    query = select(*MESSAGE_COLUMNS).where(messages_table.c.id == message_id)
    if account_id is not None:
        query = query.where(messages_table.c.account_id == account_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    parts = await carrier_ids_of(conn, [message_id])
    return message_from_row(row, parts.get(message_id, ()))


async def get_events(conn: AsyncConnection, message_id: str) -> list[MessageEvent]:
    """The status history of a message, oldest first (insertion order breaks time ties)."""
    rows = await conn.execute(
        select(message_events)
        .where(message_events.c.message_id == message_id)
        .order_by(message_events.c.at, message_events.c.id)
    )
    return [
        MessageEvent(
            message_id=r.message_id,
            status=MessageStatus(r.status),
            at=r.at,
            error_code=r.error_code,
            detail=r.detail,
        )
        for r in rows
    ]


async def list_messages(
    conn: AsyncConnection,
    account_id: str,
    *,
    status: MessageStatus | None = None,
    to: str | None = None,
    client_ref: str | None = None,
    since: float | None = None,
    until: float | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> list[Message]:
    """An account's messages, newest first (``ORDER BY id DESC``: ids are time-ordered).

    ``since`` is inclusive and ``until`` exclusive on ``created_at``. ``cursor`` is the last id
    of the previous page; the next page starts strictly below it. ``limit`` is clamped to
    1..1000.
    """
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*MESSAGE_COLUMNS).where(messages_table.c.account_id == account_id)
    if status is not None:
        query = query.where(messages_table.c.status == MessageStatus(status).value)
    if to is not None:
        query = query.where(messages_table.c.to_number == to)
    if client_ref is not None:
        query = query.where(messages_table.c.client_ref == client_ref)
    if since is not None:
        query = query.where(messages_table.c.created_at >= since)
    if until is not None:
        query = query.where(messages_table.c.created_at < until)
    if cursor is not None:
        query = query.where(messages_table.c.id < cursor)
    rows = await conn.execute(query.order_by(messages_table.c.id.desc()).limit(limit))
    return await messages_from_rows(conn, rows)


async def cancel_message(
    conn: AsyncConnection, account_id: str, message_id: str, now: float
) -> Message:
    """Cancel a message that has not been handed to a worker yet.

    Raises ``SmsError(NOT_FOUND)`` for a missing message or one of another account, and
    ``SmsError(NOT_CANCELABLE)`` when it is past ``queued``/``scheduled``.
    """
    stmt = guarded_update(
        message_id,
        MessageStatus.CANCELED,
        now,
        sources=CANCELABLE,
        extra_where=[messages_table.c.account_id == account_id],
    )
    done = await apply(conn, stmt, MessageStatus.CANCELED, now)
    if done:
        return done[0]
    current = await conn.scalar(
        select(messages_table.c.status).where(
            messages_table.c.id == message_id, messages_table.c.account_id == account_id
        )
    )
    if current is None:
        raise SmsError(ErrorCode.NOT_FOUND, "no such message", field="message_id")
    raise SmsError(
        ErrorCode.NOT_CANCELABLE, f"the message is {current} and can no longer be canceled"
    )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One wanted status change, for :func:`change_status_many`."""

    message_id: str
    new: MessageStatus
    error_code: str | None = None
    detail: str | None = None


async def change_status_many(
    conn: AsyncConnection,
    changes: Sequence[StatusChange],
    now: float,
    *,
    carrier_ids: Mapping[str, Sequence[str]] | None = None,
) -> list[Message]:
    """Move each message to its wanted status where the transition table allows it from its
    current one: one guarded UPDATE per distinct (status, error).

    Receipts arrive by the thousand and mostly say the same thing, so a batch of them costs a
    handful of statements. Returns the messages that changed; the others were not in a status
    the table allows to move (a duplicate or late signal) and are left as they were.
    ``carrier_ids``: the messages' carrier ids when the caller has just read their parts.
    """
    groups: dict[tuple[MessageStatus, str | None, str | None], list[str]] = {}
    for change in changes:
        key = (MessageStatus(change.new), change.error_code, change.detail)
        groups.setdefault(key, []).append(change.message_id)
    changed: list[Message] = []
    for (new, error_code, detail), ids in groups.items():
        changed += await apply(
            conn,
            guarded_update_many(new),
            new,
            now,
            error_code,
            detail,
            params={"g_ids": padded(ids), "g_now": now, "g_code": error_code, "g_detail": detail},
            known=carrier_ids,
        )
    return changed
