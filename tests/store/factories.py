"""Builders for store tests: accounts and messages with sensible defaults."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.ids import new_id
from smsrelay.domain.messages import Encoding, Message, MessageKind
from smsrelay.domain.states import MessageStatus
from smsrelay.store import accounts

T0 = 1_700_000_000.0
_names = itertools.count(1)


async def an_account(conn: AsyncConnection, now: float = T0, **kw: Any) -> accounts.Account:
    return await accounts.create_account(conn, f"acct-{next(_names)}", now, **kw)


def a_message(account_id: str, created_at: float = T0, **kw: Any) -> Message:
    """A queued message created at ``created_at`` (its id sorts by that time)."""
    status = kw.pop("status", MessageStatus.QUEUED)
    fields: dict[str, Any] = {
        "id": new_id("msg", created_at),
        "account_id": account_id,
        "to": "+4915112345678",
        "country": "DE",
        "sender": "Acme",
        "body": "Your code is 1234",
        "encoding": Encoding.GSM7,
        "segments": 1,
        "kind": MessageKind.OTP,
        "priority": 5,
        "status": status,
        "created_at": created_at,
        "updated_at": created_at,
        "not_before": created_at,
    }
    fields.update(kw)
    return Message(**fields)
