"""Database: URLs, SQLite pragmas and write serialisation, transactions, read-only reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.store import accounts
from smsrelay.store.db import Database, normalize_url, sqlite_url
from tests.store.factories import T0


def test_sqlite_url_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_url(Path("data")) == f"sqlite+aiosqlite:///{tmp_path}/data/smsrelay.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u:p%40ss@h:5433/db", "postgresql+asyncpg://u:p%40ss@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////srv/x.db", "sqlite+aiosqlite:////srv/x.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


async def test_unsupported_urls_are_refused() -> None:
    with pytest.raises(SmsError) as info:
        await Database.open("mysql://u@h/db")
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    with pytest.raises(SmsError):
        await Database.open("sqlite+aiosqlite://")  # in-memory: readers could not see it


async def test_open_creates_the_data_folder(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    db = await Database.open(sqlite_url(folder))
    try:
        assert folder.is_dir()
        assert db.dialect == "sqlite"
    finally:
        await db.close()


async def test_sqlite_pragmas(sqlite_database: Database) -> None:
    async with sqlite_database.transaction() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await conn.scalar(text("PRAGMA synchronous")) == 2  # FULL
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        # the writer never waits on the loop's thread (see test_sqlite_inline.py)
        assert await conn.scalar(text("PRAGMA busy_timeout")) == 0
    async with sqlite_database.read() as conn:
        assert await conn.scalar(text("PRAGMA busy_timeout")) >= 1000


async def test_transaction_commits_or_rolls_back(database: Database) -> None:
    async with database.transaction() as conn:
        await accounts.create_account(conn, "kept", T0)
    with pytest.raises(RuntimeError):
        async with database.transaction() as conn:
            await accounts.create_account(conn, "dropped", T0)
            raise RuntimeError("boom")
    async with database.read() as conn:
        assert [a.name for a in await accounts.list_accounts(conn)] == ["kept"]


async def test_read_refuses_writes(database: Database) -> None:
    with pytest.raises(exc.DBAPIError):
        async with database.read() as conn:
            await accounts.create_account(conn, "nope", T0)


async def test_reads_do_not_wait_for_an_open_write(database: Database) -> None:
    async with database.transaction() as conn:
        await accounts.create_account(conn, "uncommitted", T0)
        async with asyncio.timeout(5), database.read() as reader:
            assert await accounts.list_accounts(reader) == []


async def test_concurrent_writers_are_serialised_not_locked_out(database: Database) -> None:
    async def write(i: int) -> None:
        async with database.transaction() as conn:
            await accounts.create_account(conn, f"acct-{i}", T0 + i)
            await asyncio.sleep(0)  # let the others pile up on the lock

    await asyncio.gather(*(write(i) for i in range(25)))
    async with database.read() as conn:
        assert len(await accounts.list_accounts(conn)) == 25
