"""Database fixtures: a migrated, empty ``Database`` on SQLite and on PostgreSQL.

Migrations run once per test session and backend:

- SQLite: a template file is migrated once; each test gets a copy in its ``tmp_path``.
- PostgreSQL: one database ``smsrelay_test_<random>`` is created (through the ``postgres``
  maintenance database) and migrated once; each test starts by deleting every row, which takes
  a few milliseconds where CREATE/DROP DATABASE per test costs a checkpoint (~0.25 s). The
  database is dropped when the session ends.

PostgreSQL is part of the test environment (DESIGN.md): when it is unreachable the PostgreSQL
tests fail, they are not skipped. ``SMSRELAY_TEST_POSTGRES_URL`` points elsewhere (it must name
a database the user may connect to in order to create others).

Fixtures: ``database`` (parametrised over both backends), ``sqlite_database``,
``postgres_database``, and ``sqlite_database_url`` / ``postgres_database_url`` for suites that
hand a URL to the application instead of a ``Database``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from smsrelay.store.db import Database, sqlite_url, upgrade
from smsrelay.store.schema import metadata

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "SMSRELAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

T = TypeVar("T")


def _blocking(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even while an event loop is running.

    Session fixtures are first requested from inside async tests; ``asyncio.run`` would refuse
    to nest, so it runs on a thread of its own.
    """

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        raise RuntimeError(
            f"PostgreSQL is required for the store tests and is unreachable at "
            f"{POSTGRES_ADMIN_URL} ({error}); start it or set SMSRELAY_TEST_POSTGRES_URL"
        ) from error
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def empty_postgres_database(label: str = "test") -> Iterator[str]:
    """Create an empty PostgreSQL database for the block and drop it afterwards; its URL."""
    name = f"smsrelay_{label}_{uuid.uuid4().hex[:12]}"
    _blocking(lambda: _admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        _blocking(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    upgrade(sqlite_url(folder))
    return folder / "smsrelay.db"


@pytest.fixture(scope="session")
def _postgres_session_url() -> Iterator[str]:
    with empty_postgres_database("test") as url:
        upgrade(url)
        yield url


async def _emptied(db: Database) -> Database:
    """Delete every row (children first); the schema and alembic_version stay."""
    async with db.transaction() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
    return db


def _sqlite_copy(template: Path, tmp_path: Path) -> str:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(template, folder / "smsrelay.db")
    return sqlite_url(folder)


@pytest.fixture
def sqlite_database_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """URL of a migrated, empty SQLite database of this test's own."""
    return _sqlite_copy(_sqlite_template, tmp_path)


@pytest_asyncio.fixture
async def postgres_database_url(_postgres_session_url: str) -> str:
    """URL of the session's migrated PostgreSQL database, emptied for this test."""
    db = await Database.open(_postgres_session_url)
    try:
        await _emptied(db)
    finally:
        await db.close()
    return _postgres_session_url


async def _open(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Database:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        return await Database.open(_sqlite_copy(template, tmp_path))
    url: str = request.getfixturevalue("_postgres_session_url")
    return await _emptied(await Database.open(url))


@pytest_asyncio.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty ``Database``, once per backend."""
    db = await _open(request, request.param, tmp_path)
    try:
        yield db
    finally:
        await db.close()


@pytest_asyncio.fixture
async def sqlite_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    """A migrated, empty SQLite ``Database`` (the embedded default)."""
    db = await _open(request, "sqlite", tmp_path)
    try:
        yield db
    finally:
        await db.close()


@pytest_asyncio.fixture
async def postgres_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    """A migrated, empty PostgreSQL ``Database``."""
    db = await _open(request, "postgresql", tmp_path)
    try:
        yield db
    finally:
        await db.close()
