"""Idempotency records: per account, expire after their TTL, replaced by a later put."""

from __future__ import annotations

from smsrelay.store import idempotency
from smsrelay.store.db import Database
from tests.store.factories import T0, an_account


async def test_put_get_expire_purge(database: Database) -> None:
    async with database.transaction() as conn:
        a = await an_account(conn)
        b = await an_account(conn)
        await idempotency.put_idempotency(conn, a.id, "k1", "h1", 202, '{"id": 1}', T0, ttl=60)
        await idempotency.put_idempotency(conn, a.id, "k2", "h2", 202, "{}", T0)

    async with database.read() as conn:
        rec = await idempotency.get_idempotency(conn, a.id, "k1", T0 + 59)
        assert rec == idempotency.IdempotencyRecord(a.id, "k1", "h1", 202, '{"id": 1}', T0, T0 + 60)
        assert await idempotency.get_idempotency(conn, a.id, "k1", T0 + 60) is None  # expired
        assert await idempotency.get_idempotency(conn, b.id, "k1", T0) is None  # per account
        k2 = await idempotency.get_idempotency(conn, a.id, "k2", T0 + 86399)
        assert k2 is not None and k2.expires_at == T0 + 86400

    async with database.transaction() as conn:
        # an expired key may be used again: the put replaces the old record
        await idempotency.put_idempotency(conn, a.id, "k1", "h3", 409, "{}", T0 + 100, ttl=60)
        rec = await idempotency.get_idempotency(conn, a.id, "k1", T0 + 101)
        assert rec is not None and (rec.request_hash, rec.response_status) == ("h3", 409)
        assert await idempotency.purge_idempotency(conn, T0 + 1000) == 1  # k1 (k2 lives on)
        assert await idempotency.purge_idempotency(conn, T0 + 1000) == 0
        assert await idempotency.get_idempotency(conn, a.id, "k2", T0 + 1000) is not None


async def test_a_live_key_cannot_be_taken_twice(database: Database) -> None:
    """Two nodes racing on one key: the second commit must fail, not overwrite."""
    import pytest

    async with database.transaction() as conn:
        a = await an_account(conn)
        await idempotency.put_idempotency(conn, a.id, "k", "h1", 202, '{"n": 1}', T0)
    with pytest.raises(idempotency.IdempotencyTaken):
        async with database.transaction() as conn:
            await idempotency.put_idempotency(conn, a.id, "k", "h2", 202, '{"n": 2}', T0 + 1)
    async with database.read() as conn:
        rec = await idempotency.get_idempotency(conn, a.id, "k", T0 + 2)
    assert rec is not None and rec.request_hash == "h1"
