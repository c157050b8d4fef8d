"""Helpers for the SMPP server tests: credentials and an smpplib session in a thread."""

from __future__ import annotations

import time
from typing import Any

from smsrelay.store import accounts as account_store
from smsrelay.store import smpp_users
from smsrelay.store.smpp_users import SmppUser
from tests.support.gateway import RunningGateway


async def make_user(
    gw: RunningGateway,
    system_id: str = "client1",
    password: str = "secret",
    account: str = "default",
    **kw: Any,
) -> SmppUser:
    assert gw.relay.db is not None
    async with gw.relay.db.transaction() as conn:
        found = await account_store.get_account_by_name(conn, account)
        if found is None:
            found = await account_store.create_account(conn, account, time.time())
        return await smpp_users.create_smpp_user(
            conn, found.id, system_id, password, time.time(), **kw
        )


def smpp_port(gw: RunningGateway) -> int:
    assert gw.relay.smpp_server is not None
    return gw.relay.smpp_server.port
