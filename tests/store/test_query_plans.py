"""The queue's and the webhook outbox's statements use the partial indexes on SQLite,
whatever the backlog.

A plan that sorts every waiting row, or reads every pending callback, makes each statement
cost as much as the backlog is long; these tests ask SQLite how it runs the statements the
dispatcher and the webhook sender actually send.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store import hot, queue, receipts, webhooks
from smsrelay.store.db import Database
from tests.store.factories import an_account

T0 = 1_700_000_000.0


async def _statements(
    database: Database, work: Callable[[AsyncConnection], Awaitable[None]]
) -> list[tuple[str, tuple]]:
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, many):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters[0] if many else parameters))

    event.listen(database.engine.sync_engine, "after_cursor_execute", capture)
    try:
        # and the hot statements, which run on the sqlite3 connection directly
        with hot.observed(lambda sql, args: seen.append((sql, tuple(args)))):
            async with database.transaction() as conn:
                await work(conn)
    finally:
        event.remove(database.engine.sync_engine, "after_cursor_execute", capture)
    return seen


def _plans(database: Database, statements: list[tuple[str, tuple]], marker: str) -> dict[str, str]:
    path = database.url.split("///", 1)[1]
    plans = {}
    with sqlite3.connect(path) as raw:
        for statement, parameters in statements:
            if marker in statement:
                plans[statement] = " | ".join(
                    row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                )
    return plans


async def test_claim_and_expiry_read_waiting_rows_through_their_partial_indexes(
    sqlite_database: Database,
) -> None:
    async def work(conn: AsyncConnection) -> None:
        await queue.claim(conn, now=T0, worker="w", lease_seconds=30, limit=50)
        await queue.expire_overdue(conn, T0)

    plans = _plans(sqlite_database, await _statements(sqlite_database, work), "picked")
    assert len(plans) == 2, plans
    joined = "\n".join(plans.values())
    assert "ix_messages_due" in joined
    assert "ix_messages_waiting_expires_at" in joined
    for plan in plans.values():
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


async def test_lease_and_receipt_sweeps_read_only_rows_of_their_status(
    sqlite_database: Database,
) -> None:
    async def work(conn: AsyncConnection) -> None:
        await queue.reclaim_expired_leases(conn, T0)
        await queue.time_out_unconfirmed(conn, T0)

    plans = list(
        _plans(sqlite_database, await _statements(sqlite_database, work), "picked").values()
    )
    assert len(plans) == 2, plans
    assert "USING INDEX ix_messages_sending_lease_until (lease_until<?)" in plans[0], plans
    assert "USING INDEX ix_messages_sent_dlr_deadline (dlr_deadline<?)" in plans[1], plans
    assert "TEMP B-TREE FOR ORDER BY" not in plans[1], plans


async def test_pending_callbacks_are_looked_up_per_message(sqlite_database: Database) -> None:
    """Enqueueing, claiming and ending callbacks read a few rows per message or per claimed
    delivery, never every pending one."""
    async with sqlite_database.transaction() as conn:
        account = await an_account(conn)

    async def work(conn: AsyncConnection) -> None:
        await webhooks.enqueue_webhooks(
            conn,
            [(account.id, f"msg_{i}", "https://hooks.example/sms", "{}") for i in range(3)],
            T0,
        )
        [first, *_] = await webhooks.claim_webhooks(conn, now=T0, lease_seconds=30, limit=10)
        await webhooks.record_webhook_attempts(
            conn, [webhooks.AttemptRecord(first.id, 200, None, 1.0, "delivered")], T0
        )

    statements = await _statements(sqlite_database, work)
    plans = _plans(sqlite_database, statements, "webhook_deliveries.message_id IN (")
    assert len(plans) == 2, plans  # the enqueue's probe and the release of the next one
    for plan in plans.values():
        assert "ix_webhook_deliveries_pending_message (message_id=?" in plan, plan
        assert "(state=?)" not in plan, plan
    # the claim walks the due range once, to pick; the UPDATE then takes the picked by id
    [claim] = _plans(sqlite_database, statements, "picked").values()
    assert claim.startswith("SEARCH webhook_deliveries USING INTEGER PRIMARY KEY"), claim
    assert claim.count("ix_webhook_deliveries_due (next_attempt_at<?)") == 1, claim
    assert "TEMP B-TREE" not in claim, claim  # read in claim order, stopping at the LIMIT


async def test_receipts_find_their_parts_through_indexes(sqlite_database: Database) -> None:
    async def work(conn: AsyncConnection) -> None:
        await receipts.parts_for_receipts(conn, [("smpp-a", "A1"), ("smpp-a", "A2")])

    [plan] = _plans(
        sqlite_database, await _statements(sqlite_database, work), "message_parts"
    ).values()
    assert "SCAN message_parts" not in plan, plan
    assert "ix_message_parts_connector_carrier_id (connector=? AND carrier_id=?)" in plan, plan
