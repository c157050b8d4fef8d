"""The webhook outbox: per-message order, leases, attempt records, replay."""

from __future__ import annotations

from smsrelay.store import webhooks
from smsrelay.store.db import Database
from tests.store.factories import T0, an_account

NOW = T0 + 100
URL = "https://hooks.example/sms"


async def _claim(db: Database, now: float = NOW, limit: int = 100) -> list[int]:
    async with db.transaction() as conn:
        got = await webhooks.claim_webhooks(conn, now=now, lease_seconds=30, limit=limit)
    return [d.id for d in got]


async def _enqueue(db: Database, *message_ids: str, now: float = NOW) -> list[int]:
    async with db.transaction() as conn:
        acc = await an_account(conn)
        await webhooks.enqueue_webhooks(
            conn,
            [
                (acc.id, m, URL, f'{{"message_id": "{m}", "n": {i}}}')
                for i, m in enumerate(message_ids)
            ],
            now,
        )
        ids: list[int] = []
        for m in dict.fromkeys(message_ids):
            ids += [d.id for d in await webhooks.list_webhook_deliveries(conn, m)]
    return sorted(ids)


async def _attempt(
    db: Database, delivery_id: int, outcome: str, now: float = NOW, **kw: object
) -> None:
    async with db.transaction() as conn:
        record = webhooks.AttemptRecord(
            delivery_id,
            kw.pop("status_code", 200),  # type: ignore[arg-type]
            kw.pop("error", None),  # type: ignore[arg-type]
            12.5,
            outcome,  # type: ignore[arg-type]
            kw.pop("next_attempt_at", None),  # type: ignore[arg-type]
        )
        assert not kw, kw
        await webhooks.record_webhook_attempts(conn, [record], now)


async def test_one_delivery_per_message_at_a_time(database: Database) -> None:
    m1_first, m2_first, m1_second, m1_third = await _enqueue(
        database, "msg_1", "msg_2", "msg_1", "msg_1"
    )
    # the oldest pending delivery of each message only
    assert await _claim(database) == [m1_first, m2_first]
    assert await _claim(database) == []  # leased; later ones still wait behind them

    await _attempt(database, m2_first, "delivered")
    await _attempt(database, m1_first, "retry", status_code=503, next_attempt_at=NOW + 60)
    # m1_first is pending again with a later schedule: m1_second still waits behind it
    assert await _claim(database, now=NOW + 1) == []
    assert await _claim(database, now=NOW + 60) == [m1_first]
    await _attempt(database, m1_first, "delivered", now=NOW + 60)
    assert await _claim(database, now=NOW + 61) == [m1_second]
    await _attempt(database, m1_second, "dead", now=NOW + 61, status_code=410, error="gone")
    assert await _claim(database, now=NOW + 62) == [m1_third]


async def test_expired_lease_is_claimable_again(database: Database) -> None:
    [only] = await _enqueue(database, "msg_1")
    assert await _claim(database) == [only]
    assert await _claim(database, now=NOW + 29) == []
    assert await _claim(database, now=NOW + 30) == [only]


async def test_a_leased_delivery_leaves_the_due_range_until_its_lease_ends(
    database: Database,
) -> None:
    [only] = await _enqueue(database, "msg_1")
    assert await _claim(database) == [only]
    async with database.read() as conn:
        [delivery] = await webhooks.list_webhook_deliveries(conn, "msg_1")
    assert (delivery.next_attempt_at, delivery.state) == (NOW + 30, "pending")


async def test_claim_limit_and_order(database: Database) -> None:
    ids = await _enqueue(database, *(f"msg_{i}" for i in range(5)))
    assert await _claim(database, limit=2) == ids[:2]
    assert await _claim(database, limit=0) == []
    assert await _claim(database) == ids[2:]


async def test_attempts_are_recorded(database: Database) -> None:
    [d] = await _enqueue(database, "msg_1")
    await _claim(database)
    await _attempt(
        database, d, "retry", status_code=None, error="connect timeout", next_attempt_at=NOW + 10
    )
    await _claim(database, now=NOW + 10)
    await _attempt(database, d, "delivered", now=NOW + 11)
    async with database.read() as conn:
        [delivery] = await webhooks.list_webhook_deliveries(conn, "msg_1")
        attempts = await webhooks.list_webhook_attempts(conn, d)
    assert (delivery.state, delivery.attempts, delivery.delivered_at) == ("delivered", 2, NOW + 11)
    assert (delivery.last_status_code, delivery.last_error) == (200, None)
    assert delivery.next_attempt_at == NOW + 11  # the last attempt, not the lease's end
    assert [(a.at, a.status_code, a.error, a.duration_ms) for a in attempts] == [
        (NOW, None, "connect timeout", 12.5),
        (NOW + 11, 200, None, 12.5),
    ]
    assert await _claim(database, now=NOW + 999) == []


async def test_replay_copies_finished_deliveries(database: Database) -> None:
    delivered, dead, pending = await _enqueue(database, "msg_1", "msg_2", "msg_3")
    await _claim(database)
    await _attempt(database, delivered, "delivered")
    await _attempt(database, dead, "dead", status_code=500)
    await _attempt(database, pending, "retry", next_attempt_at=NOW + 50)
    async with database.transaction() as conn:
        assert await webhooks.replay_webhooks(conn, message_id="msg_1", now=NOW + 5) == 1
        assert await webhooks.replay_webhooks(conn, since=NOW + 1, now=NOW + 5) == 0
        assert await webhooks.replay_webhooks(conn, until=NOW + 1, now=NOW + 6) == 2
        copies = await webhooks.list_webhook_deliveries(conn, "msg_2")
        originals = await webhooks.list_webhook_deliveries(conn, "msg_1")
    assert [(d.state, d.attempts) for d in copies] == [("dead", 1), ("pending", 0)]
    assert copies[1].payload == copies[0].payload and copies[1].next_attempt_at == NOW + 6
    assert [d.state for d in originals] == ["delivered", "pending", "pending"]
    # msg_1 has two pending copies: still one at a time
    assert sorted(await _claim(database, now=NOW + 10)) == [originals[1].id, copies[1].id]


async def test_a_returning_host_gets_its_backlog_due_at_once(database: Database) -> None:
    backing_off, deferred, leased, behind, elsewhere = await _enqueue(
        database, "msg_1", "msg_2", "msg_3", "msg_1", "msg_4"
    )
    async with database.transaction() as conn:
        await conn.execute(
            webhooks.d.update()
            .where(webhooks.d.c.id == elsewhere)
            .values(url="https://other.example/sms")
        )
    await _claim(database)
    await _attempt(database, backing_off, "retry", status_code=503, next_attempt_at=NOW + 3600)
    async with database.transaction() as conn:
        await webhooks.defer_webhooks(conn, [deferred], until=NOW + 300)
        await webhooks.defer_webhooks(conn, [elsewhere], until=NOW + 300)
        assert await webhooks.release_backlog(conn, [URL], NOW + 1) == 2
    # the backlog of URL is due now; msg_1's second callback still waits behind its first,
    # the leased one stays with its holder, another host's delivery keeps its time
    assert sorted(await _claim(database, now=NOW + 1)) == [backing_off, deferred]
    assert leased not in await _claim(database, now=NOW + 2)
    await _attempt(database, backing_off, "delivered", now=NOW + 3)
    assert await _claim(database, now=NOW + 3) == [behind]
    async with database.read() as conn:
        [other] = await webhooks.list_webhook_deliveries(conn, "msg_4")
    assert other.id == elsewhere and other.next_attempt_at == NOW + 300


async def test_a_down_host_keeps_one_delivery_for_its_next_probe(database: Database) -> None:
    probed, first, second = await _enqueue(database, "msg_1", "msg_2", "msg_3")
    await _claim(database)
    async with database.transaction() as conn:
        await webhooks.defer_webhooks(conn, [second], until=NOW + 300)
        await webhooks.defer_webhooks(conn, [first], until=NOW + 200)
    await _attempt(database, probed, "retry", status_code=None, next_attempt_at=NOW + 60)
    async with database.transaction() as conn:
        await webhooks.schedule_probe(conn, URL, NOW + 5, not_id=probed)
    assert await _claim(database, now=NOW + 5) == [first]  # the one due soonest
    async with database.read() as conn:
        [failed] = await webhooks.list_webhook_deliveries(conn, "msg_1")
        [waiting] = await webhooks.list_webhook_deliveries(conn, "msg_3")
    assert failed.next_attempt_at == NOW + 60  # its own backoff
    assert waiting.next_attempt_at == NOW + 300
