"""Registration ids are stored apart, with their message, and read for many in one query."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from smsrelay.domain.errors import SmsError
from smsrelay.domain.registration import Registration
from smsrelay.store.db import Database
from smsrelay.store.messages import get_message, insert_messages
from smsrelay.store.registrations import registrations_of
from smsrelay.store.schema import message_registrations
from tests.store.factories import T0, a_message, an_account


async def test_rows_only_for_messages_with_ids_read_back_for_a_batch(database: Database) -> None:
    async with database.transaction() as conn:
        account = await an_account(conn)
        msgs = [a_message(account.id, T0 + i) for i in range(4)]
        msgs[0] = dataclasses.replace(msgs[0], registration=Registration("PE", "TPL", "TM"))
        msgs[2] = dataclasses.replace(msgs[2], registration=Registration(template_id="TPL2"))
        await insert_messages(conn, msgs, T0)
    async with database.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(message_registrations))
        found = await registrations_of(conn, [m.id for m in msgs])
        stored = await get_message(conn, msgs[0].id)
    assert count == 2
    assert found == {
        msgs[0].id: Registration("PE", "TPL", "TM"),
        msgs[2].id: Registration(template_id="TPL2"),
    }
    assert stored is not None and stored.registration is None  # the row alone: read apart


async def test_a_failed_insert_leaves_no_registration(database: Database) -> None:
    async with database.transaction() as conn:
        account = await an_account(conn)
        first = dataclasses.replace(a_message(account.id), registration=Registration("PE"))
        await insert_messages(conn, [first], T0)
    with pytest.raises(SmsError):  # the same id again (ALREADY_EXISTS): nothing is written
        async with database.transaction() as conn:
            again = dataclasses.replace(
                a_message(account.id, T0 + 1), registration=Registration("PE2")
            )
            await insert_messages(conn, [again, first], T0)
    async with database.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(message_registrations))
    assert count == 1
