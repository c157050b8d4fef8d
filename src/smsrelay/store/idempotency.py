"""Idempotency keys: the stored answer to a request, replayed when the client retries it.

Per account and key, for ``ttl`` seconds (24 h by default, DESIGN.md). The engine compares
``request_hash`` to tell a retry (same body: replay the answer) from a conflict (different body:
``idempotency_conflict``); this module only stores and finds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.db import dialect_insert
from smsrelay.store.schema import idempotency_keys

__all__ = [
    "DEFAULT_TTL",
    "IdempotencyRecord",
    "IdempotencyTaken",
    "get_idempotency",
    "purge_idempotency",
    "put_idempotency",
]

DEFAULT_TTL = 86400.0


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    account_id: str
    key: str
    request_hash: str
    response_status: int
    response_body: str
    created_at: float
    expires_at: float


async def get_idempotency(
    conn: AsyncConnection, account_id: str, key: str, now: float
) -> IdempotencyRecord | None:
    """The live record for ``(account_id, key)``; an expired one counts as absent."""
    t = idempotency_keys
    row = (
        await conn.execute(
            select(t).where(t.c.account_id == account_id, t.c.key == key, t.c.expires_at > now)
        )
    ).first()
    if row is None:
        return None
    return IdempotencyRecord(
        account_id=row.account_id,
        key=row.key,
        request_hash=row.request_hash,
        response_status=row.response_status,
        response_body=row.response_body,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def put_idempotency(
    conn: AsyncConnection,
    account_id: str,
    key: str,
    request_hash: str,
    response_status: int,
    response_body: str,
    now: float,
    ttl: float = DEFAULT_TTL,
) -> None:
    """Store the answer for a key (replacing an expired record for it, if one is left).

    Raises :class:`IdempotencyTaken` when a live record exists: another request (maybe on
    another node) committed the same key first. The caller's transaction must then roll
    back, so nothing is sent twice, and the stored answer be replayed.
    """
    values = {
        "account_id": account_id,
        "key": key,
        "request_hash": request_hash,
        "response_status": response_status,
        "response_body": response_body,
        "created_at": now,
        "expires_at": now + ttl,
    }
    # both dialects spell the upsert the same way, but it is a dialect construct
    insert = dialect_insert(conn)
    stmt = insert(idempotency_keys).values(values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[idempotency_keys.c.account_id, idempotency_keys.c.key],
        set_={k: stmt.excluded[k] for k in values if k not in ("account_id", "key")},
        where=idempotency_keys.c.expires_at <= now,
    ).returning(idempotency_keys.c.key)
    if (await conn.execute(upsert)).first() is None:
        raise IdempotencyTaken(account_id, key)


class IdempotencyTaken(Exception):
    """A live record already holds this Idempotency-Key."""

    def __init__(self, account_id: str, key: str) -> None:
        super().__init__(f"idempotency key already used: account={account_id}")
        self.account_id = account_id
        self.key = key


async def purge_idempotency(conn: AsyncConnection, now: float) -> int:
    """Delete expired records; how many."""
    result = await conn.execute(
        delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
    )
    return max(result.rowcount, 0)
