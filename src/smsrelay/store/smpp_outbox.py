"""The SMPP outbox: receipts and MO messages waiting to go to a client's receiver bind.

Rows are written in the transaction that changed the message's status (or stored the MO),
so a committed final status always yields its receipt, even across a crash. The SMPP server
claims rows under a lease only for accounts that have a receiver bound, and only as many as
its binds' windows can take; a row is ``sent`` once the client answered ESME_ROK, and
``expired`` when nobody took it before ``expires_at`` (the TTL, 72 h by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.schema import smpp_outbox

__all__ = [
    "DEFAULT_TTL",
    "NewSmppDelivery",
    "SmppDelivery",
    "accounts_with_due",
    "claim_smpp",
    "enqueue_smpp",
    "expire_smpp",
    "list_smpp_deliveries",
    "mark_smpp_sent",
    "retry_smpp",
]

DEFAULT_TTL = 72 * 3600.0
PENDING, SENT, EXPIRED = "pending", "sent", "expired"
o = smpp_outbox


@dataclass(frozen=True, slots=True)
class NewSmppDelivery:
    """A deliver_sm to queue. ``smpp_user_id`` None: any receiver bind of the account."""

    account_id: str
    smpp_user_id: str | None
    kind: str  # receipt | mo
    ref_id: str
    source_addr: str
    destination_addr: str
    body: str
    status: str | None = None
    error_code: str | None = None
    submitted_at: float | None = None
    done_at: float | None = None


@dataclass(frozen=True, slots=True)
class SmppDelivery:
    """A queued deliver_sm as claimed from the outbox."""

    id: int
    account_id: str
    smpp_user_id: str | None
    kind: str
    ref_id: str
    source_addr: str
    destination_addr: str
    body: str
    status: str | None
    error_code: str | None
    submitted_at: float | None
    done_at: float | None
    state: str
    attempts: int
    created_at: float


def _delivery(row: Row[Any]) -> SmppDelivery:
    return SmppDelivery(
        id=row.id,
        account_id=row.account_id,
        smpp_user_id=row.smpp_user_id,
        kind=row.kind,
        ref_id=row.ref_id,
        source_addr=row.source_addr,
        destination_addr=row.destination_addr,
        body=row.body,
        status=row.status,
        error_code=row.error_code,
        submitted_at=row.submitted_at,
        done_at=row.done_at,
        state=row.state,
        attempts=row.attempts,
        created_at=row.created_at,
    )


async def enqueue_smpp(
    conn: AsyncConnection, items: Sequence[NewSmppDelivery], now: float, ttl: float = DEFAULT_TTL
) -> None:
    """Queue deliveries, due now, dropped unsent after ``ttl`` seconds: one INSERT."""
    if not items:
        return
    await conn.execute(
        o.insert(),
        [
            {
                **asdict(i),
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "expires_at": now + ttl,
            }
            for i in items
        ],
    )


def _due(now: float) -> Any:
    return and_(
        o.c.state == PENDING,
        o.c.next_attempt_at <= now,
        o.c.expires_at > now,
        or_(o.c.lease_until.is_(None), o.c.lease_until <= now),
    )


async def accounts_with_due(conn: AsyncConnection, now: float) -> set[str]:
    """Accounts that have something due (the server checks them against its binds)."""
    rows = await conn.execute(select(o.c.account_id).where(_due(now)).distinct())
    return {r[0] for r in rows}


async def claim_smpp(
    conn: AsyncConnection,
    account_id: str,
    smpp_user_ids: Sequence[str],
    *,
    now: float,
    lease_seconds: float,
    limit: int,
) -> list[SmppDelivery]:
    """Lease up to ``limit`` due deliveries of the account that one of ``smpp_user_ids`` (the
    users bound to receive) may take, oldest first."""
    if limit <= 0 or not smpp_user_ids:
        return []
    mine = and_(
        o.c.account_id == account_id,
        or_(o.c.smpp_user_id.is_(None), o.c.smpp_user_id.in_(list(smpp_user_ids))),
    )
    # MATERIALIZED: the pick runs once (PostgreSQL may otherwise re-run a LIMIT subquery
    # per row and take more than ``limit``), as in webhooks.claim_webhooks
    picked = (
        select(o.c.id)
        .where(_due(now), mine)
        .order_by(o.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
    rows = list(
        await conn.execute(
            update(o)
            .where(o.c.id.in_(select(picked.c.id)), _due(now))
            .values(lease_until=now + lease_seconds)
            .returning(*o.c)
        )
    )
    rows.sort(key=lambda r: r.id)
    return [_delivery(r) for r in rows]


async def mark_smpp_sent(conn: AsyncConnection, ids: Sequence[int], now: float) -> None:
    """The client answered ESME_ROK: done."""
    if ids:
        await conn.execute(
            update(o)
            .where(o.c.id.in_(list(ids)))
            .values(state=SENT, sent_at=now, lease_until=None, attempts=o.c.attempts + 1)
        )


async def retry_smpp(conn: AsyncConnection, ids: Sequence[int], next_attempt_at: float) -> None:
    """Not acknowledged (error status, timeout, bind lost): pending again from then."""
    if ids:
        await conn.execute(
            update(o)
            .where(o.c.id.in_(list(ids)), o.c.state == PENDING)
            .values(lease_until=None, next_attempt_at=next_attempt_at, attempts=o.c.attempts + 1)
        )


async def expire_smpp(conn: AsyncConnection, now: float) -> int:
    """Give up on deliveries past their TTL; how many."""
    result = await conn.execute(
        update(o)
        .where(o.c.state == PENDING, o.c.expires_at <= now)
        .values(state=EXPIRED, lease_until=None)
    )
    return max(result.rowcount, 0)


async def list_smpp_deliveries(
    conn: AsyncConnection, ref_id: str | None = None, *, account_id: str | None = None
) -> list[SmppDelivery]:
    """Deliveries for one message/MO or one account, in queue order (tests, inspection)."""
    query = select(o).order_by(o.c.id)
    if ref_id is not None:
        query = query.where(o.c.ref_id == ref_id)
    if account_id is not None:
        query = query.where(o.c.account_id == account_id)
    return [_delivery(r) for r in await conn.execute(query)]
