"""The queue: claim order and due-ness, exclusive claims under concurrency, leases, expiry,
submit/retry/fail outcomes, receipt timeouts, counters."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from smsrelay.domain.messages import Message
from smsrelay.domain.states import MessageStatus as S
from smsrelay.store import messages, queue, receipts
from smsrelay.store.db import Database
from smsrelay.store.queue import SubmittedItem
from smsrelay.store.schema import messages as messages_table
from tests.store.factories import T0, a_message, an_account

NOW = T0 + 100


async def _seed(db: Database, *specs: dict[str, object]) -> list[Message]:
    async with db.transaction() as conn:
        acc = await an_account(conn)
        ms = [a_message(acc.id, T0 + i, **spec) for i, spec in enumerate(specs)]
        await messages.insert_messages(conn, ms, T0)
    return ms


async def _row(db: Database, message_id: str) -> object:
    async with db.read() as conn:
        return (
            await conn.execute(select(messages_table).where(messages_table.c.id == message_id))
        ).one()


async def _claim(
    db: Database, now: float = NOW, limit: int = 100, worker: str = "w1"
) -> list[Message]:
    async with db.transaction() as conn:
        return await queue.claim(conn, worker=worker, now=now, lease_seconds=30, limit=limit)


async def test_claim_orders_by_priority_then_id(database: Database) -> None:
    ms = await _seed(
        database,
        {"priority": 2},
        {"priority": 8},
        {"priority": 5},
        {"priority": 8},
        {"priority": 2},
    )
    first = await _claim(database, limit=3)
    assert [m.id for m in first] == [ms[1].id, ms[3].id, ms[2].id]
    assert all(m.status is S.SENDING and m.attempts == 1 for m in first)
    rest = await _claim(database)
    assert [m.id for m in rest] == [ms[0].id, ms[4].id]
    assert await _claim(database) == []
    row = await _row(database, ms[1].id)
    assert (row.worker, row.lease_until) == ("w1", NOW + 30)  # type: ignore[attr-defined]
    async with database.read() as conn:
        assert [e.status for e in await messages.get_events(conn, ms[1].id)] == [
            S.QUEUED,
            S.SENDING,
        ]


async def test_claim_skips_not_yet_due_and_expired(database: Database) -> None:
    ms = await _seed(
        database,
        {},  # due
        {"status": S.SCHEDULED, "not_before": NOW},  # due exactly now
        {"status": S.SCHEDULED, "not_before": NOW + 1},  # not yet
        {"not_before": NOW + 60},  # retry later
        {"expires_at": NOW},  # validity passed
        {"expires_at": NOW + 1},  # still valid
    )
    assert {m.id for m in await _claim(database)} == {ms[0].id, ms[1].id, ms[5].id}
    assert {m.id for m in await _claim(database, now=NOW + 60)} == {ms[2].id, ms[3].id}


async def test_claim_with_zero_limit(database: Database) -> None:
    await _seed(database, {})
    assert await _claim(database, limit=0) == []


async def test_concurrent_claimers_never_share_a_message(database: Database) -> None:
    ms = await _seed(database, *({"priority": i % 3} for i in range(60)))

    async def worker(name: str) -> list[str]:
        got: list[str] = []
        while batch := await _claim(database, limit=7, worker=name):
            assert len(batch) <= 7
            got += [m.id for m in batch]
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)) == len(ms)


async def test_open_claims_on_postgres_skip_each_others_rows(postgres_database: Database) -> None:
    db = postgres_database
    ms = await _seed(db, *({} for _ in range(12)))
    async with db.transaction() as a:
        got_a = await queue.claim(a, worker="a", now=NOW, lease_seconds=30, limit=5)
        # a second transaction while the first still holds its row locks: SKIP LOCKED means
        # it neither waits nor takes the same rows
        async with db.transaction() as b:
            got_b = await asyncio.wait_for(
                queue.claim(b, worker="b", now=NOW, lease_seconds=30, limit=5), 5
            )
    ids_a, ids_b = {m.id for m in got_a}, {m.id for m in got_b}
    assert len(ids_a) == len(ids_b) == 5 and not ids_a & ids_b
    assert ids_a == {m.id for m in ms[:5]}


async def test_expired_leases_return_to_the_queue(database: Database) -> None:
    ms = await _seed(database, {}, {})
    await _claim(database, limit=1)  # lease until NOW + 30
    await _claim(database, now=NOW + 20, limit=1)  # lease until NOW + 50
    async with database.transaction() as conn:
        assert await queue.reclaim_expired_leases(conn, NOW + 30) == 0  # not yet (strict)
        assert await queue.reclaim_expired_leases(conn, NOW + 31) == 1
    row = await _row(database, ms[0].id)
    assert (row.status, row.lease_until, row.worker) == ("queued", None, None)  # type: ignore[attr-defined]
    async with database.read() as conn:
        events = await messages.get_events(conn, ms[0].id)
    assert [(e.status, e.detail) for e in events][-1] == (S.QUEUED, "lease expired")
    again = await _claim(database, now=NOW + 31)
    assert [(m.id, m.attempts) for m in again] == [(ms[0].id, 2)]


async def test_expire_overdue(database: Database) -> None:
    ms = await _seed(
        database,
        {"expires_at": NOW},
        {"status": S.SCHEDULED, "not_before": NOW + 999, "expires_at": NOW - 1},
        {"expires_at": NOW + 1},
        {},
    )
    async with database.transaction() as conn:
        expired = await queue.expire_overdue(conn, NOW)
        assert await queue.expire_overdue(conn, NOW) == []
    assert {m.id for m in expired} == {ms[0].id, ms[1].id}
    assert all(m.status is S.EXPIRED and m.error_code == "validity_expired" for m in expired)
    assert (await _row(database, ms[0].id)).final_at == NOW  # type: ignore[attr-defined]


async def test_record_submitted_parts_and_unmatched_receipts(database: Database) -> None:
    ms = await _seed(database, {"segments": 2}, {})
    await _claim(database)
    async with database.transaction() as conn:
        sent = await queue.record_submitted(
            conn,
            ms[0].id,
            connector="smpp-a",
            carrier_ids=["c1", "c2"],
            now=NOW + 1,
            dlr_deadline=NOW + 3600,
        )
        assert sent is not None and sent.status is S.SENT
        assert (sent.connector, sent.carrier_ids) == ("smpp-a", ("c1", "c2"))
        # a second report of the same submit (e.g. a stale worker) does nothing
        assert (
            await queue.record_submitted(
                conn,
                ms[0].id,
                connector="smpp-a",
                carrier_ids=["zz"],
                now=NOW + 2,
                dlr_deadline=NOW + 3600,
            )
            is None
        )
        parts = await receipts.parts_of(conn, ms[0].id)
    assert [(p.seq, p.carrier_id, p.status) for p in parts] == [
        (1, "c1", "accepted"),
        (2, "c2", "accepted"),
    ]
    row = await _row(database, ms[0].id)
    assert (row.submitted_at, row.dlr_deadline, row.lease_until) == (  # type: ignore[attr-defined]
        NOW + 1,
        NOW + 3600,
        None,
    )
    async with database.read() as conn:
        assert (await messages.get_message(conn, ms[0].id)) == sent


async def test_record_submitted_many(database: Database) -> None:
    ms = await _seed(database, {}, {}, {}, {})
    await _claim(database, limit=3)  # ms[3] stays queued
    items = [
        SubmittedItem(ms[0].id, "a", ["x1"], NOW + 10),
        SubmittedItem(ms[1].id, "b", ["y1", "y2"], NOW + 20),
        SubmittedItem(ms[3].id, "a", ["z1"], NOW + 30),
    ]  # not sending: skipped
    async with database.transaction() as conn:
        done = await queue.record_submitted_many(conn, items, NOW)
        assert await queue.record_submitted_many(conn, [], NOW) == []
    assert [(m.id, m.connector, m.carrier_ids) for m in done] == [
        (ms[0].id, "a", ("x1",)),
        (ms[1].id, "b", ("y1", "y2")),
    ]
    assert (await _row(database, ms[1].id)).dlr_deadline == NOW + 20  # type: ignore[attr-defined]
    assert (await _row(database, ms[3].id)).status == "queued"  # type: ignore[attr-defined]


async def test_record_retry_and_failed(database: Database) -> None:
    ms = await _seed(database, {}, {}, {})
    await _claim(database, limit=2)
    async with database.transaction() as conn:
        retried = await queue.record_retry(
            conn,
            ms[0].id,
            error_code="carrier_throttled",
            detail="0x58",
            retry_at=NOW + 60,
            now=NOW + 1,
            connector="smpp-a",
        )
        assert retried is not None
        assert (retried.status, retried.not_before, retried.error_code, retried.connector) == (
            S.QUEUED,
            NOW + 60,
            "carrier_throttled",
            "smpp-a",
        )
        # only from sending: a queued message is not "retried"
        assert (
            await queue.record_retry(
                conn, ms[2].id, error_code="x", detail=None, retry_at=NOW, now=NOW
            )
            is None
        )
        failed = await queue.record_failed(
            conn, ms[1].id, error_code="carrier_rejected", detail="0x45", now=NOW + 2
        )
        assert failed is not None and failed.status is S.FAILED
        assert (
            await queue.record_failed(conn, ms[1].id, error_code="x", detail=None, now=NOW + 3)
            is None
        )  # already final
        no_route = await queue.record_failed(
            conn, ms[2].id, error_code="no_route", detail=None, now=NOW + 3
        )
        assert no_route is not None and no_route.status is S.FAILED
    row = await _row(database, ms[0].id)
    assert (row.lease_until, row.worker) == (None, None)  # type: ignore[attr-defined]
    assert await _claim(database, now=NOW + 59) == []
    assert [m.attempts for m in await _claim(database, now=NOW + 60)] == [2]


async def test_time_out_unconfirmed(database: Database) -> None:
    ms = await _seed(database, {}, {})
    await _claim(database)
    async with database.transaction() as conn:
        await queue.record_submitted(
            conn, ms[0].id, connector="a", carrier_ids=["c1"], now=NOW, dlr_deadline=NOW + 100
        )
        await queue.record_submitted(
            conn, ms[1].id, connector="a", carrier_ids=["c2"], now=NOW, dlr_deadline=NOW + 200
        )
        assert await queue.time_out_unconfirmed(conn, NOW + 99) == []
        late = await queue.time_out_unconfirmed(conn, NOW + 100)
        assert [(m.id, m.status, m.error_code, m.carrier_ids) for m in late] == [
            (ms[0].id, S.UNKNOWN, "dlr_timeout", ("c1",))
        ]
        # unknown is not final: a late receipt still settles it
        [settled] = await messages.change_status_many(
            conn, [messages.StatusChange(ms[0].id, S.DELIVERED)], NOW + 500
        )
        assert settled.status is S.DELIVERED and settled.error_code is None


async def test_next_due_at_and_counts(database: Database) -> None:
    async with database.read() as conn:
        assert await queue.next_due_at(conn, NOW) is None
        assert await queue.count_by_status(conn) == {}
    await _seed(
        database, {"status": S.SCHEDULED, "not_before": NOW + 50}, {"not_before": NOW + 10}, {}
    )
    async with database.read() as conn:
        assert await queue.next_due_at(conn, NOW) == T0 + 2
    await _claim(database)
    async with database.read() as conn:
        assert await queue.next_due_at(conn, NOW) == NOW + 10
        assert await queue.count_by_status(conn) == {"sending": 1, "queued": 1, "scheduled": 1}


async def test_extend_and_release_claims(database: Database) -> None:
    ms = await _seed(database, {}, {}, {})
    mine = await _claim(database, limit=2, worker="w1")
    theirs = await _claim(database, limit=1, worker="w2")
    ids = [m.id for m in mine]
    async with database.transaction() as conn:
        assert (
            await queue.extend_leases(
                conn, [*ids, theirs[0].id], worker="w1", lease_until=NOW + 300
            )
            == 2
        )
        assert await queue.reclaim_expired_leases(conn, NOW + 31) == 1  # w2's ran out
        assert (
            await queue.release_claims(conn, [ids[0], theirs[0].id], worker="w1", now=NOW + 40) == 1
        )
        assert await queue.release_claims(conn, [], worker="w1", now=NOW) == 0
    assert (await _row(database, ids[1])).lease_until == NOW + 300  # type: ignore[attr-defined]
    again = await _claim(database, now=NOW + 41)
    # released: attempt not counted; reclaimed: it was (it may have reached the carrier)
    assert sorted((m.id, m.attempts) for m in again) == sorted([(ids[0], 1), (theirs[0].id, 2)])
    assert {m.id for m in ms} == {*ids, theirs[0].id}
