"""SQLite on the event loop's own thread: the aiosqlite interface without a thread per call.

aiosqlite runs every call (open a cursor, execute, fetch, close the cursor, commit) on a worker
thread and wakes the event loop when it is done. Each of those hand-offs costs about 150 µs of
CPU and a turn of the loop, and a SQLAlchemy statement makes four of them: profiling showed the
gateway spending more time handing SQLite calls between threads than running them, and every
write transaction holding the writer lock across a dozen loop turns.

SQLite statements on indexed rows take microseconds, so this driver runs them where they are
awaited, commit included: a write transaction then never yields the loop, so the writers of one
process never queue behind each other, and a commit (an fsync with ``synchronous=FULL``:
accepted means on disk) holds the loop for the fsync, about 2 ms here, instead of holding the
writer lock across a turn of a busy loop while it runs on a thread, which measured slower: the
lock was then held by whoever waited for the loop, and writers queued 70 ms for it.

Only waiting for another *process* leaves the loop (``smsrelay`` CLI commands, several gateway
processes on one file, ``SMSRELAY_WORKERS``). Writers take an advisory lock on
``<database>-writer`` before ``BEGIN IMMEDIATE`` and drop it after ``COMMIT``: the first attempt
does not wait, and if another process holds it the wait happens on a worker thread, where the
kernel hands the lock over the moment it is released. SQLite's own busy handler would instead
poll with sleeps of up to 100 ms. A writer that does not take the advisory lock (the ``sqlite3``
shell) is still waited for, by ``busy_timeout`` on the worker thread.

SQLAlchemy's aiosqlite dialect drives these objects unchanged; they implement the part of
aiosqlite's interface it calls.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_LOCKED = "database is locked"


class InlineCursor:
    """aiosqlite's ``Cursor``, executing at once on the calling thread."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if sql.startswith("BEGIN IMMEDIATE"):
            await self._connection.begin_immediate(sql)
        elif parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorContext:
    """What ``connection.cursor()`` returns in aiosqlite: awaitable and an async context."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: InlineCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Any:
        async def ready() -> InlineCursor:
            return self._cursor

        return ready().__await__()

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self._cursor.close()


class InlineConnection:
    """aiosqlite's ``Connection`` over one ``sqlite3`` connection used on the loop's thread.

    ``offload`` is the worker thread for the waits that must not block the loop (another
    process writing); reader connections pass None and never wait.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        offload: ThreadPoolExecutor | None,
        lock_path: str | None = None,
        busy_timeout_ms: int = 0,
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._offload = offload
        self._busy_timeout_ms = busy_timeout_ms  # how long a contended BEGIN waits, off-loop
        self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600) if lock_path else -1
        self._locked = False

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection, for statements run without SQLAlchemy (``hot.py``)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(InlineCursor(self, self._conn.cursor()))

    async def begin_immediate(self, sql: str) -> None:
        connection = self._conn
        await self._lock_writers()
        try:
            try:
                connection.execute(sql)
                return
            except sqlite3.OperationalError as error:
                if _LOCKED not in str(error) or self._offload is None:
                    raise
            await self._in_thread(self._begin_waiting, connection, sql)
        except BaseException:
            self._unlock_writers()
            raise

    def _begin_waiting(self, connection: sqlite3.Connection, sql: str) -> None:
        connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            connection.execute(sql)
        finally:
            connection.execute("PRAGMA busy_timeout=0")

    async def _lock_writers(self) -> None:
        if self._lock_fd < 0 or self._locked:
            return
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await self._in_thread(fcntl.flock, self._lock_fd, fcntl.LOCK_EX)
        self._locked = True

    def _unlock_writers(self) -> None:
        if self._locked:
            self._locked = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._unlock_writers()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._unlock_writers()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (also SQLAlchemy's terminate); an open transaction is rolled back."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()
        self._unlock_writers()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._offload, fn, *args)


def connector(
    path: str, *, writer: bool, offload: ThreadPoolExecutor | None, busy_timeout_ms: int = 0
) -> Callable[[], Any]:
    """An ``async_creator`` for SQLAlchemy: opens ``path`` as an :class:`InlineConnection`.

    ``check_same_thread=False`` because a contended ``BEGIN IMMEDIATE`` runs on ``offload``;
    the connection is never used from two threads at once (the loop awaits that call).
    """

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if not writer:
            return InlineConnection(connection, None)
        return InlineConnection(connection, offload, f"{path}-writer", busy_timeout_ms)

    return connect
