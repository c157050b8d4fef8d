"""Delivery-report correlation data: message parts by carrier id, and receipts kept for later.

A carrier names a submitted segment by its own id (``submit_sm_resp.message_id``); a receipt
quotes that id. ``message_parts`` maps (connector, carrier id) back to (message, segment).
Receipts can arrive before the ``submit_sm_resp`` that would tell us the id has been stored
(DESIGN.md, Storage): they wait in ``pending_receipts`` until :func:`take_unmatched` claims them.
The matching logic itself is in ``engine/dlr.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Float, Select, String, Update, bindparam, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningDelete

from smsrelay.domain.messages import DeliveryReport, ReceiptStatus
from smsrelay.store import hot
from smsrelay.store.hot import insert_rows, padded
from smsrelay.store.schema import message_parts, pending_receipts

__all__ = [
    "Part",
    "keep_unmatched",
    "keep_unmatched_many",
    "parts_for_receipts",
    "parts_of",
    "purge_unmatched",
    "take_matchable",
    "take_unmatched",
    "update_parts",
]


@dataclass(frozen=True, slots=True)
class Part:
    """One submitted segment of a message and its latest receipt status."""

    message_id: str
    seq: int
    connector: str
    carrier_id: str
    status: str
    error: str | None
    updated_at: float


def _part(row: Row[Any]) -> Part:
    return Part(
        message_id=row.message_id,
        seq=row.seq,
        connector=row.connector,
        carrier_id=row.carrier_id,
        status=row.status,
        error=row.error,
        updated_at=row.updated_at,
    )


async def parts_of(conn: AsyncConnection, message_id: str) -> list[Part]:
    """Every part of a message, in segment order."""
    p = message_parts
    rows = await conn.execute(select(p).where(p.c.message_id == message_id).order_by(p.c.seq))
    return [_part(r) for r in rows]


async def keep_unmatched(conn: AsyncConnection, report: DeliveryReport, now: float) -> None:
    """Park a receipt whose carrier id matches no part yet. ``raw`` is not kept."""
    await conn.execute(
        pending_receipts.insert().values(
            connector=report.connector,
            carrier_id=report.carrier_id,
            status=ReceiptStatus(report.status).value,
            error=report.error,
            at=report.at,
            received_at=now,
        )
    )


async def take_unmatched(
    conn: AsyncConnection, connector: str, carrier_ids: Sequence[str]
) -> list[DeliveryReport]:
    """Remove and return the parked receipts for these carrier ids, oldest first.

    Deleting with RETURNING makes "take" atomic: two takers never both get a receipt.
    """
    if not carrier_ids:
        return []
    rows = await hot.rows(
        conn, _take_statement(), {"r_connector": connector, "r_ids": padded(carrier_ids)}
    )
    rows.sort(key=lambda row: (row.at, row.id))
    return [
        DeliveryReport(
            connector=row.connector,
            carrier_id=row.carrier_id,
            status=ReceiptStatus(row.status),
            at=row.at,
            error=row.error,
        )
        for row in rows
    ]


async def take_matchable(conn: AsyncConnection, *, limit: int = 1000) -> list[DeliveryReport]:
    """Remove and return parked receipts whose part now exists, oldest first.

    A receipt parked by one transaction while another was storing its part (both running at
    once on PostgreSQL) is seen by neither; this sweep, run periodically, settles it.
    """
    r, p = pending_receipts, message_parts
    matched = (
        select(r.c.id)
        .where(
            select(p.c.seq)
            .where(p.c.connector == r.c.connector, p.c.carrier_id == r.c.carrier_id)
            .exists()
        )
        .order_by(r.c.id)
        .limit(limit)
    )
    rows = list(
        await conn.execute(
            delete(r)
            .where(r.c.id.in_(matched))
            .returning(r.c.id, r.c.connector, r.c.carrier_id, r.c.status, r.c.error, r.c.at)
        )
    )
    rows.sort(key=lambda row: (row.at, row.id))
    return [
        DeliveryReport(
            connector=row.connector,
            carrier_id=row.carrier_id,
            status=ReceiptStatus(row.status),
            at=row.at,
            error=row.error,
        )
        for row in rows
    ]


async def parts_for_receipts(
    conn: AsyncConnection,
    keys: Sequence[tuple[str, str]],
) -> tuple[dict[tuple[str, str], Part], dict[str, list[Part]]]:
    """The parts that receipts for ``keys`` (connector, carrier id) refer to, and every part
    of those parts' messages, in segment order: one query per connector.

    A message's other parts come along because its status is the combination of all of
    them. They are locked (FOR UPDATE on PostgreSQL) so that two transactions applying
    receipts for different parts of one message take turns, and the second sees the first's
    part when it decides whether the message is final; SQLite's single writer gives the same.
    Should a carrier reuse an id, the newest message wins.
    """
    by_connector: dict[str, set[str]] = {}
    for connector, carrier_id in keys:
        by_connector.setdefault(connector, set()).add(carrier_id)
    rows: list[Any] = []
    # ``connector = ? AND carrier_id IN (...)`` per connector: SQLite answers a row-value
    # ``(connector, carrier_id) IN (...)`` with a scan of the whole table
    for connector, carrier_ids in sorted(by_connector.items()):  # one lock order for all
        rows.extend(
            await hot.rows(
                conn,
                _parts_statement(),
                {"p_connector": connector, "p_ids": padded(sorted(carrier_ids))},
            )
        )
    rows.sort(key=lambda row: (row.message_id, row.seq))
    wanted = set(keys)
    matched: dict[tuple[str, str], Part] = {}
    by_message: dict[str, list[Part]] = {}
    for row in rows:
        part = _part(row)
        by_message.setdefault(part.message_id, []).append(part)
        if (part.connector, part.carrier_id) in wanted:
            matched[(part.connector, part.carrier_id)] = part  # the newest message last
    return matched, by_message


async def update_parts(
    conn: AsyncConnection, updates: Sequence[tuple[str, int, str, str | None]], now: float
) -> None:
    """Record many receipt outcomes: ``(message_id, seq, status, error)`` each, one call."""
    if not updates:
        return
    await hot.execute_many(
        conn,
        _part_outcome_statement(),
        [
            {"m_id": m, "m_seq": seq, "m_status": str(st), "m_error": err, "m_now": now}
            for m, seq, st, err in updates
        ],
    )


async def keep_unmatched_many(
    conn: AsyncConnection, reports: Sequence[DeliveryReport], now: float
) -> None:
    """:func:`keep_unmatched` for many receipts, one INSERT."""
    if reports:
        await insert_rows(
            conn,
            pending_receipts,
            [
                {
                    "connector": r.connector,
                    "carrier_id": r.carrier_id,
                    "status": ReceiptStatus(r.status).value,
                    "error": r.error,
                    "at": r.at,
                    "received_at": now,
                }
                for r in reports
            ],
        )


async def purge_unmatched(conn: AsyncConnection, older_than: float) -> int:
    """Drop parked receipts received before ``older_than`` (their message never showed up)."""
    result = await conn.execute(
        delete(pending_receipts).where(pending_receipts.c.received_at < older_than)
    )
    return max(result.rowcount, 0)


# Statements of the receipt path, built once with bound values: it runs for every batch of
# receipts and of submit results, and building a statement costs SQLAlchemy more than running
# it does.


@cache
def _parts_statement() -> Select[Any]:
    """Every part of the messages with a part of connector ``p_connector`` and a carrier id in
    ``p_ids``, locked (see :func:`parts_for_receipts`)."""
    p = message_parts
    hit = select(p.c.message_id).where(
        p.c.connector == bindparam("p_connector", type_=String),
        p.c.carrier_id.in_(bindparam("p_ids", expanding=True)),
    )
    return (
        select(p).where(p.c.message_id.in_(hit)).order_by(p.c.message_id, p.c.seq).with_for_update()
    )


@cache
def _part_outcome_statement() -> Update:
    """One part's receipt outcome (executemany)."""
    p = message_parts
    return (
        update(p)
        .where(p.c.message_id == bindparam("m_id"), p.c.seq == bindparam("m_seq"))
        .values(
            status=bindparam("m_status"),
            error=bindparam("m_error"),
            updated_at=bindparam("m_now", type_=Float),
        )
    )


@cache
def _take_statement() -> ReturningDelete[Any, Any, Any, Any, Any, Any]:
    """Remove the parked receipts of connector ``r_connector`` for the carrier ids ``r_ids``."""
    r = pending_receipts
    return (
        delete(r)
        .where(
            r.c.connector == bindparam("r_connector", type_=String),
            r.c.carrier_id.in_(bindparam("r_ids", expanding=True)),
        )
        .returning(r.c.id, r.c.connector, r.c.carrier_id, r.c.status, r.c.error, r.c.at)
    )
