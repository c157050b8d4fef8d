"""Engines, transactions and migrations: the one place that knows which database is underneath.

SQLite (embedded default) and PostgreSQL (production) run the same statements; this module hides
the differences that are not SQL:

- SQLite allows one writer at a time. A deferred ``BEGIN`` that later writes can fail with
  "database is locked" instead of waiting, so every write transaction starts with
  ``BEGIN IMMEDIATE`` (it takes the write lock up front and waits ``busy_timeout`` for it), and
  writers inside this process queue on an ``asyncio.Lock`` instead of on that timeout. Readers
  use a separate pool: under WAL they never wait for the writer. Statements run on the event
  loop's thread, commit included; only waiting for another process's write goes to a worker
  thread (``sqlite_inline``).
- ``synchronous=FULL``: when a request is answered its rows are on disk. Throughput comes from
  group commit (many requests per transaction), not from weaker durability.
- PostgreSQL needs none of that: the pool hands out connections, and the claim statements use
  ``FOR UPDATE SKIP LOCKED`` so several processes share the queue.

Migrations are Alembic, configured in code (no alembic.ini) so ``smsrelay db upgrade`` works
from an installed wheel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.store import hot, sqlite_inline

log = logging.getLogger(__name__)
# Alembic's INFO lines (plugins set up, the context's implementation, each step) are its own
# bookkeeping: a start-up shows our banner, and what failed if anything did
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

_MIGRATIONS = Path(__file__).parent / "migrations"
_BUSY_TIMEOUT_MS = 10_000
_SQLITE_FILE = "smsrelay.db"


def sqlite_url(data_dir: Path) -> str:
    """The URL of the embedded database in ``data_dir`` (absolute, so the cwd does not matter)."""
    return f"sqlite+aiosqlite:///{(Path(data_dir).resolve() / _SQLITE_FILE).as_posix()}"


def normalize_url(url: str) -> str:
    """Give a bare ``sqlite://`` or ``postgresql://`` URL the async driver smsrelay uses.

    Operators paste URLs from other tools; ``postgres://user@host/db`` should just work.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres") and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend not in ("sqlite", "postgresql", "postgres"):
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"unsupported database URL scheme {backend!r}; use sqlite:/// or postgresql://",
            field="database_url",
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        # Two pools (writer, readers) must see one database: an in-memory one cannot be shared.
        raise SmsError(
            ErrorCode.VALIDATION_ERROR, "the SQLite database must be a file", field="database_url"
        )
    return Path(database)


class _SqliteCompiler(SQLiteCompiler):
    """SQLite's compiler, rendering a table hint (``with_hint(table, "INDEXED BY ix",
    "sqlite")``) after the table's name, where SQLite reads ``INDEXED BY``.

    SQLAlchemy's SQLite dialect drops table hints; the queue's and the webhook outbox's
    statements name the partial index SQLite should use (queue.py, webhooks.py,
    tests/store/test_query_plans.py), and PostgreSQL ignores the hint.
    """

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def _sqlite_engine(
    url: str, *, begin: str, readers: bool, offload: ThreadPoolExecutor | None = None
) -> AsyncEngine:
    """An engine whose connections run SQLite on the loop's thread (``sqlite_inline``).

    Transactions start with ``begin``; the driver's own implicit ``BEGIN`` is off
    (``isolation_level=None``) so that ours is the only one, SQLAlchemy's documented recipe for
    controlling SQLite transactions. The writer waits for other processes on ``offload``.
    """
    path = str(_sqlite_path(url))
    engine = create_async_engine(
        url,
        async_creator=sqlite_inline.connector(
            path, writer=not readers, offload=offload, busy_timeout_ms=_BUSY_TIMEOUT_MS
        ),
        pool_size=4 if readers else 1,
        max_overflow=8 if readers else 0,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            # a writer never waits on the loop's thread: a contended BEGIN IMMEDIATE waits
            # busy_timeout on the worker thread instead (sqlite_inline)
            f"busy_timeout={_BUSY_TIMEOUT_MS if readers else 0}",
            # a write through read() is a bug: fail loudly instead of taking the write lock
            "query_only=ON" if readers else "query_only=OFF",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    engine.sync_engine.dialect.statement_compiler = _SqliteCompiler
    return engine


class Database:
    """An open database: the engine(s) plus the transaction discipline of its dialect.

    Callers (engine, gateway, CLI) hold one per process and pass the ``AsyncConnection`` of a
    ``transaction()`` or ``read()`` block to the repository functions of ``smsrelay.store``.
    """

    def __init__(
        self,
        url: str,
        dialect: str,
        engine: AsyncEngine,
        read_engine: AsyncEngine | None = None,
        offload: ThreadPoolExecutor | None = None,
    ) -> None:
        self.url = url
        self._offload = offload
        self.dialect = dialect
        self.engine = engine
        self._read_engine = read_engine or engine
        # SQLite: one writer at a time, queued in process rather than on busy_timeout
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if dialect == "sqlite" else None

    @classmethod
    async def open(cls, url: str) -> Database:
        """Connect to ``url`` (not migrating it: see :func:`upgrade`).

        Raises ``SmsError(VALIDATION_ERROR)`` for an unusable URL. The first connection is made
        here, so a wrong host or password fails at startup rather than at the first request.
        """
        url = normalize_url(url)
        dialect = make_url(url).get_backend_name()
        if dialect == "sqlite":
            _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
            offload = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsrelay-sqlite")
            writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", readers=False, offload=offload)
            reader = _sqlite_engine(url, begin="BEGIN", readers=True)
            db = cls(url, "sqlite", writer, reader, offload)
        else:
            # no pre-ping: it would cost a round trip per transaction. After a server restart
            # the first failing statement invalidates the whole pool instead.
            #
            # force_custom_plan: asyncpg prepares every statement, and after five runs
            # PostgreSQL may switch a prepared statement to a generic plan, made without the
            # parameter values. For the queue's and the webhook outbox's claims that generic
            # plan reads the whole table: under a 20,000-message run the webhook claim took
            # up to 10 s and callbacks fell minutes behind. Planning these small statements
            # each time costs far less.
            engine = create_async_engine(
                url,
                pool_size=10,
                max_overflow=10,
                pool_recycle=1800,
                connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
            )
            db = cls(url, "postgresql", engine)
        # executemany INSERTs become multi-row ``INSERT ... VALUES (...), (...)`` (batched
        # under each driver's parameter limit): one statement per batch on the accept path
        # rather than one execution per row. SQLAlchemy turns this on only for RETURNING or
        # for psycopg2 by default; it is a public Dialect attribute.
        db.engine.dialect.use_insertmanyvalues_wo_returning = True
        # the hot statements' executor, chosen once for this database (store/hot)
        hot.install(db.engine)
        if db._read_engine is not db.engine:
            hot.install(db._read_engine)
        try:
            async with db.engine.connect():
                pass
        except BaseException:
            await db.close()
            raise
        return db

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block exits, rolled back if it raises.

        Not reentrant: on SQLite a nested ``transaction()`` in the same task would wait for
        itself. Pass the connection down instead.
        """
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (one consistent snapshot); writing through it fails.

        On SQLite it uses the reader pool and never waits for the writer lock.
        """
        async with self._read_engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = await conn.execution_options(postgresql_readonly=True)
            async with conn.begin():
                yield conn

    async def close(self) -> None:
        """Close every pooled connection (idempotent)."""
        await self.engine.dispose()
        if self._read_engine is not self.engine:
            await self._read_engine.dispose()
        if self._offload is not None:
            self._offload.shutdown(wait=False)


@contextlib.contextmanager
def already_exists(what: str) -> Iterator[None]:
    """Turn a unique-constraint violation into ``SmsError(ALREADY_EXISTS)``.

    Used around a SAVEPOINT (``conn.begin_nested()``), so that on PostgreSQL the caller's
    transaction survives the failed INSERT and can go on or report the error.
    """
    try:
        yield
    except exc.IntegrityError as error:
        raise SmsError(ErrorCode.ALREADY_EXISTS, f"{what} already exists") from error


# --- migrations -----------------------------------------------------------------------------


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # passed as an attribute, not a main option: configparser would choke on '%' in a password
    config.attributes["url"] = url
    return config


def _run_blocking(fn: Callable[[], None]) -> None:
    """Run ``fn`` (which drives its own event loop) even when called from inside one.

    env.py runs the async driver with ``asyncio.run``, which refuses to nest; a caller already
    on an event loop (the app at startup, an async test) gets a worker thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsrelay-migrate") as pool:
        pool.submit(fn).result()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (blocking; creates a SQLite parent dir)."""
    from alembic import command

    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    log.info("migrating database to %s", revision)
    _run_blocking(lambda: command.upgrade(_alembic_config(url), revision))


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at ``url`` back to ``revision`` (tests and rollbacks)."""
    from alembic import command

    url = normalize_url(url)
    _run_blocking(lambda: command.downgrade(_alembic_config(url), revision))


def current_revision(url: str) -> str | None:
    """The Alembic revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return None  # do not create an empty file just to look
    result: list[str | None] = []

    async def read() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                result.append(
                    await conn.run_sync(
                        lambda sync: MigrationContext.configure(sync).get_current_revision()
                    )
                )
        finally:
            await engine.dispose()

    _run_blocking(lambda: asyncio.run(read()))
    return result[0]


def head_revision() -> str | None:
    """The newest revision shipped with this version of smsrelay."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def migration_engine(url: str) -> AsyncEngine:
    """The engine env.py migrates with: one transaction for the whole run on both databases.

    SQLite gets ``BEGIN IMMEDIATE`` like any writer, so a half-applied migration never stays
    behind; foreign keys stay off (the default) because batch mode copies tables.
    """
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url)
    engine = create_async_engine(url, pool_size=1, max_overflow=0)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def dialect_insert(conn: AsyncConnection) -> Any:
    """The INSERT of ``conn``'s dialect (``postgresql.insert`` or ``sqlite.insert``): the one
    with ``on_conflict_do_*`` for upserts, which core's ``insert`` lacks."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
