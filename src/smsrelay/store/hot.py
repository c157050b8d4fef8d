"""The hot statements, run on SQLite straight through the driver.

The engine runs a handful of statements for every batch of messages (claims, results,
receipts, the webhook outbox). They are built once, with bound values, but SQLAlchemy still
does per execution what only needs doing once: it derives the statement's cache key, renders
each expanding ``IN`` list, builds the parameter dictionary and result metadata, and crosses
into a greenlet and back. Measured on SQLite, in one transaction: a "which of these 32
messages have a pending callback?" probe cost 241 µs through SQLAlchemy and 41 µs as the
same SQL on the ``sqlite3`` connection; an empty webhook claim 89 µs against 7 µs. With about
one such statement per message, that was a sixth of the gateway's CPU.

So on SQLite (``sqlite_inline``: statements run on the loop's thread anyway) a statement is
compiled once per length of its ``IN`` lists (they are padded to powers of two, so a few
lengths), with the index hints ``db.py`` adds, and run on the same ``sqlite3`` connection, in
the same transaction. Rows come back as named tuples that also offer ``_mapping``, like
SQLAlchemy's, and a driver error is raised as SQLAlchemy would raise it (``IntegrityError``
for a duplicate key). Other databases go through SQLAlchemy unchanged.

Bound values go through their types' conversions as they would through SQLAlchemy (a
``Float`` parameter's ``to_float``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from smsrelay.store.db import sqlite_index_hints

__all__ = ["execute", "execute_many", "observed", "raw_sqlite", "rows", "run_many"]

_Args = Callable[[Mapping[str, Any]], list[Any]]


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    args: _Args


_plans: dict[tuple[int, tuple[int, ...]], _Plan] = {}
_keep: dict[int, Executable] = {}  # the statements planned: their ids stay theirs
_row_types: dict[tuple[str, ...], type] = {}
_observers: list[Callable[[str, Sequence[Any]], None]] = []


@contextlib.contextmanager
def observed(callback: Callable[[str, Sequence[Any]], None]) -> Iterator[None]:
    """Call ``callback(sql, args)`` for each statement run on the driver directly, as
    SQLAlchemy's ``after_cursor_execute`` does for its own (the query-plan tests ask SQLite
    how it runs them)."""
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


def raw_sqlite(conn: AsyncConnection) -> Any | None:
    """The ``sqlite3`` connection under ``conn``, or None on any other database."""
    if conn.dialect.name != "sqlite":
        return None
    driver = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    return getattr(driver, "sqlite", None)


async def rows(
    conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None = None
) -> list[Any]:
    """The rows of ``statement`` (a SELECT, or DML with RETURNING)."""
    raw = raw_sqlite(conn)
    if raw is None:
        return list(await conn.execute(statement, params))
    cursor, found = _run(raw, *_bound(conn.dialect, statement, params or {}), fetch=True)
    if not found:
        return []
    make: Callable[[Any], Any] = _row_type(tuple(d[0] for d in cursor.description))._make  # type: ignore[attr-defined]
    return [make(r) for r in found]


async def execute(
    conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None = None
) -> int:
    """Run ``statement`` (DML without RETURNING); the number of rows it changed."""
    raw = raw_sqlite(conn)
    if raw is None:
        result: Any = await conn.execute(statement, params)
        return max(int(result.rowcount), 0)
    cursor, _ = _run(raw, *_bound(conn.dialect, statement, params or {}), fetch=False)
    return max(int(cursor.rowcount), 0)


async def execute_many(
    conn: AsyncConnection, statement: Executable, params: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per mapping of ``params`` (no ``IN`` lists)."""
    if not params:
        return
    raw = raw_sqlite(conn)
    if raw is None:
        await conn.execute(statement, list(params))
        return
    plan = _plan(conn.dialect, statement, params[0])
    run_many(raw, plan.sql, [plan.args(p) for p in params])


def run_many(raw: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``executemany`` on the ``sqlite3`` connection (``bulk.py``'s INSERTs too): observed,
    and its errors raised as SQLAlchemy's."""
    if _observers and rows:
        _notify(sql, rows[0])
    with _sqlalchemy_errors(sql, None):
        raw.executemany(sql, rows)


def _run(
    raw: sqlite3.Connection, sql: str, args: list[Any], *, fetch: bool
) -> tuple[sqlite3.Cursor, list[Any]]:
    """One statement: observed, its errors raised as SQLAlchemy's (fetching inside, since a
    RETURNING statement runs as its rows are read)."""
    if _observers:
        _notify(sql, args)
    with _sqlalchemy_errors(sql, args):
        cursor = raw.execute(sql, args)
        return cursor, cursor.fetchall() if fetch else []


def _notify(sql: str, args: Sequence[Any]) -> None:
    for callback in _observers:
        callback(sql, args)


@contextlib.contextmanager
def _sqlalchemy_errors(sql: str, args: Any) -> Iterator[None]:
    """Raise a ``sqlite3`` error as the SQLAlchemy exception the same statement would have
    raised through SQLAlchemy, so callers catch one family whichever way it ran."""
    try:
        yield
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, args, error, sqlite3.Error) from error


def _bound(
    dialect: Dialect, statement: Executable, params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    plan = _plan(dialect, statement, params)
    return plan.sql, plan.args(params)


def _plan(dialect: Dialect, statement: Executable, params: Mapping[str, Any]) -> _Plan:
    sizes = tuple(len(v) for v in params.values() if isinstance(v, list | tuple))
    key = (id(statement), sizes)
    plan = _plans.get(key)
    if plan is None:
        _keep[id(statement)] = statement
        plan = _plans[key] = _compile(dialect, statement, params)
    return plan


def _compile(dialect: Dialect, statement: Executable, params: Mapping[str, Any]) -> _Plan:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is None:
        raise TypeError("hot statements need a positional paramstyle")
    sql = compiled.string
    takers: list[Callable[[Mapping[str, Any]], Any]] = []
    spread: list[bool] = []
    # the type's conversions (a Float's to_float) are applied as SQLAlchemy applies them
    processors: Mapping[str, Callable[[Any], Any]] = compiled._bind_processors  # type: ignore[assignment]
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        process = processors.get(name)
        if bind.expanding:  # an IN list: bound by the caller, or written in the statement
            given = bind.key in params or bind.required
            values = params[bind.key] if given else list(bind.effective_value or ())
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(values)), 1)
            if given:
                takers.append(_taker(bind.key, process, each=True))
            else:
                takers.append(_constant([process(v) for v in values] if process else values))
            spread.append(True)
        elif bind.key in params or bind.required:
            takers.append(_taker(bind.key, process))
            spread.append(False)
        else:  # a value written into the statement (LIMIT's OFFSET 0, a literal)
            value = bind.effective_value
            takers.append(_constant(process(value) if process else value))
            spread.append(False)
    if any(spread):

        def args(p: Mapping[str, Any]) -> list[Any]:
            out: list[Any] = []
            for take, many in zip(takers, spread, strict=True):
                if many:
                    out.extend(take(p))
                else:
                    out.append(take(p))
            return out
    else:

        def args(p: Mapping[str, Any]) -> list[Any]:
            return [take(p) for take in takers]

    return _Plan(sqlite_index_hints(sql), args)


def _constant(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    def take(_p: Mapping[str, Any]) -> Any:
        return value

    return take


def _taker(
    key: str, process: Callable[[Any], Any] | None = None, *, each: bool = False
) -> Callable[[Mapping[str, Any]], Any]:
    if process is None:

        def take(p: Mapping[str, Any]) -> Any:
            return p[key]
    elif each:

        def take(p: Mapping[str, Any]) -> Any:
            return [process(v) for v in p[key]]
    else:

        def take(p: Mapping[str, Any]) -> Any:
            return process(p[key])

    return take


def _row_type(names: tuple[str, ...]) -> type:
    kind = _row_types.get(names)
    if kind is None:
        base = namedtuple("HotRow", names)  # type: ignore[misc]

        class HotRow(base):
            __slots__ = ()

            @property
            def _mapping(self) -> dict[str, Any]:
                return dict(zip(self._fields, self, strict=True))

        kind = _row_types[names] = HotRow
    return kind
