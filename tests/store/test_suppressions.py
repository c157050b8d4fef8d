"""Suppression lists, numbers and inbound messages; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.store import inbound as inbound_store
from smsrelay.store import numbers as number_store
from smsrelay.store import suppressions as store
from smsrelay.store.db import Database
from smsrelay.store.inbound import StoredInbound
from tests.store.factories import T0, an_account


async def test_suppressions(database: Database) -> None:
    async with database.transaction() as conn:
        a = await an_account(conn)
        b = await an_account(conn)
        assert await store.add_suppression(conn, a.id, "+491", reason="optout", source="mo", now=T0)
        assert not await store.add_suppression(
            conn, a.id, "+491", reason="manual", source="api", now=T0 + 1
        )
        await store.add_suppression(conn, a.id, "+492", reason="manual", source="api", now=T0)
        await store.add_suppression(conn, b.id, "+493", reason="manual", source="api", now=T0)
    async with database.read() as conn:
        assert await store.suppressed_among(conn, a.id, ["+491", "+493", "+499"]) == {"+491"}
        assert await store.suppressed_among(conn, a.id, []) == set()
        page = await store.list_suppressions(conn, a.id, limit=1)
        assert [(s.number, s.reason) for s in page] == [("+491", "optout")]
        rest = await store.list_suppressions(conn, a.id, cursor="+491")
        assert [s.number for s in rest] == ["+492"]
    async with database.transaction() as conn:
        assert await store.remove_suppression(conn, a.id, "+491")
        assert not await store.remove_suppression(conn, a.id, "+491")


async def test_numbers_and_inbound(database: Database) -> None:
    async with database.transaction() as conn:
        a = await an_account(conn)
        await number_store.add_number(conn, "+4930901820", a.id, T0)
        with pytest.raises(SmsError) as taken:
            await number_store.add_number(conn, "+4930901820", a.id, T0)
        assert taken.value.code is ErrorCode.ALREADY_EXISTS
        items = [
            StoredInbound(
                f"mo_{i}",
                a.id if i else None,
                "c",
                "+491",
                "+4930901820",
                f"text {i}",
                None,
                None,
                T0,
                T0,
            )
            for i in range(3)
        ]
        await inbound_store.insert_inbound(conn, items)
    async with database.read() as conn:
        assert await number_store.owners_of(conn, ["+4930901820", "+1"]) == {"+4930901820": a.id}
        assert [n.number for n in await number_store.list_numbers(conn, a.id)] == ["+4930901820"]
        listed = await inbound_store.list_inbound(conn, a.id)
        assert [i.id for i in listed] == ["mo_2", "mo_1"]
        assert [i.id for i in await inbound_store.list_inbound(conn, a.id, cursor="mo_2")] == [
            "mo_1"
        ]
        assert await inbound_store.get_inbound(conn, "mo_0") == items[0]
    async with database.transaction() as conn:
        assert await number_store.remove_number(conn, "+4930901820")
        assert not await number_store.remove_number(conn, "+4930901820")
