"""Measured delivery per connector and destination country, one row per minute.

The engine adds a turn's counts with one upsert per (connector, country, minute) it touched
(:func:`add_counts`, in the turn's transaction), so the write costs a statement or two per
turn, not one per message; the adaptive strategy, the admin API and the CLI read a window of
minutes summed (:func:`read_window`); housekeeping deletes minutes no window reads any more
(:func:`prune`). The upsert adds to the row (``SET n = n + excluded.n``), so the processes of
one gateway sharing the database add up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Insert, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.scoring import LATENCY_BUCKETS, ConnectorStats
from smsrelay.store import hot
from smsrelay.store.schema import LATENCY_COLUMNS, connector_stats

__all__ = ["BUCKET_SECONDS", "Counts", "add_counts", "bucket_of", "prune", "read_window"]

assert len(LATENCY_COLUMNS) == LATENCY_BUCKETS, "schema and scoring disagree on latency buckets"

BUCKET_SECONDS = 60
_COUNTERS = ("submitted", "submit_errors", "delivered", "failed", "cost", *LATENCY_COLUMNS)


def bucket_of(now: float) -> int:
    """The minute ``now`` falls in (its start, unix seconds)."""
    return int(now // BUCKET_SECONDS) * BUCKET_SECONDS


@dataclass(slots=True)
class Counts:
    """What one turn adds to one (connector, country, minute) row."""

    submitted: int = 0
    submit_errors: int = 0
    delivered: int = 0
    failed: int = 0
    cost: float = 0.0
    latency: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)

    def row(self, connector: str, country: str, bucket: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "connector": connector,
            "country": country,
            "bucket": bucket,
            "submitted": self.submitted,
            "submit_errors": self.submit_errors,
            "delivered": self.delivered,
            "failed": self.failed,
            "cost": self.cost,
        }
        row.update(zip(LATENCY_COLUMNS, self.latency, strict=True))
        return row


@cache
def _upsert(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT (connector, country, bucket) DO UPDATE SET n = n + excluded.n``
    for every counter, built once per database."""
    t = connector_stats
    insert = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
    return insert.on_conflict_do_update(
        index_elements=[t.c.connector, t.c.country, t.c.bucket],
        set_={name: t.c[name] + insert.excluded[name] for name in _COUNTERS},
    )


async def add_counts(conn: AsyncConnection, counts: Mapping[tuple[str, str, int], Counts]) -> None:
    """Add ``counts`` (by connector, country, minute) to their rows, in the caller's
    transaction: one statement per row (a turn has a few)."""
    if not counts:
        return
    rows = [c.row(connector, country, bucket) for (connector, country, bucket), c in counts.items()]
    rows.sort(key=lambda r: (r["connector"], r["country"], r["bucket"]))  # one lock order
    statement = _upsert(conn.dialect.name)
    for row in rows:  # a turn touches one or two rows; asyncpg's executemany costs more
        await hot.execute(conn, statement, row)


async def read_window(
    conn: AsyncConnection, since: float, *, connector: str | None = None
) -> dict[str, dict[str, ConnectorStats]]:
    """Each connector's and country's counts from the minute holding ``since`` on, summed:
    connector → country (``""``: unknown) → stats."""
    t = connector_stats
    query = (
        select(t.c.connector, t.c.country, *(func.sum(t.c[name]).label(name) for name in _COUNTERS))
        .where(t.c.bucket >= bucket_of(since))
        .group_by(t.c.connector, t.c.country)
    )
    if connector is not None:
        query = query.where(t.c.connector == connector)
    found: dict[str, dict[str, ConnectorStats]] = {}
    for row in await conn.execute(query):
        found.setdefault(row.connector, {})[row.country] = ConnectorStats(
            submitted=int(row.submitted or 0),
            submit_errors=int(row.submit_errors or 0),
            delivered=int(row.delivered or 0),
            failed=int(row.failed or 0),
            latency=tuple(int(getattr(row, name) or 0) for name in LATENCY_COLUMNS),
            cost=float(row.cost or 0.0),
        )
    return found


async def prune(conn: AsyncConnection, before: float) -> int:
    """Delete the minutes that ended before ``before``; how many rows went."""
    t = connector_stats
    result = await conn.execute(delete(t).where(t.c.bucket < bucket_of(before)))
    return int(result.rowcount or 0)
