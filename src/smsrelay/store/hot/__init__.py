"""The one way the store runs its hot statements: on the database driver directly.

The engine runs a handful of statements for every batch of messages (claims, submit results,
receipts, the webhook outbox) and INSERTs every message's rows. They are written once with
SQLAlchemy Core and built once, with bound values; SQLAlchemy would still do per execution what
only needs doing once (derive the cache key, render each expanding ``IN`` list, build the
parameter dictionary and result metadata, cross into a greenlet and back, and on PostgreSQL go
through its DBAPI adapter and its own prepared-statement cache). So a statement is compiled once
per database (``_plan.py``, through SQLAlchemy's public compilation API) and run on the driver
connection of the caller's transaction, by the executor :func:`install` chose for the database
when it opened:

- SQLite (``sqlite_inline``): ``sqlite3``'s ``execute``/``executemany`` on the loop's thread;
  one compiled form per length of the ``IN`` lists (padded to powers of two: :func:`padded`).
- PostgreSQL (asyncpg): ``fetch``/``execute``/``executemany`` on the asyncpg connection, whose
  statement cache prepares each statement once per connection; ``IN`` lists become
  ``= ANY($n)`` arrays, so one statement serves every length, and many-row INSERTs send each
  column as one array (``INSERT ... SELECT unnest($1), ...``): one execution however many.
- Anything else: SQLAlchemy itself (also the reference the parity tests compare with).

Only for statements built once (at module level or under ``functools.cache``): plans are
kept per statement object, for the life of the process.

Rows come back as named tuples that also offer ``_mapping``, like SQLAlchemy's, and a driver
error is raised as the SQLAlchemy exception the same statement raises through SQLAlchemy
(``IntegrityError`` for a duplicate key). tests/store/test_hot.py runs every hot statement both
ways on both databases and compares.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Table
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.base import Executable

from smsrelay.store.hot._drivers import (
    Executor,
    PostgresExecutor,
    SqlalchemyExecutor,
    SqliteExecutor,
    observers,
)

__all__ = [
    "Executor",
    "execute",
    "execute_many",
    "executor_of",
    "insert_rows",
    "install",
    "observed",
    "padded",
    "rows",
]

T = TypeVar("T")

_SQLALCHEMY = SqlalchemyExecutor()
_chosen: WeakKeyDictionary[Engine, Executor] = WeakKeyDictionary()


def install(engine: AsyncEngine) -> Executor:
    """Choose the executor of ``engine``'s database (``Database.open`` calls this once)."""
    dialect = engine.sync_engine.dialect
    executor: Executor
    if dialect.name == "sqlite" and dialect.driver == "aiosqlite":
        executor = SqliteExecutor(dialect)
    elif dialect.name == "postgresql" and dialect.driver == "asyncpg":
        executor = PostgresExecutor(dialect)
    else:
        executor = _SQLALCHEMY
    _chosen[engine.sync_engine] = executor
    return executor


def executor_of(conn: AsyncConnection) -> Executor:
    """The executor chosen for ``conn``'s database (SQLAlchemy's own if none was)."""
    return _chosen.get(conn.sync_engine, _SQLALCHEMY)


async def rows(
    conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None = None
) -> list[Any]:
    """The rows of ``statement`` (a SELECT, or DML with RETURNING)."""
    return await executor_of(conn).rows(conn, statement, params or {})


async def execute(
    conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None = None
) -> int:
    """Run ``statement`` (DML without RETURNING); the number of rows it changed."""
    return await executor_of(conn).execute(conn, statement, params or {})


async def execute_many(
    conn: AsyncConnection, statement: Executable, params: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per mapping of ``params`` (the same keys in each)."""
    if params:
        await executor_of(conn).execute_many(conn, statement, params)


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (mappings with the same keys, column names of ``table``) in one call.

    Columns left out take their server defaults, as with ``table.insert()``; values go
    through their column types' conversions as they would through SQLAlchemy.
    """
    if rows:
        await executor_of(conn).insert_rows(conn, table, rows)


@contextlib.contextmanager
def observed(callback: Callable[[str, Sequence[Any]], None]) -> Iterator[None]:
    """Call ``callback(sql, args)`` for each statement run on the driver directly, as
    SQLAlchemy's ``after_cursor_execute`` does for its own (the query-plan tests ask SQLite
    how it runs them)."""
    observers.append(callback)
    try:
        yield
    finally:
        observers.remove(callback)


def padded(values: Sequence[T]) -> list[T]:
    """``values`` for an expanding ``IN`` parameter, lengthened to the next power of two by
    repeating the last one (the same set, so the same rows).

    Each list length renders a different statement, which each database prepares and caches
    separately (SQLite's statement cache; PostgreSQL's per connection, for statements that
    still go through SQLAlchemy): without padding, up to one statement per batch size; with
    it, about eight.
    """
    n = len(values)
    if n <= 1:
        return list(values)
    size = 1 << (n - 1).bit_length()
    return [*values, *([values[-1]] * (size - n))]
