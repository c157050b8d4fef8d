"""Messages: batch insert with first events, get, list with filters and cursors, guarded
status changes, cancel."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import MessageEvent
from smsrelay.domain.states import MessageStatus as S
from smsrelay.store import _status, messages, queue
from smsrelay.store.db import Database
from smsrelay.store.schema import message_events
from smsrelay.store.schema import messages as messages_table
from tests.store.factories import T0, a_message, an_account


async def test_insert_get_and_first_events(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        other = await an_account(conn)
        queued = a_message(
            acc.id,
            T0,
            client_ref="r1",
            callback_url="https://cb.example/",
            expires_at=T0 + 3600,
            variant="b",
        )
        scheduled = a_message(acc.id, T0 + 1, status=S.SCHEDULED, not_before=T0 + 600)
        await messages.insert_messages(conn, [queued, scheduled], T0)
        await messages.insert_messages(conn, [], T0)  # nothing to do, no error

    async with database.read() as conn:
        assert await messages.get_message(conn, queued.id) == queued
        assert await messages.get_message(conn, scheduled.id, account_id=acc.id) == scheduled
        assert await messages.get_message(conn, queued.id, account_id=other.id) is None
        assert await messages.get_message(conn, "msg_missing") is None
        assert await messages.get_events(conn, queued.id) == [MessageEvent(queued.id, S.QUEUED, T0)]
        assert await messages.get_events(conn, scheduled.id) == [
            MessageEvent(scheduled.id, S.SCHEDULED, T0)
        ]


async def test_duplicate_id_is_already_exists(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        m = a_message(acc.id)
        await messages.insert_messages(conn, [m], T0)
    with pytest.raises(SmsError) as info:
        async with database.transaction() as conn:
            await messages.insert_messages(conn, [m], T0)
    assert info.value.code is ErrorCode.ALREADY_EXISTS


async def test_list_filters(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        other = await an_account(conn)
        ms = [
            a_message(acc.id, T0 + 0, to="+491111", client_ref="a"),
            a_message(acc.id, T0 + 10, to="+492222", client_ref="b"),
            a_message(
                acc.id,
                T0 + 20,
                to="+491111",
                client_ref="b",
                status=S.SCHEDULED,
                not_before=T0 + 999,
            ),
            a_message(acc.id, T0 + 30, to="+493333"),
        ]
        await messages.insert_messages(conn, [*ms, a_message(other.id, T0 + 5)], T0)
        await messages.cancel_message(conn, acc.id, ms[3].id, T0 + 40)

    async def ids(**kw: object) -> list[str]:
        async with database.read() as conn:
            return [m.id for m in await messages.list_messages(conn, acc.id, **kw)]

    newest_first = [m.id for m in reversed(ms)]
    assert await ids() == newest_first
    assert await ids(status=S.QUEUED) == [ms[1].id, ms[0].id]
    assert await ids(status=S.CANCELED) == [ms[3].id]
    assert await ids(to="+491111") == [ms[2].id, ms[0].id]
    assert await ids(client_ref="b") == [ms[2].id, ms[1].id]
    assert await ids(since=T0 + 10) == [ms[3].id, ms[2].id, ms[1].id]
    assert await ids(until=T0 + 10) == [ms[0].id]
    assert await ids(since=T0 + 10, until=T0 + 30, to="+491111") == [ms[2].id]
    assert await ids(client_ref="none") == []
    assert await ids(limit=2) == newest_first[:2]


async def test_cursor_pagination_walks_every_page_once(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        ms = [a_message(acc.id, T0 + i * 0.001) for i in range(23)]  # same second, by ms
        await messages.insert_messages(conn, ms, T0)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        async with database.read() as conn:
            page = await messages.list_messages(conn, acc.id, cursor=cursor, limit=5)
        if not page:
            break
        pages += 1
        seen += [m.id for m in page]
        cursor = page[-1].id
    assert pages == 5
    assert seen == sorted((m.id for m in ms), reverse=True)


async def test_status_changes_apply_allowed_transitions(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        m = a_message(acc.id)
        await messages.insert_messages(conn, [m], T0)
        [sending] = await queue.claim(conn, worker="w1", now=T0 + 1, lease_seconds=30, limit=1)
        assert sending.status is S.SENDING
        assert sending.updated_at == T0 + 1
        [failed] = await messages.change_status_many(
            conn, [messages.StatusChange(m.id, S.FAILED, "carrier_rejected", "nope")], T0 + 2
        )
        assert (failed.status, failed.error_code, failed.error_message) == (
            S.FAILED,
            "carrier_rejected",
            "nope",
        )
        row = (await conn.execute(select(messages_table).where(messages_table.c.id == m.id))).one()
        assert (row.worker, row.lease_until, row.final_at) == ("w1", T0 + 31, T0 + 2)
        assert [
            (e.status, e.at, e.error_code, e.detail) for e in await messages.get_events(conn, m.id)
        ] == [
            (S.QUEUED, T0, None, None),
            (S.SENDING, T0 + 1, None, None),
            (S.FAILED, T0 + 2, "carrier_rejected", "nope"),
        ]


async def test_illegal_transition_returns_none_and_writes_nothing(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        m = a_message(acc.id)
        await messages.insert_messages(conn, [m], T0)
        changes = [
            messages.StatusChange(m.id, S.DELIVERED),
            messages.StatusChange(m.id, S.SENT),
            messages.StatusChange("msg_missing", S.SENDING),
        ]
        assert await messages.change_status_many(conn, changes, T0 + 1) == []
        events = await conn.scalar(select(func.count()).select_from(message_events))
        assert events == 1
        assert await messages.get_message(conn, m.id) == m
        with pytest.raises(ValueError):  # the status change owns these columns
            _status.guarded_update(m.id, S.SENDING, T0, values={"status": "sent"})


async def test_cancel(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        other = await an_account(conn)
        queued = a_message(acc.id, T0)
        scheduled = a_message(acc.id, T0 + 1, status=S.SCHEDULED, not_before=T0 + 999)
        claimed = a_message(acc.id, T0 + 2, priority=9)
        await messages.insert_messages(conn, [queued, scheduled, claimed], T0)
        assert [
            m.id for m in await queue.claim(conn, worker="w", now=T0 + 3, lease_seconds=30, limit=1)
        ] == [claimed.id]

        done = await messages.cancel_message(conn, acc.id, queued.id, T0 + 5)
        assert done.status is S.CANCELED
        assert (
            await messages.cancel_message(conn, acc.id, scheduled.id, T0 + 5)
        ).status is S.CANCELED
        for message_id, account_id, code in [
            (claimed.id, acc.id, ErrorCode.NOT_CANCELABLE),
            (queued.id, acc.id, ErrorCode.NOT_CANCELABLE),  # already canceled
            (queued.id, other.id, ErrorCode.NOT_FOUND),
            ("msg_missing", acc.id, ErrorCode.NOT_FOUND),
        ]:
            with pytest.raises(SmsError) as info:
                await messages.cancel_message(conn, account_id, message_id, T0 + 6)
            assert info.value.code is code
        final_at = await conn.scalar(
            select(messages_table.c.final_at).where(messages_table.c.id == queued.id)
        )
        assert final_at == T0 + 5
