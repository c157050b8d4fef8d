"""Hot statements (``store/hot``) give what SQLAlchemy gives for the same statement.

They run on the driver directly (``sqlite3``; asyncpg), so each case is run both ways on both
databases and compared: bound and literal ``IN`` lists, values written into the statement (a
NULL, a LIMIT's OFFSET), a type's conversion (an int bound to a Float), many-row runs, errors,
and every hot statement of the store, on the same data, in a savepoint rolled back between
the two runs.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Update,
    bindparam,
    exc,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import DeliveryReport, ReceiptStatus
from smsrelay.domain.registration import Registration
from smsrelay.domain.states import MessageStatus
from smsrelay.store import (
    _rows,
    _status,
    accounts,
    hot,
    queue,
    receipts,
    registrations,
    suppressions,
    webhooks,
)
from smsrelay.store.db import Database
from smsrelay.store.hot import Executor, insert_rows, padded
from smsrelay.store.hot._drivers import PostgresExecutor, SqliteExecutor
from smsrelay.store.messages import insert_messages
from smsrelay.store.schema import (
    accounts as accounts_table,
)
from smsrelay.store.schema import (
    message_events,
    message_parts,
    messages,
    metadata,
    pending_receipts,
    webhook_attempts,
    webhook_deliveries,
)
from smsrelay.store.schema import (
    pending_receipts as p_receipts,
)
from tests.store.factories import T0, a_message, an_account

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


async def test_rows_are_those_sqlalchemy_returns(database: Database) -> None:
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


async def test_updates_one_and_many(database: Database) -> None:
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


async def test_driver_errors_are_sqlalchemy_errors(database: Database) -> None:
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


# --- every hot statement of the store, both ways -----------------------------------------

SQLALCHEMY = Executor()  # the base executor is SQLAlchemy itself: the reference


async def _world(conn: AsyncConnection) -> dict[str, Any]:
    """Messages in every state the hot statements touch: queued, claimed, sent with parts;
    parked receipts, pending and blocked callbacks, a suppressed number."""
    account = await an_account(conn, webhook_url="https://hooks.example/sms")
    msgs = [a_message(account.id, T0 + i, priority=i % 3) for i in range(8)]
    msgs[1] = dataclasses.replace(msgs[1], registration=Registration("PE1", "TPL1"))
    msgs[6] = dataclasses.replace(msgs[6], registration=Registration(telemarketer_id="TM1"))
    await insert_messages(conn, msgs, T0)
    claimed = await queue.claim(conn, worker="w1", now=T0 + 10, lease_seconds=30, limit=5)
    await queue.record_submitted_many(
        conn,
        [
            queue.SubmittedItem(m.id, "smpp-a", [f"A{i}", f"B{i}"], T0 + 500)
            for i, m in enumerate(claimed[:3])
        ],
        T0 + 11,
        worker="w1",
    )
    await receipts.keep_unmatched_many(
        conn,
        [
            DeliveryReport("smpp-a", f"P{i}", ReceiptStatus.DELIVERED, T0 + 12, "e" if i else None)
            for i in range(3)
        ],
        T0 + 12,
    )
    await webhooks.enqueue_webhooks(
        conn,
        [(account.id, m.id, "https://hooks.example/sms", '{"n": 1}') for m in msgs[:4]]
        + [(account.id, msgs[0].id, "https://hooks.example/sms", '{"n": 2}')],
        T0 + 13,
    )
    await suppressions.add_suppression(
        conn, account.id, "+4915100000001", reason="stop", source="api", now=T0
    )
    d = webhook_deliveries
    deliveries = sorted(r.id for r in await conn.execute(select(d.c.id)))
    # the first delivery ended: the release of the next one has one to release
    await conn.execute(update(d).where(d.c.id == deliveries[0]).values(state="delivered"))
    return {
        "account": account.id,
        "ids": [m.id for m in msgs],
        "claimed": [m.id for m in claimed],
        "deliveries": deliveries,
    }


async def _state(conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    tables = (messages, message_events, message_parts, pending_receipts, webhook_deliveries)
    return {
        t.name: [tuple(r) for r in await conn.execute(select(t).order_by(*t.primary_key))]
        for t in tables
    }


def _cases(w: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(name, how, statement, params) of each hot statement, as production runs it."""
    ids, claimed = w["ids"], w["claimed"]
    return [
        (
            "claim",
            "rows",
            _status.claim_statement(),
            {"c_now": T0 + 20, "c_limit": 2, "c_lease_until": T0 + 50, "c_worker": "w2"},
        ),
        (
            "sent",
            "rows",
            _status.sent_statement(False),
            {"s_ids": padded(claimed[3:] + ids[:1]), "s_now": T0 + 21}
            | {"s_connector": "smpp-b", "s_deadline": T0 + 600},
        ),
        (
            "sent by its worker",
            "rows",
            _status.sent_statement(True),
            {"s_ids": padded(claimed), "s_now": T0 + 21, "s_worker": "w1"}
            | {"s_connector": "smpp-b", "s_deadline": T0 + 600},
        ),
        (
            "receipts settle",
            "rows",
            _status.guarded_update_many(MessageStatus.DELIVERED),
            {"g_ids": padded(ids[:5]), "g_now": T0 + 22, "g_code": None, "g_detail": None},
        ),
        (
            "receipts fail",
            "rows",
            _status.guarded_update_many(MessageStatus.UNDELIVERED),
            {"g_ids": padded(claimed[:2]), "g_now": T0 + 22, "g_code": "x", "g_detail": "d"},
        ),
        ("next due", "rows", queue._next_due_statement(), {"d_now": T0 + 20}),
        ("carrier ids", "rows", _rows._carrier_ids_statement(), {"c_ids": padded(ids[:6])}),
        ("registrations", "rows", registrations._statement(), {"r_ids": padded(ids[:7])}),
        (
            "parts of receipts",
            "rows",
            receipts._parts_statement(),
            {"p_connector": "smpp-a", "p_ids": padded(["A0", "B1", "none"])},
        ),
        (
            "take parked receipts",
            "rows",
            receipts._take_statement(),
            {"r_connector": "smpp-a", "r_ids": padded(["P0", "P2", "none"])},
        ),
        (
            "part outcomes",
            "many",
            receipts._part_outcome_statement(),
            [
                {"m_id": claimed[0], "m_seq": 1, "m_status": "delivered", "m_error": None}
                | {"m_now": T0 + 23},
                {"m_id": claimed[1], "m_seq": 2, "m_status": "undelivered", "m_error": "e"}
                | {"m_now": T0 + 23},
            ],
        ),
        (
            "pending callbacks",
            "rows",
            webhooks._held_among(),
            {"w_ids": padded(ids[:3]), "w_now": T0 + 23},
        ),
        (
            "callback claim",
            "rows",
            webhooks._claim_statement(),
            {"w_now": T0 + 24, "w_limit": 3, "w_until": T0 + 54},
        ),
        (
            "callback claim, none due",
            "rows",
            webhooks._claim_statement(),
            {"w_now": 1.0} | {"w_limit": 3, "w_until": 31.0},
        ),
        (
            "callback outcomes",
            "many",
            webhooks._settle_statement(),
            [
                {"w_id": i, "w_state": "delivered", "w_code": 200, "w_error": None}
                | {"w_next": T0 + 25, "w_delivered": T0 + 25}
                for i in w["deliveries"][1:3]
            ],
        ),
        (
            "release next",
            "execute",
            webhooks._release_next_statement(),
            {"w_ended": padded(w["deliveries"][:2]), "w_now": T0 + 26},
        ),
        ("webhook URL", "rows", accounts._webhook_url_statement(), {"a_id": w["account"]}),
        (
            "suppressed",
            "rows",
            suppressions._suppressed_statement(),
            {"s_account": w["account"], "s_numbers": padded(["+4915100000001", "+49151"])},
        ),
    ]


async def _run(executor: Executor, conn: AsyncConnection, how: str, stmt: Any, params: Any) -> Any:
    if how == "rows":
        found = await executor.rows(conn, stmt, params)
        return sorted((tuple(r), tuple(r._mapping)) for r in found)
    if how == "many":
        return await executor.execute_many(conn, stmt, params)
    return await executor.execute(conn, stmt, params)


async def test_every_hot_statement_gives_what_sqlalchemy_gives(database: Database) -> None:
    async with database.transaction() as conn:
        world = await _world(conn)
        fast = hot.executor_of(conn)
        for name, how, stmt, params in _cases(world):
            outcomes = []
            for executor in (SQLALCHEMY, fast):  # each from the same world
                savepoint = await conn.begin_nested()
                outcomes.append((await _run(executor, conn, how, stmt, params), await _state(conn)))
                await savepoint.rollback()
            assert outcomes[1] == outcomes[0], name
            if how != "many" and "none" not in name:
                assert outcomes[0][0], f"{name}: the case should change or find something"


async def test_inserts_give_the_rows_core_gives(database: Database) -> None:
    """Each table's rows deleted (with the tables that refer to it) and inserted again, by
    Core and by :func:`hot.insert_rows` (the ids a sequence gives are left out: a sequence
    does not roll back)."""
    async with database.transaction() as conn:
        await _world(conn)
        tables = (messages, message_events, message_parts, pending_receipts, webhook_deliveries)
        for table in tables:
            given = [c for c in table.c if c is not table.autoincrement_column]
            keys = [c.name for c in given]
            rows = [dict(r._mapping) for r in await conn.execute(select(table))]
            rows = [{k: r[k] for k in keys if k in r} for r in rows]
            later = metadata.sorted_tables[metadata.sorted_tables.index(table) :]
            got = []
            for insert in (_core_insert, insert_rows):
                savepoint = await conn.begin_nested()
                for t in reversed(later):
                    await conn.execute(t.delete())
                await insert(conn, table, rows)
                got.append(sorted(tuple(r) for r in await conn.execute(select(*given))))
                await savepoint.rollback()
            assert got[0] == got[1], table.name
            assert len(got[0]) == len(rows), table.name


async def test_many_row_inserts_return_nothing(database: Database) -> None:
    """An executemany INSERT is compiled as SQLAlchemy compiles one: no ``RETURNING`` of the
    new ids, whose rows nobody reads."""
    seen: list[str] = []
    with hot.observed(lambda sql, _args: seen.append(sql)):
        async with database.transaction() as conn:
            await _world(conn)
    inserts = [sql for sql in seen if sql.startswith("INSERT")]
    assert {sql.split()[2] for sql in inserts} >= {"messages", "message_events", "message_parts"}
    assert not [sql for sql in inserts if "RETURNING" in sql]


async def test_a_one_column_insert(database: Database) -> None:
    scratch = Table(
        "hot_scratch", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(8))
    )
    async with database.transaction() as conn:
        await conn.run_sync(scratch.create)
        await insert_rows(conn, scratch, [{"v": "a"}, {"v": None}, {"v": "c"}])
        got = [tuple(r) for r in await conn.execute(select(scratch.c.v).order_by(scratch.c.id))]
        await conn.run_sync(scratch.drop)
    assert got == [("a",), (None,), ("c",)]


async def _core_insert(conn: AsyncConnection, table: Any, rows: list[dict[str, Any]]) -> None:
    await conn.execute(table.insert(), rows)


# --- many-row INSERTs and padded IN lists -----------------------------------------------


async def test_rows_are_inserted_and_the_id_comes_from_the_database(database: Database) -> None:
    p = p_receipts
    rows = [
        {
            "connector": "sim",
            "carrier_id": f"c{i}",
            "status": "delivered",
            "at": T0 + i,
            "error": "e" if i else None,
            "received_at": T0,
        }
        for i in range(3)
    ]
    async with database.transaction() as conn:
        await insert_rows(conn, p, rows)
        await insert_rows(conn, p, [])  # nothing to do
    async with database.read() as conn:
        got = (
            await conn.execute(select(p.c.id, p.c.carrier_id, p.c.at, p.c.error).order_by(p.c.id))
        ).all()
    assert [(c, at, e) for _, c, at, e in got] == [
        ("c0", T0, None),
        ("c1", T0 + 1, "e"),
        ("c2", T0 + 2, "e"),
    ]
    assert len({i for i, *_ in got}) == 3  # ids from the database's own sequence


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(database: Database) -> None:
    with pytest.raises(exc.IntegrityError):
        async with database.transaction() as conn:  # no such delivery: a foreign key fails
            await insert_rows(
                conn,
                webhook_attempts,
                [
                    {
                        "delivery_id": 999_999,
                        "at": T0,
                        "status_code": 200,
                        "error": None,
                        "duration_ms": 1.0,
                    }
                ],
            )


async def test_values_go_through_their_column_types_as_with_core(database: Database) -> None:
    row = {"id": "acc_x", "name": "x", "webhook_secret": "s", "created_at": T0, "disabled": True}
    async with database.transaction() as conn:
        await insert_rows(conn, accounts_table, [row])
        await conn.execute(accounts_table.insert(), [{**row, "id": "acc_y", "name": "y"}])
    async with database.read() as conn:
        got = (
            await conn.execute(
                select(accounts_table.c.id, accounts_table.c.disabled).order_by(accounts_table.c.id)
            )
        ).all()
    assert [tuple(r) for r in got] == [("acc_x", True), ("acc_y", True)]


def test_in_lists_are_padded_to_a_power_of_two_with_the_same_members() -> None:
    assert padded([]) == []
    assert padded(["a"]) == ["a"]
    assert padded(["a", "b", "c"]) == ["a", "b", "c", "c"]
    assert padded(list(range(5))) == [0, 1, 2, 3, 4, 4, 4, 4]
    assert padded(list(range(8))) == list(range(8))
    assert {len(padded(list(range(n)))) for n in range(1, 65)} == {1, 2, 4, 8, 16, 32, 64}
