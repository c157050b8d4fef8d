"""The parts an SMPP client sent a long message in, and the ids those parts are known by.

A long message that arrives as UDH or SAR parts is stored as one message, but an SMSC gives
every part its own id and its own receipt, and clients key their receipts on those ids. A
part's id is derived, not stored: ``<message_id>-<n>`` for part n (at most 34 characters,
well inside SMPP's 65), so query_sm and cancel_sm find the message by cutting the suffix off
and no lookup table is needed. What is stored is only how many parts the client sent
(``smpp_client_parts``), which the receipts and the REST view need.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.schema import message_parts, smpp_client_parts

__all__ = [
    "carrier_part_statuses",
    "client_parts_of",
    "part_id",
    "part_ids",
    "record_client_parts",
    "split_part_id",
]

_PART_ID = re.compile(r"^(.+)-([1-9][0-9]{0,2})$")


def part_id(message_id: str, n: int) -> str:
    """The id a client knows part ``n`` (1-based) of a long message by."""
    return f"{message_id}-{n}"


def part_ids(message_id: str, parts: int) -> list[str]:
    return [part_id(message_id, n) for n in range(1, parts + 1)]


def split_part_id(value: str) -> tuple[str, int | None]:
    """``(message_id, n)`` for a part's id; ``(value, None)`` for anything else.

    Message ids never contain ``-`` (``domain/ids.py``), so a message's own id is never
    mistaken for a part's."""
    match = _PART_ID.match(value)
    if match is None:
        return value, None
    return match.group(1), int(match.group(2))


async def record_client_parts(
    conn: AsyncConnection, counts: Sequence[tuple[str, int]], now: float
) -> None:
    """Remember how many parts each (message id, count) came in, in the write that stores the
    messages (``messages.insert_messages``): one INSERT."""
    if counts:
        await conn.execute(
            smpp_client_parts.insert(),
            [{"message_id": m, "parts": n, "created_at": now} for m, n in counts],
        )


async def client_parts_of(conn: AsyncConnection, message_ids: Sequence[str]) -> dict[str, int]:
    """Part counts of those messages that came in parts (the others are absent)."""
    if not message_ids:
        return {}
    c = smpp_client_parts.c
    rows = await conn.execute(
        select(c.message_id, c.parts).where(c.message_id.in_(list(set(message_ids))))
    )
    return {r.message_id: r.parts for r in rows}


async def carrier_part_statuses(
    conn: AsyncConnection, message_ids: Sequence[str]
) -> dict[str, dict[int, str]]:
    """Each message's segments as submitted to the carrier: seq → receipt status."""
    if not message_ids:
        return {}
    p = message_parts.c
    rows = await conn.execute(
        select(p.message_id, p.seq, p.status).where(p.message_id.in_(list(set(message_ids))))
    )
    out: dict[str, dict[int, str]] = {}
    for r in rows:
        out.setdefault(r.message_id, {})[r.seq] = r.status
    return out
