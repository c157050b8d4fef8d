"""On PostgreSQL, a message's next callback is never left blocked by a transaction that ends
the callback before it at the same time: queueing it and ending the earlier one may commit in
either order, and neither waits for the ``release_blocked`` sweep."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from smsrelay.store import webhooks
from smsrelay.store.db import Database
from tests.store.factories import T0, an_account
from tests.support.servers import wait_for

NOW = T0 + 100
URL = "https://hooks.example/sms"


async def _sent_callback(db: Database, *, claimed: bool) -> tuple[str, int]:
    async with db.transaction() as conn:
        account = await an_account(conn)
        await webhooks.enqueue_webhooks(conn, [(account.id, "msg_1", URL, '"sent"')], NOW)
        [sent] = await webhooks.list_webhook_deliveries(conn, "msg_1")
        if claimed:
            await webhooks.claim_webhooks(conn, now=NOW, lease_seconds=30, limit=10)
    return account.id, sent.id


async def _end(db: Database, delivery_id: int, now: float) -> None:
    async with db.transaction() as conn:
        record = webhooks.AttemptRecord(delivery_id, 200, None, 1.0, "delivered")
        await webhooks.record_webhook_attempts(conn, [record], now)


async def _claim(db: Database, now: float) -> list[int]:
    async with db.transaction() as conn:
        got = await webhooks.claim_webhooks(conn, now=now, lease_seconds=30, limit=10)
    return [d.id for d in got]


async def _waiting_for_a_lock(db: Database) -> bool:
    async with db.read() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return bool(waiting)


async def _next_is_due(db: Database) -> bool:
    async with db.read() as conn:
        sent, delivered = await webhooks.list_webhook_deliveries(conn, "msg_1")
    assert sent.state == "delivered"
    return delivered.state == "pending" and delivered.next_attempt_at < webhooks.BLOCKED


async def test_next_of_a_callback_in_flight_is_queued_due(postgres_database: Database) -> None:
    """The earlier callback is being posted and may end before this commit (the race): the
    new one is due at once, and the claim still keeps it behind the earlier one."""
    db = postgres_database
    account_id, sent_id = await _sent_callback(db, claimed=True)
    queued, release = asyncio.Event(), asyncio.Event()

    async def queue_next() -> None:
        async with db.transaction() as conn:
            await webhooks.enqueue_webhooks(
                conn, [(account_id, "msg_1", URL, '"delivered"')], NOW + 1
            )
            queued.set()
            await release.wait()

    queueing = asyncio.create_task(queue_next())
    await queued.wait()
    await _end(db, sent_id, NOW + 1)  # commits first, without waiting for the other
    release.set()
    await queueing
    assert await _next_is_due(db)


async def test_a_held_earlier_callback_cannot_end_before_the_next_is_seen(
    postgres_database: Database,
) -> None:
    """The earlier callback waits for its retry: the queueing transaction locks it, so it is
    not claimed meanwhile, and once claimed and ended, its release sees the new one."""
    db = postgres_database
    account_id, sent_id = await _sent_callback(db, claimed=False)
    queued, release = asyncio.Event(), asyncio.Event()

    async def queue_next() -> None:
        async with db.transaction() as conn:
            await webhooks.enqueue_webhooks(
                conn, [(account_id, "msg_1", URL, '"delivered"')], NOW + 1
            )
            queued.set()
            await release.wait()

    queueing = asyncio.create_task(queue_next())
    await queued.wait()
    assert await _claim(db, NOW + 1) == []  # locked by the queueing transaction: skipped
    release.set()
    await queueing
    async with db.read() as conn:
        _, delivered = await webhooks.list_webhook_deliveries(conn, "msg_1")
    assert delivered.next_attempt_at == webhooks.BLOCKED
    assert await _claim(db, NOW + 2) == [sent_id]
    await _end(db, sent_id, NOW + 3)
    assert await _next_is_due(db)


async def test_ending_an_expired_lease_waits_for_the_queueing_transaction(
    postgres_database: Database,
) -> None:
    """A callback whose lease ran out is locked like one waiting; its late result waits for
    the queueing commit, then releases the new callback."""
    db = postgres_database
    account_id, sent_id = await _sent_callback(db, claimed=True)
    queued, release = asyncio.Event(), asyncio.Event()

    async def queue_next() -> None:
        async with db.transaction() as conn:
            await webhooks.enqueue_webhooks(
                conn, [(account_id, "msg_1", URL, '"delivered"')], NOW + 31
            )
            queued.set()
            await release.wait()

    queueing = asyncio.create_task(queue_next())
    await queued.wait()
    ending = asyncio.create_task(_end(db, sent_id, NOW + 31))
    await wait_for(lambda: _waiting_for_a_lock(db), timeout=10)  # the server says so
    assert not ending.done()
    release.set()
    await queueing
    await ending
    assert await _next_is_due(db)
