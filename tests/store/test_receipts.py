"""Receipt correlation data: parts by carrier id, receipts parked until their part exists."""

from __future__ import annotations

from smsrelay.domain.messages import DeliveryReport, ReceiptStatus
from smsrelay.store import messages, queue, receipts
from smsrelay.store.db import Database
from smsrelay.store.receipts import Part
from tests.store.factories import T0, a_message, an_account

NOW = T0 + 100


async def test_parts_found_by_carrier_id_and_updated(database: Database) -> None:
    async with database.transaction() as conn:
        acc = await an_account(conn)
        m = a_message(acc.id, segments=2)
        await messages.insert_messages(conn, [m], T0)
        await queue.claim(conn, worker="w", now=NOW, lease_seconds=30, limit=1)
        await queue.record_submitted(
            conn, m.id, connector="smpp-a", carrier_ids=["A1", "A2"], now=NOW, dlr_deadline=NOW + 60
        )

        a1 = Part(m.id, 1, "smpp-a", "A1", "accepted", None, NOW)
        a2 = Part(m.id, 2, "smpp-a", "A2", "accepted", None, NOW)
        matched, by_message = await receipts.parts_for_receipts(
            conn, [("smpp-a", "A2"), ("smpp-b", "A2"), ("smpp-a", "nope")]
        )
        assert matched == {("smpp-a", "A2"): a2}  # per connector
        assert by_message == {m.id: [a1, a2]}  # the message's other parts come along

        await receipts.update_parts(conn, [(m.id, 2, ReceiptStatus.UNDELIVERED, "001")], NOW + 5)
        parts = await receipts.parts_of(conn, m.id)
    assert [(p.seq, p.status, p.error, p.updated_at) for p in parts] == [
        (1, "accepted", None, NOW),
        (2, "undelivered", "001", NOW + 5),
    ]


async def test_unmatched_receipts_are_kept_taken_once_and_purged(database: Database) -> None:
    early = DeliveryReport(
        "smpp-a", "A1", ReceiptStatus.DELIVERED, at=NOW + 2, error="000", raw={"stat": "DELIVRD"}
    )
    earlier = DeliveryReport("smpp-a", "A1", ReceiptStatus.ACCEPTED, at=NOW + 1)
    elsewhere = DeliveryReport("smpp-b", "A1", ReceiptStatus.REJECTED, at=NOW)
    stale = DeliveryReport("smpp-a", "OLD", ReceiptStatus.EXPIRED, at=T0)
    async with database.transaction() as conn:
        await receipts.keep_unmatched(conn, early, NOW + 3)
        await receipts.keep_unmatched(conn, earlier, NOW + 3)
        await receipts.keep_unmatched(conn, elsewhere, NOW + 3)
        await receipts.keep_unmatched(conn, stale, T0)

    async with database.transaction() as conn:
        taken = await receipts.take_unmatched(conn, "smpp-a", ["A1", "A9"])
        assert await receipts.take_unmatched(conn, "smpp-a", ["A1"]) == []  # gone
        assert await receipts.take_unmatched(conn, "smpp-a", []) == []
    # oldest first; raw is not stored
    assert taken == [
        earlier,
        DeliveryReport("smpp-a", "A1", ReceiptStatus.DELIVERED, at=NOW + 2, error="000"),
    ]

    async with database.transaction() as conn:
        assert await receipts.purge_unmatched(conn, older_than=T0 + 1) == 1
        assert await receipts.purge_unmatched(conn, older_than=T0 + 1) == 0
        assert await receipts.take_unmatched(conn, "smpp-b", ["A1"]) == [elsewhere]
