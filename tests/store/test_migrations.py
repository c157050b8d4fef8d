"""Alembic head matches schema.py on both databases, and downgrades to nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from smsrelay.store.db import (
    Database,
    current_revision,
    downgrade,
    head_revision,
    sqlite_url,
    upgrade,
)
from smsrelay.store.schema import metadata
from tests.support.database import BACKENDS, empty_postgres_database

PARTIAL_INDEXES = (
    "ix_messages_due",
    "ix_messages_waiting_not_before",
    "ix_messages_waiting_expires_at",
)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "fresh")
    else:
        with empty_postgres_database("migrations") as url:
            yield url


async def _diff(db: Database) -> list[object]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        )


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def _index_sql(db: Database, name: str) -> str:
    query = (
        "SELECT sql FROM sqlite_master WHERE name = :n"
        if db.dialect == "sqlite"
        else "SELECT indexdef FROM pg_indexes WHERE indexname = :n"
    )
    async with db.engine.connect() as conn:
        return str(await conn.scalar(text(query), {"n": name}))


async def test_upgrade_matches_schema_and_downgrade_empties(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    upgrade(empty_url)  # idempotent: a second run is a no-op
    assert current_revision(empty_url) == head_revision() == "0022"
    db = await Database.open(empty_url)
    try:
        assert await _diff(db) == []
        assert await _tables(db) == set(metadata.tables) | {"alembic_version"}
        for name in PARTIAL_INDEXES:  # compare_metadata does not look at WHERE clauses
            sql = await _index_sql(db, name)
            assert "WHERE" in sql and "'queued'" in sql and "'scheduled'" in sql, sql
        sql = await _index_sql(db, "ix_webhook_deliveries_pending_message")
        assert "WHERE" in sql and "'pending'" in sql, sql

        downgrade(empty_url)
        assert current_revision(empty_url) is None
        assert await _tables(db) <= {"alembic_version"}
    finally:
        await db.close()
