"""The fraud guard's rows on both databases: bucketed counts (upserts), blocks, lifts,
refusals, and the purge of old buckets."""

from __future__ import annotations

from smsrelay.domain.fraud import Traffic
from smsrelay.store import fraud
from smsrelay.store.db import Database
from tests.store.factories import T0, an_account

MINUTE_START = float(int(T0 // 3600) * 3600)  # an hour boundary: minute and hour buckets meet


async def test_counts_add_up_in_minute_and_hour_buckets(database: Database) -> None:
    keys = [("prefix", "+232760"), ("country", "SL")]
    async with database.transaction() as conn:
        acc = await an_account(conn)
        for offset in (0, 10, 59, 61):  # three in the first minute, one in the second
            await fraud.count_traffic(conn, acc.id, keys, MINUTE_START + offset, sends=1)
        await fraud.count_traffic(conn, acc.id, keys[:1], MINUTE_START + 5, approvals=1)
    async with database.read() as conn:
        first, start = await fraud.traffic_between(
            conn, acc.id, "prefix", "+232760", 60, MINUTE_START, MINUTE_START + 60
        )
        both, _ = await fraud.traffic_between(
            conn, acc.id, "prefix", "+232760", 60, MINUTE_START, MINUTE_START + 120
        )
        hour, _ = await fraud.traffic_between(
            conn, acc.id, "prefix", "+232760", 3600, MINUTE_START, MINUTE_START + 3600
        )
        country, _ = await fraud.traffic_between(
            conn, acc.id, "country", "SL", 3600, MINUTE_START, MINUTE_START + 3600
        )
        other, none = await fraud.traffic_between(
            conn, acc.id, "prefix", "+232761", 60, 0, MINUTE_START + 3600
        )
    assert first == Traffic(3, 1) and start == MINUTE_START
    assert both == Traffic(4, 1) and hour == Traffic(4, 1) and country == Traffic(4, 0)
    assert other == Traffic(0, 0) and none is None

    async with database.transaction() as conn:
        purged = await fraud.purge_traffic(
            conn, MINUTE_START + 7200, keep_minutes=3600, keep_hours=86400
        )
    assert purged == 4  # the two minute buckets of each key; the hour buckets stay


async def test_blocks_lifts_and_refusals(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        other = await an_account(conn)
        block = await fraud.add_block(conn, acc.id, "prefix", "+232760", "why", T0, T0 + 60)
        await fraud.add_block(conn, other.id, "prefix", "+232760", "why", T0, T0 + 60)
        await fraud.add_block(conn, acc.id, "country", "SL", "old", T0 - 120, T0 - 60)
        for _ in range(2):
            await fraud.count_refusal(conn, acc.id, "geo_permission", T0)
        await fraud.count_refusal(conn, acc.id, "destination_blocked", T0, 40)
    assert block.until == T0 + 60 and block.lifted_at is None
    async with database.read() as conn:
        active = await fraud.active_blocks(
            conn, acc.id, [("prefix", "+232760"), ("country", "SL")], T0
        )
        assert [(b.scope, b.key) for b in active] == [("prefix", "+232760")]  # SL has ended
        assert len(await fraud.list_blocks(conn, T0)) == 2
        assert len(await fraud.list_blocks(conn, T0, account_id=other.id)) == 1
        assert await fraud.refusal_counts(conn, account_id=acc.id) == {
            (acc.id, "geo_permission"): 2,
            (acc.id, "destination_blocked"): 40,
        }
    async with database.transaction() as conn:
        assert await fraud.lift_blocks(conn, "+232760", T0 + 1, account_id=acc.id) == 1
        assert await fraud.lift_blocks(conn, "+232760", T0 + 1, account_id=acc.id) == 0
    async with database.read() as conn:
        assert await fraud.active_blocks(conn, acc.id, [("prefix", "+232760")], T0 + 2) == []
        lifted = await fraud.lifted_since(conn, acc.id, [("prefix", "+232760")], T0)
        assert lifted == {("prefix", "+232760"): T0 + 1}
        assert await fraud.lifted_since(conn, acc.id, [("prefix", "+232760")], T0 + 5) == {}
        assert len(await fraud.list_blocks(conn, T0 + 2)) == 1  # the other account's
