"""Many-row INSERTs through the driver (same rows, defaults and errors as Core's), and the
padding of IN lists that keeps the number of distinct statements small."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, select

from smsrelay.store.db import Database
from smsrelay.store.hot import insert_rows, padded
from smsrelay.store.schema import accounts, pending_receipts, webhook_attempts
from tests.store.factories import T0


async def test_rows_are_inserted_and_the_id_comes_from_the_database(database: Database) -> None:
    p = pending_receipts
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
        await insert_rows(conn, accounts, [row])
        await conn.execute(accounts.insert(), [{**row, "id": "acc_y", "name": "y"}])
    async with database.read() as conn:
        got = (
            await conn.execute(select(accounts.c.id, accounts.c.disabled).order_by(accounts.c.id))
        ).all()
    assert [tuple(r) for r in got] == [("acc_x", True), ("acc_y", True)]


def test_in_lists_are_padded_to_a_power_of_two_with_the_same_members() -> None:
    assert padded([]) == []
    assert padded(["a"]) == ["a"]
    assert padded(["a", "b", "c"]) == ["a", "b", "c", "c"]
    assert padded(list(range(5))) == [0, 1, 2, 3, 4, 4, 4, 4]
    assert padded(list(range(8))) == list(range(8))
    assert {len(padded(list(range(n)))) for n in range(1, 65)} == {1, 2, 4, 8, 16, 32, 64}
