"""The template book: lazy per-account loads, no database read per lookup, writes in the
unit of work's turn, and other processes' changes seen every few seconds of its clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.content_templates import Category, Template, read_csv
from smsrelay.domain.errors import SmsError
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.content_templates import TemplateBook, add_template, import_templates
from smsrelay.store import accounts as account_store
from smsrelay.store import content_templates as store
from smsrelay.store.db import Database
from tests.engine.support import unit_of_work
from tests.support.servers import wait_for

OTP = "Your OTP is {#var#}. - ACME"


@pytest.fixture
async def account_id(database: Database) -> AsyncIterator[str]:
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", time.time())
    yield account.id


async def test_lookups_read_the_database_once_per_account(
    database: Database, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    async with unit_of_work(database, clock) as uow:
        book = TemplateBook(database, clock, uow=uow)
        added = await book.add(account_id, Template("1107", OTP, entity_id="1101"))
        assert added.id is not None
        reads = 0
        real_read = database.read

        def counted() -> AbstractAsyncContextManager[AsyncConnection]:
            nonlocal reads
            reads += 1
            return real_read()

        monkeypatch.setattr(database, "read", counted)
        for code in range(200):
            found = await book.find(account_id, f"Your OTP is {code}. - ACME")
            assert found is not None and found.template_id == "1107"
        assert await book.find(account_id, "Your OTP is 1 - ACME") is None
        assert reads == 0  # add() left the account's templates in memory
        other = TemplateBook(database, clock)
        for _ in range(3):
            assert await other.find(account_id, "Your OTP is 1. - ACME") is not None
        assert reads == 1  # a book that never saw the account reads it once


async def test_writes_go_through_the_turn_and_refuse_duplicates(
    database: Database, account_id: str
) -> None:
    clock = ManualClock()
    async with unit_of_work(database, clock) as uow:
        book = TemplateBook(database, clock, uow=uow)
        first = await book.add(account_id, Template("1107", OTP))
        with pytest.raises(SmsError) as refused:
            await book.add(account_id, Template("1107", "Other {#var#}"))
        assert refused.value.code == "already_exists" and "1107" in refused.value.detail
        assert uow.writes == 2  # the refusal did not fail its turn
        assert first.id is not None
        assert await book.remove(account_id, first.id)
        assert not await book.remove(account_id, first.id)
        assert await book.find(account_id, "Your OTP is 1. - ACME") is None
    with pytest.raises(RuntimeError, match="read-only"):
        await TemplateBook(database, clock).add(account_id, Template("1", OTP))


async def test_another_process_change_is_seen_after_the_interval(
    database: Database, account_id: str
) -> None:
    clock = ManualClock()
    book = TemplateBook(database, clock, interval=5.0, max_var_chars=4)
    assert await book.find(account_id, "Your OTP is 1234. - ACME") is None
    async with database.transaction() as conn:  # as the CLI or another gateway would
        await add_template(conn, time.time(), account_id, Template("1107", OTP))
    task = asyncio.create_task(book.run())
    try:
        await clock.settle()
        assert await book.find(account_id, "Your OTP is 1234. - ACME") is None
        clock.advance(5.0)  # the refresh reads the database in its own time

        async def held() -> bool:
            return await book.find(account_id, "Your OTP is 1234. - ACME") is not None

        await wait_for(held)
        found = await book.find(account_id, "Your OTP is 1234. - ACME")
        assert found is not None and found.max_var_chars == 4
        assert await book.find(account_id, "Your OTP is 12345. - ACME") is None  # over 4
        async with database.transaction() as conn:
            assert await store.remove_template(conn, None, found.id or "")
        clock.advance(5.0)

        async def let_go() -> bool:
            return not await held()

        await wait_for(let_go)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_import_stores_good_rows_and_says_why_of_the_others(
    database: Database, account_id: str
) -> None:
    rows = read_csv(
        "template_id,text,category,entity_id\n"
        "1,Your OTP is {#var#}. - ACME,T,1101\n"
        "2,Hi {#Var#},,\n"
        "1,Duplicate {#var#},,\n"
        "3,Sale today - ACME,promotional,\n"
    )
    async with database.transaction() as conn:
        imported = await import_templates(conn, time.time(), account_id, rows)
    assert [t.template_id for t in imported.added] == ["1", "3"]
    assert [line for line, _ in imported.refused] == [3, 4]
    assert "written {#var#} exactly" in imported.refused[0][1]
    assert imported.refused[1][1] == "template 1 already exists"
    async with database.read() as conn:
        listed = await store.templates_of(conn, account_id)
    assert [(t.template_id, t.category) for t in listed] == [
        ("1", Category.TRANSACTIONAL),
        ("3", Category.PROMOTIONAL),
    ]
