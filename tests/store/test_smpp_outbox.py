"""The SMPP outbox: enqueue, claim for bound users only, sent, retry, TTL; both backends."""

from __future__ import annotations

from smsrelay.store import smpp_outbox as store
from smsrelay.store.db import Database
from smsrelay.store.smpp_outbox import NewSmppDelivery
from tests.store.factories import T0, an_account


def _item(account_id: str, user: str | None, ref: str) -> NewSmppDelivery:
    return NewSmppDelivery(
        account_id=account_id,
        smpp_user_id=user,
        kind="receipt",
        ref_id=ref,
        source_addr="4915112345678",
        destination_addr="Acme",
        body="hi",
        status="delivered",
        submitted_at=T0,
        done_at=T0,
    )


async def test_claim_send_retry_expire(database: Database) -> None:
    async with database.transaction() as conn:
        a = await an_account(conn)
        await store.enqueue_smpp(
            conn,
            [_item(a.id, "u1", "m1"), _item(a.id, "u2", "m2"), _item(a.id, None, "m3")],
            T0,
            ttl=100,
        )
    async with database.read() as conn:
        assert await store.accounts_with_due(conn, T0) == {a.id}
    async with database.transaction() as conn:
        claimed = await store.claim_smpp(conn, a.id, ["u1"], now=T0, lease_seconds=30, limit=10)
        assert [c.ref_id for c in claimed] == ["m1", "m3"]  # not u2's, and the account-wide
        assert (
            await store.claim_smpp(conn, a.id, ["u1"], now=T0, lease_seconds=30, limit=10) == []
        )  # leased
        await store.mark_smpp_sent(conn, [claimed[0].id], T0)
        await store.retry_smpp(conn, [claimed[1].id], T0 + 5)
    async with database.transaction() as conn:
        assert (
            await store.claim_smpp(conn, a.id, ["u1"], now=T0 + 1, lease_seconds=30, limit=10) == []
        )
        again = await store.claim_smpp(
            conn, a.id, ["u1", "u2"], now=T0 + 6, lease_seconds=30, limit=1
        )
        assert [c.ref_id for c in again] == ["m2"]  # oldest first, limited by the window
        assert await store.expire_smpp(conn, T0 + 100) == 2
    async with database.read() as conn:
        rows = await store.list_smpp_deliveries(conn, account_id=a.id)
    assert [(r.ref_id, r.state, r.attempts) for r in rows] == [
        ("m1", "sent", 1),
        ("m2", "expired", 0),
        ("m3", "expired", 1),
    ]
