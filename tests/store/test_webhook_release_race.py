"""On PostgreSQL, a message's next callback is released whichever of two concurrent
transactions commits first: the one that queues it or the one that ends the callback before
it. Neither order may leave it blocked for the ``release_blocked`` sweep."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from smsrelay.store import webhooks
from smsrelay.store.db import Database
from tests.store.factories import T0, an_account
from tests.support.servers import wait_for

NOW = T0 + 100
URL = "https://hooks.example/sms"


async def _sent_callback_claimed(db: Database) -> tuple[str, int]:
    async with db.transaction() as conn:
        account = await an_account(conn)
        await webhooks.enqueue_webhooks(conn, [(account.id, "msg_1", URL, '"sent"')], NOW)
        [claimed] = await webhooks.claim_webhooks(conn, now=NOW, lease_seconds=30, limit=10)
    return account.id, claimed.id


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


async def test_queued_first_then_the_earlier_one_ends(postgres_database: Database) -> None:
    """The queueing transaction locks the pending callback: the one that ends it waits, then
    its release sees the new callback."""
    db = postgres_database
    account_id, sent_id = await _sent_callback_claimed(db)
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

    async def end_sent() -> None:
        async with db.transaction() as conn:
            record = webhooks.AttemptRecord(sent_id, 200, None, 1.0, "delivered")
            await webhooks.record_webhook_attempts(conn, [record], NOW + 1)

    ending = asyncio.create_task(end_sent())
    await wait_for(lambda: _waiting_for_a_lock(db), timeout=10)  # the server says so
    assert not ending.done()
    release.set()
    await queueing
    await ending
    assert await _next_is_due(db)


async def test_the_earlier_one_ends_first_then_the_next_is_queued(
    postgres_database: Database,
) -> None:
    """The ending transaction has settled the callback but not committed: the queueing one
    waits for it, then sees nothing pending and queues the new callback due."""
    db = postgres_database
    account_id, sent_id = await _sent_callback_claimed(db)
    settled, release = asyncio.Event(), asyncio.Event()

    async def end_sent() -> None:
        async with db.transaction() as conn:
            record = webhooks.AttemptRecord(sent_id, 200, None, 1.0, "delivered")
            await webhooks.record_webhook_attempts(conn, [record], NOW + 1)
            settled.set()
            await release.wait()

    async def queue_next() -> None:
        async with db.transaction() as conn:
            await webhooks.enqueue_webhooks(
                conn, [(account_id, "msg_1", URL, '"delivered"')], NOW + 1
            )

    ending = asyncio.create_task(end_sent())
    await settled.wait()
    queueing = asyncio.create_task(queue_next())
    await wait_for(lambda: _waiting_for_a_lock(db), timeout=10)
    assert not queueing.done()
    release.set()
    await ending
    await queueing
    assert await _next_is_due(db)
