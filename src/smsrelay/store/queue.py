"""The database is the queue: claim due messages under a lease, record what the carrier said.

One claim statement serves both databases::

    UPDATE messages SET status='sending', lease_until=:until, worker=:w, attempts=attempts+1
    WHERE id IN (SELECT id FROM messages
                 WHERE status IN ('queued','scheduled') AND not_before <= :now
                   AND (expires_at IS NULL OR expires_at > :now)
                 ORDER BY priority DESC, id LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING ...

On PostgreSQL ``SKIP LOCKED`` lets several dispatchers (processes, machines) claim at once
without waiting on each other or getting the same row. On SQLite ``with_for_update`` renders
nothing and the statement runs inside ``BEGIN IMMEDIATE`` (db.py), which serialises claimers.
A claim is a lease: a worker that dies leaves rows in ``sending`` until ``lease_until``, when
:func:`reclaim_expired_leases` returns them to ``queued`` (at-least-once towards the carrier).

Every status change is built by ``_status.py`` and appends its events there, one driver call
per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Message, ReceiptStatus
from smsrelay.domain.states import MessageStatus
from smsrelay.store import hot
from smsrelay.store._status import (
    apply,
    claim_statement,
    guarded_update,
    sent_statement,
    status_is,
    transition,
    waiting,
)
from smsrelay.store.hot import insert_rows, padded
from smsrelay.store.schema import message_parts, messages

__all__ = [
    "SubmittedItem",
    "claim",
    "count_by_status",
    "expire_overdue",
    "extend_leases",
    "next_due_at",
    "reclaim_expired_leases",
    "record_failed",
    "record_retry",
    "record_submitted",
    "record_submitted_many",
    "release_claims",
    "time_out_unconfirmed",
]

S = MessageStatus


@dataclass(frozen=True, slots=True)
class SubmittedItem:
    """One carrier acceptance for :func:`record_submitted_many`."""

    message_id: str
    connector: str
    carrier_ids: Sequence[str]
    dlr_deadline: float


async def claim(
    conn: AsyncConnection, *, worker: str, now: float, lease_seconds: float, limit: int
) -> list[Message]:
    """Take up to ``limit`` due messages for ``worker``, highest priority first, then oldest.

    Due: waiting (``queued``/``scheduled``), ``not_before <= now`` and validity not passed.
    They come back in ``sending`` with ``attempts`` already counting this attempt; the lease
    runs until ``now + lease_seconds``.
    """
    if limit <= 0:
        return []
    params = {
        "c_now": now,
        "c_limit": limit,
        "c_lease_until": now + lease_seconds,
        "c_worker": worker,
    }
    return await apply(conn, claim_statement(), S.SENDING, now, params=params, claim_order=True)


async def extend_leases(
    conn: AsyncConnection, message_ids: Sequence[str], *, worker: str, lease_until: float
) -> int:
    """Push the lease of ``worker``'s ``sending`` messages out to ``lease_until``.

    For submits that take longer than the lease (a slow carrier, a full window). Rows another
    worker holds, or that left ``sending``, are untouched; returns how many were extended.
    """
    if not message_ids:
        return 0
    result = await conn.execute(
        update(messages)
        .where(
            messages.c.id.in_(padded(list(message_ids))),
            status_is(S.SENDING),
            messages.c.worker == worker,
        )
        .values(lease_until=lease_until)
        .returning(messages.c.id)
    )
    return len(result.all())


async def release_claims(
    conn: AsyncConnection, message_ids: Sequence[str], *, worker: str, now: float
) -> int:
    """Hand claimed but unsent messages back (``sending`` → ``queued``) on shutdown.

    The attempt never happened, so ``attempts`` is decremented again; ``not_before`` is left
    alone, so they are due at once. Returns how many were released.
    """
    if not message_ids:
        return 0
    mine = and_(
        messages.c.id.in_(list(message_ids)), status_is(S.SENDING), messages.c.worker == worker
    )
    detail = "released unsent"
    stmt = transition(
        mine,
        [messages.c.id],
        None,
        S.QUEUED,
        now,
        {"lease_until": None, "worker": None, "attempts": messages.c.attempts - 1},
        detail=detail,
    )
    return len(await apply(conn, stmt, S.QUEUED, now, None, detail))


async def reclaim_expired_leases(conn: AsyncConnection, now: float) -> int:
    """Return ``sending`` rows whose lease ran out to ``queued``; the number returned.

    The worker holding them is presumed dead. The message may already have reached the
    carrier: sending it again is the at-least-once half of the bargain (DESIGN.md).
    """
    expired = and_(status_is(S.SENDING), messages.c.lease_until < now)
    detail = "lease expired"
    stmt = transition(
        expired,
        [messages.c.lease_until, messages.c.id],
        None,
        S.QUEUED,
        now,
        {"lease_until": None, "worker": None},
        detail=detail,
    )
    return len(await apply(conn, stmt, S.QUEUED, now, None, detail))


async def expire_overdue(conn: AsyncConnection, now: float, *, limit: int = 1000) -> list[Message]:
    """Move waiting messages whose validity passed to ``expired`` (validity_expired).

    Returns them so the caller can send their webhooks.
    """
    overdue = and_(waiting(), messages.c.expires_at <= now)
    code = ErrorCode.VALIDITY_EXPIRED.value
    detail = "validity passed before the message could be sent"
    stmt = transition(
        overdue,
        [messages.c.expires_at, messages.c.id],
        limit,
        S.EXPIRED,
        now,
        {},
        error_code=code,
        detail=detail,
        index="ix_messages_waiting_expires_at",
    )
    return await apply(conn, stmt, S.EXPIRED, now, code, detail, claim_order=True)


async def time_out_unconfirmed(
    conn: AsyncConnection, now: float, *, limit: int = 1000
) -> list[Message]:
    """Move ``sent`` messages with no receipt by ``dlr_deadline`` to ``unknown`` (dlr_timeout).

    ``unknown`` is not final: a late receipt still settles the message.
    """
    late = and_(status_is(S.SENT), messages.c.dlr_deadline <= now)
    code = ErrorCode.DLR_TIMEOUT.value
    detail = "no delivery report arrived in time"
    stmt = transition(
        late,
        [messages.c.dlr_deadline, messages.c.id],
        limit,
        S.UNKNOWN,
        now,
        {},
        error_code=code,
        detail=detail,
    )
    return await apply(conn, stmt, S.UNKNOWN, now, code, detail, claim_order=True)


async def record_submitted(
    conn: AsyncConnection,
    message_id: str,
    *,
    connector: str,
    carrier_ids: Sequence[str],
    now: float,
    dlr_deadline: float,
) -> Message | None:
    """The carrier accepted the message: ``sending`` → ``sent``, one part per carrier id.

    None when the message is no longer ``sending`` (its lease was reclaimed and another worker
    has it, or a receipt overtook this call); then nothing is written.
    """
    done = await record_submitted_many(
        conn, [SubmittedItem(message_id, connector, carrier_ids, dlr_deadline)], now
    )
    return done[0] if done else None


async def record_submitted_many(
    conn: AsyncConnection, items: Sequence[SubmittedItem], now: float, *, worker: str | None = None
) -> list[Message]:
    """:func:`record_submitted` for a batch: three statements however many messages (one
    more for each further connector or deadline among them).

    Returns the messages that were still ``sending`` (and are now ``sent``), in item order.
    With ``worker``, only messages that worker still holds: a late answer for a message whose
    lease ran out and that another worker claimed again changes nothing.
    """
    by_id = {item.message_id: item for item in items}
    if not by_id:
        return []
    groups: dict[tuple[str, float], list[str]] = {}  # one group in practice: one deadline
    for item in by_id.values():
        groups.setdefault((item.connector, item.dlr_deadline), []).append(item.message_id)
    done: dict[str, Message] = {}
    for (connector, deadline), ids in groups.items():
        params = {
            "s_ids": padded(ids),
            "s_now": now,
            "s_connector": connector,
            "s_deadline": deadline,
        }
        if worker is not None:
            params["s_worker"] = worker
        changed = await apply(
            conn,
            sent_statement(worker is not None),
            S.SENT,
            now,
            params=params,
            known={i: by_id[i].carrier_ids for i in ids},
        )
        done.update((m.id, m) for m in changed)
    applied = [item for item in by_id.values() if item.message_id in done]
    parts = [
        {
            "message_id": item.message_id,
            "seq": seq,
            "connector": item.connector,
            "carrier_id": carrier_id,
            "status": ReceiptStatus.ACCEPTED.value,
            "error": None,
            "updated_at": now,
        }
        for item in applied
        for seq, carrier_id in enumerate(item.carrier_ids, start=1)
    ]
    if parts:
        await insert_rows(conn, message_parts, parts)
    return [done[item.message_id] for item in applied]


async def record_retry(
    conn: AsyncConnection,
    message_id: str,
    *,
    error_code: str,
    detail: str | None,
    retry_at: float,
    now: float,
    connector: str | None = None,
    worker: str | None = None,
) -> Message | None:
    """A retryable failure: ``sending`` → ``queued``, due again at ``retry_at``, lease cleared.

    None when the message is not ``sending`` any more (or, with ``worker``, not held by it).
    """
    values: dict[str, Any] = {"not_before": retry_at, "lease_until": None, "worker": None}
    if connector is not None:
        values["connector"] = connector
    stmt = guarded_update(
        message_id,
        S.QUEUED,
        now,
        sources=[S.SENDING],
        error_code=error_code,
        detail=detail,
        values=values,
        extra_where=_held_by(worker),
    )
    changed = await apply(conn, stmt, S.QUEUED, now, error_code, detail)
    return changed[0] if changed else None


async def record_failed(
    conn: AsyncConnection,
    message_id: str,
    *,
    error_code: str,
    detail: str | None,
    now: float,
    connector: str | None = None,
    worker: str | None = None,
) -> Message | None:
    """A permanent failure: ``sending`` (or still waiting, e.g. no route) → ``failed``.

    With ``worker``, a ``sending`` message must still be held by that worker.
    """
    values: dict[str, Any] = {"lease_until": None}
    if connector is not None:
        values["connector"] = connector
    guard = (
        ()
        if worker is None
        else (or_(messages.c.status != S.SENDING.value, messages.c.worker == worker),)
    )
    stmt = guarded_update(
        message_id,
        S.FAILED,
        now,
        error_code=error_code,
        detail=detail,
        values=values,
        extra_where=guard,
    )
    changed = await apply(conn, stmt, S.FAILED, now, error_code, detail)
    return changed[0] if changed else None


def _held_by(worker: str | None) -> tuple[ColumnElement[bool], ...]:
    return () if worker is None else (messages.c.worker == worker,)


async def next_due_at(conn: AsyncConnection, now: float) -> float | None:
    """The earliest ``not_before`` among waiting messages (may be <= ``now``), else None.

    Lets the dispatcher sleep until there is work instead of polling. Served by the partial
    index ``ix_messages_waiting_not_before``. Asked every dispatcher turn: a hot statement.
    """
    [(value,)] = await hot.rows(conn, _next_due_statement(), {"d_now": now})
    return float(value) if value is not None else None


@cache
def _next_due_statement() -> Select[Any]:
    now = bindparam("d_now", type_=Float)
    live = or_(messages.c.expires_at.is_(None), messages.c.expires_at > now)
    return select(func.min(messages.c.not_before)).where(waiting(), live)


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    """How many messages are in each status (statuses with none are absent)."""
    rows = await conn.execute(select(messages.c.status, func.count()).group_by(messages.c.status))
    return {status: int(n) for status, n in rows}
