"""A message's national language is stored with its encoding (``gsm7-tr``) and read back by
every way a message is read: get, list, claim."""

from __future__ import annotations

import pytest

from smsrelay.domain.errors import SmsError
from smsrelay.domain.messages import Encoding
from smsrelay.store import accounts, messages, queue
from smsrelay.store.db import Database
from smsrelay.store.schema import messages as messages_table
from tests.store.factories import T0, a_message, an_account


async def test_the_language_survives_the_round_trip(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        turkish = a_message(acc.id, T0, body="Şişli'de ığdır", language="tr")
        plain = a_message(acc.id, T0 + 1)
        ucs2 = a_message(acc.id, T0 + 2, body="Привет", encoding=Encoding.UCS2)
        await messages.insert_messages(conn, [turkish, plain, ucs2], T0)

    async with database.read() as conn:
        column = messages_table.c.encoding
        stored = {
            row.id: row.encoding
            for row in await conn.execute(
                messages_table.select().with_only_columns(messages_table.c.id, column)
            )
        }
        assert stored == {turkish.id: "gsm7-tr", plain.id: "gsm7", ucs2.id: "ucs2"}
        assert await messages.get_message(conn, turkish.id) == turkish
        assert await messages.get_message(conn, plain.id) == plain

    async with database.transaction() as conn:
        claimed = await queue.claim(conn, worker="w", now=T0 + 10, lease_seconds=30, limit=10)
    by_id = {m.id: m for m in claimed}
    assert (by_id[turkish.id].encoding, by_id[turkish.id].language) == (Encoding.GSM7, "tr")
    assert by_id[plain.id].language is None and by_id[ucs2.id].language is None


async def test_account_encoding_settings_default_off_and_update(database: Database) -> None:
    async with database.transaction() as conn:
        made = await accounts.create_account(conn, "translit", T0)
        assert not made.transliterate
        on = await accounts.update_account(conn, "translit", transliterate=True)
        assert on.transliterate and on.name == "translit"
        again = await accounts.get_account(conn, made.id)
        assert again is not None and again.transliterate
        assert again.national_language is None
        turkish = await accounts.update_account(conn, "translit", national_language="tr")
        assert turkish.national_language == "tr" and turkish.transliterate
        with pytest.raises(SmsError) as refused:
            await accounts.update_account(conn, "translit", national_language="xx")
        assert refused.value.field == "national_language"
        cleared = await accounts.update_account(conn, "translit", national_language=None)
        assert cleared.national_language is None
