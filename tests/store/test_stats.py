"""Measured delivery in the database: counts add up per minute, windows sum them, old minutes
go, and the hot upsert writes what SQLAlchemy writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from smsrelay.store import stats
from smsrelay.store.db import Database
from smsrelay.store.schema import connector_stats

T0 = 1_800_000_000.0  # a whole minute


def counts(**values: Any) -> stats.Counts:
    latency = values.pop("latency", {})
    c = stats.Counts(**values)
    for bucket, n in latency.items():
        c.latency[bucket] += n
    return c


async def test_counts_add_up_per_minute_and_a_window_sums_them(database: Database) -> None:
    async with database.transaction() as conn:
        await stats.add_counts(
            conn,
            {
                ("a", "DE", stats.bucket_of(T0)): counts(submitted=3, cost=0.3, latency={2: 1}),
                ("a", "FR", stats.bucket_of(T0)): counts(submit_errors=1),
            },
        )
    async with database.transaction() as conn:  # a second turn of the same minute adds
        await stats.add_counts(
            conn,
            {
                ("a", "DE", stats.bucket_of(T0 + 30)): counts(
                    delivered=2, failed=1, latency={2: 2, 15: 1}
                ),
                ("b", "", stats.bucket_of(T0 + 120)): counts(submitted=1, delivered=1),
            },
        )
    async with database.read() as conn:
        rows = (await conn.execute(select(connector_stats))).all()
        window = await stats.read_window(conn, T0 - 60)
        later = await stats.read_window(conn, T0 + 90)
        only_b = await stats.read_window(conn, T0 - 60, connector="b")
    assert len(rows) == 3
    de = window["a"]["DE"]
    assert (de.submitted, de.delivered, de.failed, de.submit_errors) == (3, 2, 1, 0)
    assert de.cost == 0.3 and de.latency[2] == 3 and de.latency[15] == 1
    assert de.delivery_rate == 2 / 3
    assert window["a"]["FR"].error_rate == 1.0
    assert window["b"][""].delivered == 1
    assert set(later) == {"b"}  # the window starts at the minute holding its start
    assert set(only_b) == {"b"}


async def test_old_minutes_are_pruned(database: Database) -> None:
    async with database.transaction() as conn:
        await stats.add_counts(
            conn,
            {("a", "DE", stats.bucket_of(T0 + 60 * n)): counts(submitted=1) for n in range(5)},
        )
        gone = await stats.prune(conn, T0 + 120)
    async with database.read() as conn:
        left = await stats.read_window(conn, T0 - 600)
    assert gone == 2 and left["a"]["DE"].submitted == 3


async def test_the_hot_upsert_writes_what_sqlalchemy_writes(database: Database) -> None:
    """The same two upserts through the executor and through SQLAlchemy, on the same data."""
    batch = {
        ("a", "DE", stats.bucket_of(T0)): counts(submitted=2, cost=0.25, latency={0: 1}),
        ("b", "US", stats.bucket_of(T0)): counts(failed=1, latency={15: 1}),
    }
    upsert = stats._upsert(database.dialect)
    results = []
    for hot in (True, False):
        async with database.transaction() as conn:
            await conn.execute(connector_stats.delete())
            for _ in range(2):
                if hot:
                    await stats.add_counts(conn, batch)
                else:
                    await conn.execute(upsert, [c.row(*key) for key, c in sorted(batch.items())])
            results.append(
                [
                    tuple(r)
                    for r in await conn.execute(
                        select(connector_stats).order_by(connector_stats.c.connector)
                    )
                ]
            )
    assert results[0] == results[1]
    assert results[0][0][3] == 4  # submitted, twice 2
