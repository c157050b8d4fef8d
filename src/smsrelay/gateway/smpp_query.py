"""query_sm and cancel_sm for a client's ids: a message's own id or one part's.

A long message a client sent in parts is one message here, but the client was answered a
distinct id per part (``<message_id>-<n>``, ``store/smpp_parts.py``) and may ask about any of
them. A part's id names its message: query_sm answers that part's state (its own fate once
the message is final, as in its receipt), and cancel_sm cancels the whole message, since
the parts of a queued message leave together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Message
from smsrelay.domain.states import FINAL
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.notify import part_statuses
from smsrelay.gateway.smpp_convert import STATE_OF
from smsrelay.smpp.constants import CommandStatus
from smsrelay.smpp.pdu import Pdu, response_to
from smsrelay.store import messages as message_store
from smsrelay.store import smpp_parts as parts_store
from smsrelay.store.db import Database

__all__ = ["Found", "cancel_sm", "find", "query_sm"]


@dataclass(frozen=True, slots=True)
class Found:
    """The message an id names, and which part (None: the message's own id)."""

    message: Message
    part: int | None
    parts: int


async def find(db: Database, account_id: str, value: str) -> Found | None:
    """The account's message that ``value`` names, as its own id or a part's; else None."""
    async with db.read() as conn:
        message = await message_store.get_message(conn, value, account_id=account_id)
        if message is not None:
            return Found(message, None, 0)
        message_id, n = parts_store.split_part_id(value)
        if n is None:
            return None
        count = (await parts_store.client_parts_of(conn, [message_id])).get(message_id, 0)
        if n > count:
            return None
        message = await message_store.get_message(conn, message_id, account_id=account_id)
        if message is None:
            return None
        carrier = (await parts_store.carrier_part_statuses(conn, [message_id])).get(message_id)
    if message.status in FINAL:  # the part's own fate, as its receipt tells it
        message = replace(message, status=part_statuses(message, count, carrier or {})[n - 1])
    return Found(message, n, count)


async def query_sm(db: Database, account_id: str, pdu: Pdu) -> Pdu:
    value = pdu.str_field("message_id")
    found = await find(db, account_id, value)
    if found is None:
        return response_to(pdu, CommandStatus.ESME_RQUERYFAIL)
    message = found.message
    final = ""
    if message.status in FINAL:
        at = datetime.fromtimestamp(message.updated_at, UTC)
        final = f"{at:%y%m%d%H%M%S}000+"
    return response_to(
        pdu,
        0,
        {
            "message_id": value,
            "final_date": final,
            "message_state": int(STATE_OF[message.status]),
            "error_code": 0,
        },
    )


async def cancel_sm(db: Database, canceller: Canceller, account_id: str, pdu: Pdu) -> Pdu:
    value = pdu.str_field("message_id")
    if not value:  # §4.9.1 bulk cancel by address is not offered
        return response_to(pdu, CommandStatus.ESME_RCANCELFAIL)
    found = await find(db, account_id, value)
    if found is None:
        return response_to(pdu, CommandStatus.ESME_RINVMSGID)
    try:
        await canceller.cancel(account_id, found.message.id)
    except SmsError as error:
        status = (
            CommandStatus.ESME_RINVMSGID
            if error.code is ErrorCode.NOT_FOUND
            else error.spec.smpp_status
        )
        return response_to(pdu, status)
    return response_to(pdu, 0)
