"""Applying receipts: a message's parts are read once, and receipts for different parts of
one message never leave it unsettled, even from concurrent transactions."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from smsrelay.domain.messages import DeliveryReport, Message, ReceiptStatus
from smsrelay.engine.dlr import apply_reports
from smsrelay.store import messages, queue, receipts
from smsrelay.store.db import Database
from tests.store.factories import T0, a_message, an_account
from tests.support.servers import wait_for

NOW = T0 + 100


async def _sent_in_parts(db: Database, carrier_ids: list[str]) -> Message:
    async with db.transaction() as conn:
        acc = await an_account(conn)
        m = a_message(acc.id, segments=len(carrier_ids))
        await messages.insert_messages(conn, [m], T0)
        await queue.claim(conn, worker="w", now=NOW, lease_seconds=30, limit=1)
        await queue.record_submitted(
            conn, m.id, connector="smpp-a", carrier_ids=carrier_ids, now=NOW, dlr_deadline=NOW + 60
        )
    return m


def _delivered(carrier_id: str) -> DeliveryReport:
    return DeliveryReport("smpp-a", carrier_id, ReceiptStatus.DELIVERED, at=NOW + 1)


async def test_parts_for_receipts_returns_the_matched_parts_and_their_siblings(
    database: Database,
) -> None:
    m = await _sent_in_parts(database, ["A1", "A2", "A3"])
    async with database.transaction() as conn:
        matched, by_message = await receipts.parts_for_receipts(
            conn, [("smpp-a", "A2"), ("smpp-a", "nope"), ("smpp-b", "A1")]
        )
    assert list(matched) == [("smpp-a", "A2")]
    assert matched["smpp-a", "A2"].seq == 2
    assert [p.carrier_id for p in by_message[m.id]] == ["A1", "A2", "A3"]


async def test_a_message_settles_when_its_last_part_does_and_keeps_its_carrier_ids(
    database: Database,
) -> None:
    m = await _sent_in_parts(database, ["A1", "A2"])
    async with database.transaction() as conn:
        assert await apply_reports(conn, [_delivered("A1")], NOW + 1) == []
        [settled] = await apply_reports(conn, [_delivered("A2")], NOW + 2)
    assert (settled.id, settled.status, settled.carrier_ids) == (m.id, "delivered", ("A1", "A2"))


async def test_receipts_for_two_parts_in_concurrent_transactions_settle_the_message(
    postgres_database: Database,
) -> None:
    """The second transaction waits for the first's parts, then sees them: without that,
    each would see the other part still open and the message would stay ``sent``."""
    db = postgres_database
    m = await _sent_in_parts(db, ["A1", "A2"])
    first_applied, release = asyncio.Event(), asyncio.Event()

    async def first() -> list[Message]:
        async with db.transaction() as conn:
            changed = await apply_reports(conn, [_delivered("A1")], NOW + 1)
            first_applied.set()
            await release.wait()
        return changed

    async def second() -> list[Message]:
        await first_applied.wait()
        async with db.transaction() as conn:
            return await apply_reports(conn, [_delivered("A2")], NOW + 2)

    async def waiting_for_a_lock() -> bool:
        async with db.read() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        return bool(waiting)

    one, two = asyncio.create_task(first()), asyncio.create_task(second())
    await first_applied.wait()
    await wait_for(waiting_for_a_lock, timeout=10)  # the database server says so
    assert not two.done()  # waiting for the parts the first transaction holds
    release.set()
    assert await one == []
    assert [(x.id, x.status) for x in await two] == [(m.id, "delivered")]
