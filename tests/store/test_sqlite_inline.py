"""SQLite on the loop's thread: a lock held by another process is waited for off the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import exc, text

from smsrelay.store import accounts
from smsrelay.store.db import Database

T0 = 1_700_000_000.0


def _hold_write_lock(path: str, seconds: float, locked: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        other.execute("COMMIT")
    finally:
        other.close()


async def test_a_write_waits_for_another_process_lock_without_blocking_the_loop(
    sqlite_database: Database,
) -> None:
    path = sqlite_database.url.split("///", 1)[1]
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, locked))
    holder.start()
    assert await asyncio.to_thread(locked.wait, 5)
    ticks = 0
    stop = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    async with sqlite_database.transaction() as conn:
        await accounts.create_account(conn, "after-the-lock", T0)
    waited = time.monotonic() - started
    stop.set()
    await ticker
    holder.join()
    assert waited >= 0.3  # it waited for the other connection's transaction
    assert ticks >= 10  # and the loop kept running meanwhile
    async with sqlite_database.read() as conn:
        assert await accounts.get_account_by_name(conn, "after-the-lock") is not None


async def test_a_committed_write_is_visible_to_another_connection(
    sqlite_database: Database,
) -> None:
    async with sqlite_database.transaction() as conn:
        await accounts.create_account(conn, "seen-elsewhere", T0)
    path = sqlite_database.url.split("///", 1)[1]
    other = sqlite3.connect(path)
    try:
        names = [row[0] for row in other.execute("SELECT name FROM accounts")]
    finally:
        other.close()
    assert "seen-elsewhere" in names


async def test_a_failed_statement_rolls_back_and_the_writer_stays_usable(
    sqlite_database: Database,
) -> None:
    with pytest.raises(exc.OperationalError, match="no_such_table"):
        async with sqlite_database.transaction() as conn:
            await conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
    async with sqlite_database.transaction() as conn:
        await accounts.create_account(conn, "still-fine", T0)
    async with sqlite_database.read() as conn:
        assert await accounts.get_account_by_name(conn, "still-fine") is not None


async def test_two_gateways_on_one_file_take_turns_without_blocking_their_loops(
    sqlite_database: Database,
) -> None:
    """Two Database objects on one file stand for two processes (each has its own lock)."""
    other = await Database.open(sqlite_database.url)
    try:
        async with sqlite_database.transaction() as conn:
            await accounts.create_account(conn, "first", T0)
            blocked = asyncio.create_task(_write(other, "second"))
            await asyncio.sleep(0.2)
            assert not blocked.done()  # the other writer waits for this transaction
        await asyncio.wait_for(blocked, 5)
        async with other.read() as conn:
            names = {a.name for a in await accounts.list_accounts(conn)}
        assert {"first", "second"} <= names
    finally:
        await other.close()


async def _write(database: Database, name: str) -> None:
    async with database.transaction() as conn:
        await accounts.create_account(conn, name, T0)
