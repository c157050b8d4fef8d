"""Hot statements (``store/hot.py``) give what SQLAlchemy gives for the same statement.

On SQLite they run on the ``sqlite3`` connection directly, so each case is run both ways and
compared: bound and literal ``IN`` lists, values written into the statement (a NULL, a LIMIT's
OFFSET), a type's conversion (an int bound to a Float), many-row runs, and errors.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from sqlalchemy import Float, Select, Update, bindparam, exc, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store import hot
from smsrelay.store.db import Database
from smsrelay.store.hot import insert_rows
from smsrelay.store.hot._drivers import PostgresExecutor, SqliteExecutor
from smsrelay.store.messages import insert_messages
from smsrelay.store.schema import message_parts
from tests.store.factories import a_message, an_account

ROWS = [
    {
        "message_id": f"msg_{i % 3}",
        "seq": i,
        "connector": "c",
        "carrier_id": f"id{i}",
        "status": "sent",
        "error": None,
        "updated_at": 1.0,
    }
    for i in range(6)
]


@cache
def _select() -> Select[Any]:
    p = message_parts
    return (
        select(p.c.message_id, p.c.seq, p.c.carrier_id, literal(7).label("seven"))
        .where(
            p.c.message_id.in_(bindparam("ids", expanding=True)),
            p.c.status.in_(["sent", "delivered"]),  # a literal IN list
            p.c.updated_at < bindparam("before", type_=Float),
        )
        .order_by(p.c.message_id, p.c.seq)
        .limit(bindparam("n"))
    )


@cache
def _update() -> Update:
    p = message_parts
    return (
        update(p)
        .where(p.c.message_id == bindparam("m"), p.c.seq == bindparam("s"))
        .values(status=bindparam("st"), error=None, updated_at=bindparam("at", type_=Float))
    )


async def _messages(conn: AsyncConnection) -> None:
    account = await an_account(conn)
    await insert_messages(conn, [a_message(account.id, id=f"msg_{i}") for i in range(3)], 1.0)


async def test_rows_are_those_sqlalchemy_returns(sqlite_database: Database) -> None:
    database = sqlite_database
    async with database.transaction() as conn:
        await _messages(conn)
        await insert_rows(conn, message_parts, ROWS)
        for ids in (["msg_0"], ["msg_0", "msg_2"], ["msg_1", "msg_2", "msg_0", "msg_0"]):
            params = {"ids": ids, "before": 2, "n": 5}  # an int for a Float: converted
            expected = [tuple(r) for r in await conn.execute(_select(), params)]
            got = await hot.rows(conn, _select(), params)
            assert [tuple(r) for r in got] == expected
            assert all(r.seven == 7 and r._mapping["seven"] == 7 for r in got)
        assert await hot.rows(conn, _select(), {"ids": ["none"], "before": 2, "n": 5}) == []


async def test_updates_one_and_many(sqlite_database: Database) -> None:
    database = sqlite_database
    async with database.transaction() as conn:
        await _messages(conn)
        await insert_rows(conn, message_parts, ROWS)
        assert (
            await hot.execute(conn, _update(), {"m": "msg_0", "s": 0, "st": "delivered", "at": 3})
            == 1
        )
        await hot.execute_many(
            conn,
            _update(),
            [
                {"m": "msg_1", "s": 1, "st": "undelivered", "at": 4.0},
                {"m": "msg_2", "s": 2, "st": "delivered", "at": 5.0},
            ],
        )
        rows = (
            await conn.execute(
                select(
                    message_parts.c.seq, message_parts.c.status, message_parts.c.updated_at
                ).order_by(message_parts.c.seq)
            )
        ).all()
    assert [tuple(r) for r in rows][:3] == [
        (0, "delivered", 3.0),
        (1, "undelivered", 4.0),
        (2, "delivered", 5.0),
    ]


async def test_driver_errors_are_sqlalchemy_errors(sqlite_database: Database) -> None:
    database = sqlite_database
    with pytest.raises(exc.IntegrityError):
        async with database.transaction() as conn:
            await _messages(conn)
            await insert_rows(conn, message_parts, ROWS[:1])
            await insert_rows(conn, message_parts, ROWS[:1])  # the same key again


async def test_each_database_has_its_driver_executor(database: Database) -> None:
    kind = {"sqlite": SqliteExecutor, "postgresql": PostgresExecutor}[database.dialect]
    async with database.transaction() as conn:
        assert type(hot.executor_of(conn)) is kind
        assert await hot.rows(conn, _select(), {"ids": ["x"], "before": 1.0, "n": 1}) == []
    async with database.read() as conn:
        assert type(hot.executor_of(conn)) is kind
