"""Row ↔ value mapping and statement pieces shared by ``messages.py`` and ``queue.py``.

Both modules change message statuses; keeping the mapping, the event insert and the guarded
transition here means there is exactly one way a status reaches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    Text,
    Update,
    bindparam,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Encoding, Message, MessageKind
from smsrelay.domain.states import FINAL, MessageStatus, allowed_sources
from smsrelay.store import hot
from smsrelay.store.hot import insert_rows, padded
from smsrelay.store.schema import WAITING_STATUSES, message_events, message_parts, messages

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

# columns a status change may set besides the ones change_status owns
_OWNED = frozenset(
    {
        "id",
        "account_id",
        "status",
        "updated_at",
        "final_at",
        "error_code",
        "error_message",
        "created_at",
    }
)


def waiting() -> ColumnElement[bool]:
    """``status IN ('queued', 'scheduled')`` with literal values.

    Spelled exactly like the predicate of the partial queue indexes (schema.py): with bound
    parameters neither SQLite nor a generic PostgreSQL plan could prove the index applies.
    """
    return messages.c.status.in_([literal_column(f"'{s}'") for s in WAITING_STATUSES])


def status_is(status: MessageStatus) -> ColumnElement[bool]:
    """``status = '<status>'`` as a literal, for the same planner reasons as :func:`waiting`."""
    return messages.c.status == literal_column(f"'{status.value}'")


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
        encoding=Encoding(m.encoding),
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
        "encoding": message.encoding.value,
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


async def insert_events(conn: AsyncConnection, events: Sequence[Mapping[str, Any]]) -> None:
    """Append history entries: one multi-row INSERT however many (see db.py, insertmanyvalues).

    Each mapping has ``message_id``, ``status``, ``at``, ``error_code`` and ``detail``.
    """
    if events:
        await insert_rows(conn, message_events, events)


def guarded_update(
    message_id: str,
    new: MessageStatus,
    now: float,
    *,
    sources: Iterable[MessageStatus] | None = None,
    error_code: str | None = None,
    detail: str | None = None,
    values: Mapping[str, Any] | None = None,
    extra_where: Iterable[ColumnElement[bool]] = (),
) -> Update:
    """The one guarded status UPDATE: applies only from a status the transition table allows.

    ``sources`` narrows the allowed statuses further (a retry comes from ``sending`` only, not
    from every status the table lets reach ``queued``). The error columns always describe the
    latest change, so a success after a retry clears the retry's error.
    """
    allowed = allowed_sources(new)
    if sources is not None:
        allowed = allowed & frozenset(sources)
    sets: dict[str, Any] = dict(values or {})
    bad = set(sets) - (set(messages.c.keys()) - _OWNED)
    if bad:
        raise ValueError(f"change_status cannot set {sorted(bad)}")
    return _guarded(
        messages.c.id == message_id, new, allowed, sets, now, error_code, detail, extra_where
    )


@cache
def guarded_update_many(new: MessageStatus) -> Update:
    """:func:`guarded_update` for the ids ``g_ids``, built once per status (receipts settle
    messages by the thousand; building the statement cost more than running it). Bound:
    ``g_ids``, ``g_now``, ``g_code`` and ``g_detail``."""
    return _guarded(
        messages.c.id.in_(bindparam("g_ids", expanding=True)),
        new,
        allowed_sources(new),
        {},
        bindparam("g_now", type_=Float),
        bindparam("g_code", type_=String),
        bindparam("g_detail", type_=Text),
    )


def _guarded(
    by_id: ColumnElement[bool],
    new: MessageStatus,
    allowed: Iterable[MessageStatus],
    sets: dict[str, Any],
    now: Any,
    error_code: Any,
    detail: Any,
    extra_where: Iterable[ColumnElement[bool]] = (),
) -> Update:
    """The statement of both: ``now``, ``error_code`` and ``detail`` are values or bound
    parameters."""
    sets.update(status=new.value, updated_at=now, error_code=error_code, error_message=detail)
    if new in FINAL:
        sets["final_at"] = now
    return (
        update(messages)
        .where(by_id, messages.c.status.in_(sorted(s.value for s in allowed)), *extra_where)
        .values(sets)
        .returning(*MESSAGE_COLUMNS)
    )


def event(
    message_id: str,
    status: MessageStatus,
    at: float,
    error_code: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """One ``message_events`` row."""
    return {
        "message_id": message_id,
        "status": status.value,
        "at": at,
        "error_code": error_code,
        "detail": detail,
    }


async def apply_guarded(
    conn: AsyncConnection,
    stmt: Update,
    new: MessageStatus,
    now: float,
    error_code: str | None,
    detail: str | None,
) -> Message | None:
    """Run a :func:`guarded_update`; when it applied, log the event and return the message."""
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    await insert_events(conn, [event(row.id, new, now, error_code, detail)])
    return (await messages_from_rows(conn, [row]))[0]


async def apply_guarded_many(
    conn: AsyncConnection,
    stmt: Update,
    new: MessageStatus,
    now: float,
    error_code: str | None,
    detail: str | None,
    *,
    params: Mapping[str, Any] | None = None,
    known: Mapping[str, Sequence[str]] | None = None,
) -> list[Message]:
    """Run a :func:`guarded_update` (or :func:`guarded_update_many` with its ``params``) over
    many ids; log an event for each row it changed.

    ``known`` as for :func:`messages_from_rows`.
    """
    # with params, stmt is guarded_update_many's, built once: a hot statement (hot.py)
    rows: list[Any]
    if params is not None:
        rows = await hot.rows(conn, stmt, params)
    else:
        rows = list(await conn.execute(stmt))
    await insert_events(conn, [event(r.id, new, now, error_code, detail) for r in rows])
    return await messages_from_rows(conn, rows, known=known)
