"""Every status change of a message, built in one place: the UPDATE and the event it logs.

A status change is one ``UPDATE messages ... RETURNING`` whose WHERE admits only the statuses
the transition table (``domain/states.py``) allows to reach the new one, so two racing
writers (a receipt and a lease reclaim, say) cannot move a message backwards; and one
``message_events`` row per message it changed, appended by :func:`apply` in the same
transaction. ``queue.py`` (claims, submit results, retries, sweeps) and ``messages.py``
(cancel, receipts' outcomes) pick a statement here and run it through :func:`apply`.

The statements run per batch are built once with bound values (:func:`claim_statement`,
:func:`sent_statement`, :func:`guarded_update_many`): building one costs SQLAlchemy more than
running it does, so they run as hot statements (``store/hot``). The others are built per call
with their values (a retry's error, a cancel's account) and run through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    String,
    Text,
    Update,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from smsrelay.domain.messages import Message
from smsrelay.domain.states import FINAL, MessageStatus, allowed_sources
from smsrelay.store import hot
from smsrelay.store._rows import MESSAGE_COLUMNS, messages_from_rows
from smsrelay.store.schema import WAITING_STATUSES, message_events, messages

S = MessageStatus

# columns a status change may set besides the ones the change itself owns
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


# --- the event ------------------------------------------------------------------------------


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


async def insert_events(conn: AsyncConnection, events: Sequence[Mapping[str, Any]]) -> None:
    """Append history entries (:func:`event` rows): one driver call however many."""
    if events:
        await hot.insert_rows(conn, message_events, events)


async def apply(
    conn: AsyncConnection,
    stmt: Update,
    new: MessageStatus,
    now: float,
    error_code: str | None = None,
    detail: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    known: Mapping[str, Sequence[str]] | None = None,
    claim_order: bool = False,
) -> list[Message]:
    """Run a status UPDATE of this module, log an event for each message it changed, and
    return those messages.

    ``params``: ``stmt`` is one of the statements built once, run as a hot statement with
    them. ``known``: carrier ids the caller already holds (``messages_from_rows``).
    ``claim_order``: highest priority first, then oldest (RETURNING's order is unspecified and
    differs between the databases).
    """
    rows: list[Any]
    if params is not None:
        rows = await hot.rows(conn, stmt, params)
    else:
        rows = list(await conn.execute(stmt))
    if claim_order:
        rows.sort(key=lambda r: (-r.priority, r.id))
    await insert_events(conn, [event(r.id, new, now, error_code, detail) for r in rows])
    return await messages_from_rows(conn, rows, known=known)


# --- guarded changes: by id, from the statuses the table allows ----------------------------


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
    """The guarded status UPDATE of one message: applies only from a status the transition
    table allows.

    ``sources`` narrows the allowed statuses further (a retry comes from ``sending`` only, not
    from every status the table lets reach ``queued``). The error columns always describe the
    latest change, so a success after a retry clears the retry's error. ``values``: other
    columns to set (the status, id and error columns are refused with ``ValueError``).
    """
    allowed = allowed_sources(new)
    if sources is not None:
        allowed = allowed & frozenset(sources)
    sets: dict[str, Any] = dict(values or {})
    bad = set(sets) - (set(messages.c.keys()) - _OWNED)
    if bad:
        raise ValueError(f"a status change cannot set {sorted(bad)}")
    return _guarded(
        messages.c.id == message_id, new, allowed, sets, now, error_code, detail, extra_where
    )


@cache
def guarded_update_many(new: MessageStatus) -> Update:
    """:func:`guarded_update` for the ids ``g_ids``, built once per status (receipts settle
    messages by the thousand). Bound: ``g_ids``, ``g_now``, ``g_code`` and ``g_detail``."""
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


# --- the queue's changes: rows picked by a condition, locked, skipping locked ones --------


def transition(
    where: ColumnElement[bool],
    order_by: Sequence[Any],
    limit: int | BindParameter[int] | None,
    new: MessageStatus,
    now: Any,
    sets: Mapping[str, Any],
    *,
    error_code: str | None = None,
    detail: str | None = None,
    index: str | None = None,
) -> Update:
    """UPDATE the rows picked by ``where`` to ``new`` (and ``sets``).

    The selection is a locking subquery so ``limit`` works on both databases (SQLite has no
    ``UPDATE ... LIMIT`` by default) and concurrent workers never pick the same row. It is a
    ``MATERIALIZED`` CTE because PostgreSQL may otherwise run a plain ``IN (subquery)`` more
    than once per UPDATE, and with SKIP LOCKED each run can pick different rows: the UPDATE
    would take more than ``limit`` (seen in practice). ``index``: the partial index SQLite
    should pick the rows with (db.py renders the hint); its planner would rather take the
    ``status`` index and sort every waiting row.
    """
    values: dict[str, Any] = {"status": new.value, "updated_at": now, **sets}
    if new in FINAL:
        values["final_at"] = now
    if error_code is not None:
        values.update(error_code=error_code, error_message=detail)
    pick = select(messages.c.id).where(where).order_by(*order_by)
    if limit is not None:
        pick = pick.limit(limit)
    if index is not None:
        pick = pick.with_hint(messages, f"INDEXED BY {index}", "sqlite")
    picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    return (
        update(messages)
        .where(messages.c.id.in_(select(picked.c.id)), where)
        .values(values)
        .returning(*MESSAGE_COLUMNS)
    )


@cache
def claim_statement() -> Update:
    """Waiting and due → ``sending`` under a lease, highest priority first, then oldest.
    Bound: ``c_now``, ``c_limit``, ``c_lease_until``, ``c_worker``."""
    now = bindparam("c_now", type_=Float)
    due = and_(
        waiting(),
        messages.c.not_before <= now,
        or_(messages.c.expires_at.is_(None), messages.c.expires_at > now),
    )
    return transition(
        due,
        [messages.c.priority.desc(), messages.c.id],
        bindparam("c_limit", type_=Integer),
        S.SENDING,
        now,
        {
            "lease_until": bindparam("c_lease_until", type_=Float),
            "worker": bindparam("c_worker", type_=String),
            "attempts": messages.c.attempts + 1,
        },
        index="ix_messages_due",
    )


@cache
def sent_statement(held: bool) -> Update:
    """``sending`` → ``sent`` for the ids ``s_ids`` (and, if ``held``, only those that worker
    ``s_worker`` holds). Bound: ``s_now``, ``s_connector``, ``s_deadline``."""
    where = [messages.c.id.in_(bindparam("s_ids", expanding=True)), status_is(S.SENDING)]
    if held:
        where.append(messages.c.worker == bindparam("s_worker", type_=String))
    now = bindparam("s_now", type_=Float)
    return (
        update(messages)
        .where(*where)
        .values(
            status=S.SENT.value,
            updated_at=now,
            submitted_at=now,
            lease_until=None,
            error_code=None,
            error_message=None,
            connector=bindparam("s_connector", type_=String),
            dlr_deadline=bindparam("s_deadline", type_=Float),
        )
        .returning(*MESSAGE_COLUMNS)
    )
