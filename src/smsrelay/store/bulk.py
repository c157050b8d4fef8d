"""Statements over many rows: INSERTs of the hot tables through the driver's own
``executemany``, and ``IN`` lists padded to a few lengths.

SQLAlchemy's executemany of a Core ``insert()`` builds a parameter dict per row, runs each
value through the type system and renders multi-row ``VALUES`` text in Python (its
"insertmanyvalues"): several microseconds per row and column, on every message's history,
parts and callbacks, all inside the write transaction, where it holds SQLite's one writer
lock. Here the single-row statement is rendered once per dialect and table, and the rows go
to the driver as plain tuples (sqlite3's ``executemany`` in C, asyncpg's pipelined one). It
runs in the caller's transaction like any other statement, and errors come back as the same
SQLAlchemy exceptions (``IntegrityError`` for a duplicate key).

Only for tables whose columns need no conversion between Python and the driver (text,
integers, floats): :func:`insert_rows` refuses any other, so a Boolean or JSON column cannot
silently skip its SQLAlchemy type processing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Float, Integer, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.hot import raw_sqlite, run_many

__all__ = ["insert_rows", "padded"]

T = TypeVar("T")

_PASS_THROUGH = (String, Text, Float, Integer)  # Text is a String; listed for the reader


@cache
def _insert_sql(dialect: str, table: Table, columns: tuple[str, ...]) -> str:
    for name in columns:
        kind = table.c[name].type
        if not isinstance(kind, _PASS_THROUGH):
            raise TypeError(
                f"{table.name}.{name} is {kind!r}: its values need SQLAlchemy's "
                "type processing, insert it with table.insert()"
            )
    if dialect == "postgresql":
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    else:
        marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (mappings with the same keys, column names of ``table``) in one call.

    Columns left out take their server defaults, as with ``table.insert()``.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    sql = _insert_sql(conn.dialect.name, table, columns)
    if len(columns) == 1:
        values = [(row[columns[0]],) for row in rows]
    else:
        values = list(map(itemgetter(*columns), rows))  # a tuple per row, in C
    raw = raw_sqlite(conn)
    if raw is not None:  # straight to sqlite3, as the hot statements go (hot.py)
        run_many(raw, sql, values)
        return
    await conn.exec_driver_sql(sql, values)


def padded(values: Sequence[T]) -> list[T]:
    """``values`` for an expanding ``IN`` parameter, lengthened to the next power of two by
    repeating the last one (the same set, so the same rows).

    Each list length renders a different statement, which each database prepares and caches
    separately: PostgreSQL's per-connection prepared statements (asyncpg keeps 100) and
    SQLite's statement cache would otherwise see up to one statement per batch size. With
    padding a statement has about eight shapes.
    """
    n = len(values)
    if n <= 1:
        return list(values)
    size = 1 << (n - 1).bit_length()
    return [*values, *([values[-1]] * (size - n))]
