"""The queue's statements use the partial indexes on SQLite, whatever the backlog.

A plan that sorts every waiting row makes each claim cost as much as the backlog is long;
this test asks SQLite how it runs the statements the dispatcher actually sends.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event

from smsrelay.store import queue
from smsrelay.store.db import Database

T0 = 1_700_000_000.0


async def _statements(database: Database) -> list[tuple[str, tuple]]:
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(database.engine.sync_engine, "after_cursor_execute", capture)
    try:
        async with database.transaction() as conn:
            await queue.claim(conn, now=T0, worker="w", lease_seconds=30, limit=50)
            await queue.expire_overdue(conn, T0)
    finally:
        event.remove(database.engine.sync_engine, "after_cursor_execute", capture)
    return seen


async def test_claim_and_expiry_read_waiting_rows_through_their_partial_indexes(
        sqlite_database: Database) -> None:
    statements = await _statements(sqlite_database)
    path = sqlite_database.url.split("///", 1)[1]
    plans = {}
    with sqlite3.connect(path) as raw:
        for statement, parameters in statements:
            if "picked" in statement:
                plans[statement] = " | ".join(
                    row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement,
                                                  parameters))
    assert len(plans) == 2, plans
    joined = "\n".join(plans.values())
    assert "ix_messages_due" in joined
    assert "ix_messages_waiting_expires_at" in joined
    for plan in plans.values():
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
