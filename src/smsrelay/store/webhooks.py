"""The webhook outbox: deliveries written in the same transaction as the status change they
announce, then claimed, attempted and recorded by ``engine/webhooks.py``.

Writing the delivery with the change means a committed status is always announced (and an
announced one was always committed). Per message, deliveries go out in order: a message's
``delivered`` is not claimed while its ``sent`` is still pending, so customers never see
statuses arrive backwards. Different messages do not wait for each other.

Longer than 400 lines because every statement here keeps that one invariant (a message's
deliveries are pending, blocked, leased or ended, and exactly one of its open ones is
claimable): enqueueing, claiming, recording, releasing, deferring, probing and replaying each
hold half of it, and split across modules they would no longer be read together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    Float,
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from smsrelay.store import hot
from smsrelay.store.hot import insert_rows, padded
from smsrelay.store.schema import webhook_attempts, webhook_deliveries

__all__ = [
    "BLOCKED",
    "AttemptRecord",
    "WebhookAttempt",
    "WebhookDelivery",
    "claim_webhooks",
    "defer_webhooks",
    "enqueue_webhooks",
    "list_webhook_attempts",
    "list_webhook_deliveries",
    "record_webhook_attempts",
    "release_backlog",
    "release_blocked",
    "replay_webhooks",
    "schedule_probe",
]

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# written into the SQL, not bound: a partial index on ``state = 'pending'`` is only used when
# the planner can see the value (SQLite never, PostgreSQL not in a generic plan)
_IS_PENDING: ColumnElement[str] = literal_column("'pending'")
_STATE_AFTER = {"delivered": DELIVERED, "retry": PENDING, "dead": DEAD}

d = webhook_deliveries


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One webhook to send: ``payload`` is the exact body that is signed and POSTed."""

    id: int
    account_id: str
    message_id: str
    url: str
    payload: str
    state: str
    attempts: int
    next_attempt_at: float
    created_at: float
    delivered_at: float | None
    last_status_code: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One POST of a delivery and what came back."""

    id: int
    delivery_id: int
    at: float
    status_code: int | None
    error: str | None
    duration_ms: float | None


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        account_id=row.account_id,
        message_id=row.message_id,
        url=row.url,
        payload=row.payload,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
    )


BLOCKED = 1e15
"""``next_attempt_at`` of a delivery waiting behind an earlier one of the same message.

Keeping such deliveries out of the due range of the claim index means a claim never wades
through a backlog of blocked callbacks; the earlier delivery's end releases the next.
"""


async def enqueue_webhooks(
    conn: AsyncConnection, items: Sequence[tuple[str, str, str, str]], now: float
) -> None:
    """Queue ``(account_id, message_id, url, payload_json)`` deliveries.

    The first pending delivery of a message is due now; later ones wait (``BLOCKED``) until
    it is delivered or dead. Two statements; call it in the transaction that made the status
    changes.

    A new delivery waits only behind an earlier one this transaction holds a row lock on,
    so that no other transaction can end the earlier one without seeing the new one. The
    lock is taken (PostgreSQL, ``SKIP LOCKED``) on the earlier pending deliveries that are
    neither in flight nor blocked; those cannot be claimed before this commit, so whatever
    ends one later sees the new delivery. A delivery in flight, or
    locked by another transaction (a claim, a settle, another enqueue), may end at any
    moment: the new delivery is queued due, and the claim still keeps it behind the earlier
    one while that is pending. Before, the choice was made on what this transaction saw:
    with a concurrent transaction that ended the earlier delivery, each saw the other's
    delivery pending and the new one stayed blocked until the ``release_blocked`` sweep.
    Never waiting for a lock here means this cannot deadlock with the engine's other writes.
    """
    if not items:
        return
    ids = sorted({message_id for _, message_id, _, _ in items})
    held = await hot.rows(conn, _held_among(), {"w_ids": padded(ids), "w_now": now})
    busy = {r[0] for r in held}
    rows = []
    for account_id, message_id, url, payload in items:
        due = BLOCKED if message_id in busy else now
        busy.add(message_id)
        rows.append(
            {
                "account_id": account_id,
                "message_id": message_id,
                "url": url,
                "payload": payload,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": now,
            }
        )
    await insert_rows(conn, d, rows)


async def release_blocked(conn: AsyncConnection, now: float, *, limit: int = 1000) -> int:
    """Make due every blocked delivery with no earlier pending one for its message.

    The normal release happens when the earlier delivery ends (and cannot miss a delivery
    queued at the same time: see :func:`enqueue_webhooks`); this sweep is a safety net, and
    makes the first copy of each message due after a replay. Returns how many.
    """
    earlier = d.alias("earlier")
    ready = (
        select(d.c.id)
        .where(
            d.c.state == _IS_PENDING,
            d.c.next_attempt_at >= BLOCKED,
            ~exists().where(
                earlier.c.message_id == d.c.message_id,
                earlier.c.id < d.c.id,
                earlier.c.state == _IS_PENDING,
            ),
        )
        .limit(limit)
        .scalar_subquery()
    )
    result = await conn.execute(update(d).where(d.c.id.in_(ready)).values(next_attempt_at=now))
    return max(result.rowcount, 0)


async def release_backlog(conn: AsyncConnection, urls: Sequence[str], now: float) -> int:
    """Make due now every pending delivery to ``urls`` that waits for a later time (its own
    backoff, or a deferral while its host was down); how many.

    For a host that answers again: its backlog goes out at once rather than each delivery
    after its own backoff. Deliveries blocked behind an earlier one of their message stay
    blocked, and leased ones stay with their holder, so order and leases are untouched.
    """
    if not urls:
        return 0
    result = await conn.execute(
        update(d)
        .where(
            d.c.state == _IS_PENDING,
            d.c.url.in_(list(urls)),
            d.c.next_attempt_at > now,
            d.c.next_attempt_at < BLOCKED,
            or_(d.c.lease_until.is_(None), d.c.lease_until <= now),
        )
        .values(next_attempt_at=now)
    )
    return max(result.rowcount, 0)


async def schedule_probe(conn: AsyncConnection, url: str, at: float, *, not_id: int) -> None:
    """Make one waiting delivery to ``url`` (not ``not_id``) due at ``at``, when its down host
    is probed next: the one due soonest, if it is due later than that.

    A down host's backlog is put far back while it is down; this keeps one delivery for
    each probe, so the probes keep their pace and spread over the backlog.
    """
    soonest = (
        select(d.c.id)
        .where(
            d.c.state == _IS_PENDING,
            d.c.next_attempt_at > at,
            d.c.next_attempt_at < BLOCKED,
            d.c.url == url,
            d.c.id != not_id,
            d.c.lease_until.is_(None),
        )
        .order_by(d.c.next_attempt_at)
        .limit(1)
        .scalar_subquery()
    )
    await conn.execute(update(d).where(d.c.id == soonest).values(next_attempt_at=at))


@cache
def _claim_statement() -> Update:
    """The claim, built once with bound values (building it costs ~0.5 ms of SQLAlchemy,
    more than running it, and inside the write transaction)."""
    now = bindparam("w_now", type_=Float)
    until = bindparam("w_until", type_=Float)
    earlier = d.alias("earlier")
    blocked = exists().where(
        earlier.c.message_id == d.c.message_id,
        earlier.c.id < d.c.id,
        earlier.c.state == _IS_PENDING,
    )
    due = and_(
        d.c.state == _IS_PENDING,
        d.c.next_attempt_at <= now,
        or_(d.c.lease_until.is_(None), d.c.lease_until <= now),
    )
    # MATERIALIZED: evaluated once, see queue._transition_many. The UPDATE takes the picked
    # rows by id and nothing else: a second ``due`` there made SQLite walk every due delivery
    # through the state index for each claim. PostgreSQL re-checks a locked row's ``due``
    # itself (FOR UPDATE), SQLite's single writer cannot race.
    picked = (
        select(d.c.id)
        .where(due, ~blocked)
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(bindparam("w_limit", type_=Integer))
        .with_for_update(skip_locked=True, of=d)
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
    return (
        update(d)
        .where(d.c.id.in_(select(picked.c.id)))
        .values(lease_until=until, next_attempt_at=until)
        .returning(*d.c)
    )


async def claim_webhooks(
    conn: AsyncConnection, *, now: float, lease_seconds: float, limit: int
) -> list[WebhookDelivery]:
    """Lease up to ``limit`` due deliveries, each the oldest pending one of its message.

    Due: pending, ``next_attempt_at <= now``, lease free or run out. A delivery with an earlier
    pending delivery for the same message waits, whatever its own schedule. SKIP LOCKED on
    PostgreSQL; on SQLite the write transaction serialises claimers.

    The lease also moves ``next_attempt_at`` to its end: deliveries in flight leave the due
    range of the index, so a claim does not walk past every one of them first (under a
    backlog that walk cost milliseconds per claim), and one whose worker died is due again
    when its lease runs out. The returned deliveries are oldest first.
    """
    if limit <= 0:
        return []
    until = now + lease_seconds
    rows = await hot.rows(
        conn, _claim_statement(), {"w_now": now, "w_limit": limit, "w_until": until}
    )
    rows.sort(key=lambda r: r.id)
    return [_delivery(r) for r in rows]


async def defer_webhooks(
    conn: AsyncConnection, delivery_ids: Sequence[int], *, until: float
) -> None:
    """Give leased deliveries back, due again at ``until``, without counting an attempt.

    For a destination host that is backing off: its deliveries wait without spending their
    retry budget, and without holding a place that other hosts' deliveries could use.
    """
    if delivery_ids:
        await conn.execute(
            update(d)
            .where(d.c.id.in_(list(delivery_ids)))
            .values(next_attempt_at=until, lease_until=None)
        )


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One finished attempt, for :func:`record_webhook_attempts`."""

    delivery_id: int
    status_code: int | None
    error: str | None
    duration_ms: float
    outcome: Literal["delivered", "retry", "dead"]
    next_attempt_at: float | None = None


async def record_webhook_attempts(
    conn: AsyncConnection, attempts: Sequence[AttemptRecord], now: float
) -> None:
    """Log many attempts and settle their deliveries, in three statements however many.

    A delivery that ends (delivered or dead) releases the next pending delivery of its
    message (see ``BLOCKED``); its ``next_attempt_at`` becomes the time of this last attempt
    rather than the end of the lease it held.
    """
    if not attempts:
        return
    # in id order, like every other lock on deliveries
    attempts = sorted(attempts, key=lambda a: a.delivery_id)
    for a in attempts:
        if a.outcome not in _STATE_AFTER:
            raise ValueError(f"unknown webhook outcome {a.outcome!r}")
        if a.outcome == "retry" and a.next_attempt_at is None:
            raise ValueError("a retry needs next_attempt_at")
    await insert_rows(
        conn,
        webhook_attempts,
        [
            {
                "delivery_id": a.delivery_id,
                "at": now,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    )
    await hot.execute_many(
        conn,
        _settle_statement(),
        [
            {
                "w_id": a.delivery_id,
                "w_state": _STATE_AFTER[a.outcome],
                "w_code": a.status_code,
                "w_error": a.error,
                "w_next": a.next_attempt_at if a.outcome == "retry" else now,
                "w_delivered": now if a.outcome == "delivered" else None,
            }
            for a in attempts
        ],
    )
    ended = [a.delivery_id for a in attempts if a.outcome != "retry"]
    if ended:
        await hot.execute(conn, _release_next_statement(), {"w_ended": padded(ended), "w_now": now})


# "Which of these messages have a pending callback?" (enqueueing, and releasing the next one):
# without statistics SQLite reads every pending delivery through the ``state`` index,
# thousands under a backlog, instead of a few rows per message (db.py renders the hint).
_PENDING_OF_MESSAGE = "INDEXED BY ix_webhook_deliveries_pending_message"

# The statements below run for every batch of callbacks; each is built once, with bound
# values, because building one costs SQLAlchemy more than running it does.


@cache
def _held_among() -> Select[Any]:
    """Which of ``w_ids`` (message ids) have a pending delivery that is neither in flight
    nor blocked, and that this transaction could lock; the locks last until it ends (see
    :func:`enqueue_webhooks`). Blocked ones are left unlocked so that the release of a
    message's next delivery never waits for an enqueue (a blocked one has an earlier one
    before it, which decides)."""
    now = bindparam("w_now", type_=Float)
    return (
        select(d.c.message_id)
        .where(
            d.c.message_id.in_(bindparam("w_ids", expanding=True)),
            d.c.state == _IS_PENDING,
            d.c.next_attempt_at < BLOCKED,
            or_(d.c.lease_until.is_(None), d.c.lease_until <= now),
        )
        .order_by(d.c.id)
        .with_for_update(skip_locked=True, of=d)
        .with_hint(d, _PENDING_OF_MESSAGE, "sqlite")
    )


@cache
def _settle_statement() -> Update:
    """One attempt's outcome on its delivery (executemany)."""
    return (
        update(d)
        .where(d.c.id == bindparam("w_id"))
        .values(
            attempts=d.c.attempts + 1,
            state=bindparam("w_state"),
            lease_until=None,
            last_status_code=bindparam("w_code"),
            last_error=bindparam("w_error"),
            next_attempt_at=bindparam("w_next", type_=Float),
            delivered_at=func.coalesce(bindparam("w_delivered", type_=Float), d.c.delivered_at),
        )
    )


@cache
def _release_next_statement() -> Update:
    """Make due the next blocked delivery of each message whose delivery ``w_ended`` ended."""
    messages = select(d.c.message_id).where(d.c.id.in_(bindparam("w_ended", expanding=True)))
    nxt = (
        select(func.min(d.c.id))
        .where(d.c.message_id.in_(messages), d.c.state == _IS_PENDING)
        .group_by(d.c.message_id)
        .with_hint(d, _PENDING_OF_MESSAGE, "sqlite")
    )
    return (
        update(d)
        .where(d.c.id.in_(nxt), d.c.next_attempt_at >= BLOCKED)
        .values(next_attempt_at=bindparam("w_now", type_=Float))
    )


async def list_webhook_deliveries(conn: AsyncConnection, message_id: str) -> list[WebhookDelivery]:
    """A message's deliveries, in the order they were queued."""
    rows = await conn.execute(select(d).where(d.c.message_id == message_id).order_by(d.c.id))
    return [_delivery(r) for r in rows]


async def list_webhook_attempts(conn: AsyncConnection, delivery_id: int) -> list[WebhookAttempt]:
    """A delivery's attempts, oldest first."""
    a = webhook_attempts
    rows = await conn.execute(select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.id))
    return [
        WebhookAttempt(
            id=r.id,
            delivery_id=r.delivery_id,
            at=r.at,
            status_code=r.status_code,
            error=r.error,
            duration_ms=r.duration_ms,
        )
        for r in rows
    ]


async def replay_webhooks(
    conn: AsyncConnection,
    *,
    message_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
    now: float,
    account_id: str | None = None,
) -> int:
    """Queue fresh copies of finished (delivered or dead) deliveries; how many.

    Filters: one message, one account, and ``since <= created_at < until``. The originals and
    their attempt history stay as they were. One INSERT ... SELECT.
    """
    source = select(
        d.c.account_id,
        d.c.message_id,
        d.c.url,
        d.c.payload,
        literal(PENDING),
        literal(0),
        literal(BLOCKED),
        literal(now),
    ).where(d.c.state.in_([DELIVERED, DEAD]))
    if message_id is not None:
        source = source.where(d.c.message_id == message_id)
    if account_id is not None:
        source = source.where(d.c.account_id == account_id)
    if since is not None:
        source = source.where(d.c.created_at >= since)
    if until is not None:
        source = source.where(d.c.created_at < until)
    result = await conn.execute(
        d.insert()
        .from_select(
            [
                "account_id",
                "message_id",
                "url",
                "payload",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            source.order_by(d.c.id),
        )
        .returning(d.c.id)
    )
    count = len(result.all())
    await release_blocked(conn, now, limit=max(count, 1))  # the first of each message goes
    return count
