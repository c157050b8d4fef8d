"""Delivery-report correlation: from a carrier's receipt to the message's final status.

A receipt names one segment by the carrier's id. Its part row is updated; once every part of
the message has a final outcome the message takes it (delivered only if every part was
delivered, else the first failing part's outcome). A receipt for an id we do not know yet
(it overtook the recording of its submit_sm_resp) is kept and applied when the submit lands.
Receipts are applied in batches, each one write in the engine's turn (``unit_of_work.py``),
whose transaction also claims the status callbacks they queue (``outbox.py``) and credits back
the price of messages whose outcome the operator refunds (``refund_on``, ``money.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import DeliveryReport, Message, ReceiptStatus
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.batch_worker import BatchWorker, clean_text
from smsrelay.engine.clock import Clock
from smsrelay.engine.delivery_stats import DeliveryStats
from smsrelay.engine.money import settle_changes
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import messages as message_store
from smsrelay.store import receipts as receipt_store

log = logging.getLogger(__name__)

_FINAL_PART = {
    ReceiptStatus.DELIVERED: MessageStatus.DELIVERED,
    ReceiptStatus.UNDELIVERED: MessageStatus.UNDELIVERED,
    ReceiptStatus.EXPIRED: MessageStatus.EXPIRED,
    ReceiptStatus.REJECTED: MessageStatus.REJECTED,
}

_ERROR_OF = {
    MessageStatus.UNDELIVERED: str(ErrorCode.CARRIER_UNDELIVERED),
    MessageStatus.EXPIRED: str(ErrorCode.CARRIER_EXPIRED),
    MessageStatus.REJECTED: str(ErrorCode.CARRIER_REJECTED),
}


def combined_status(part_statuses: Sequence[str]) -> MessageStatus | None:
    """The message's final status from its parts, or None while any part is still open."""
    finals = [_FINAL_PART.get(ReceiptStatus(s)) for s in part_statuses]
    if not finals or any(f is None for f in finals):
        return None
    for status in finals:
        if status is not MessageStatus.DELIVERED:
            return status
    return MessageStatus.DELIVERED


async def apply_report(conn: AsyncConnection, report: DeliveryReport, now: float) -> Message | None:
    """Apply one receipt inside the caller's transaction; the message if its status changed."""
    changed = await apply_reports(conn, [report], now)
    return changed[0] if changed else None


async def apply_reports(
    conn: AsyncConnection, reports: Sequence[DeliveryReport], now: float
) -> list[Message]:
    """Apply receipts in the caller's transaction with a fixed number of statements.

    Unknown carrier ids are parked for later; known ones update their part; every message
    whose parts are now all final takes the combined status. Returns the messages that
    changed. Receipts for the same part apply in arrival order (the last one wins).
    """
    parts, all_parts = await receipt_store.parts_for_receipts(
        conn, [(r.connector, r.carrier_id) for r in reports]
    )
    unmatched = [r for r in reports if (r.connector, r.carrier_id) not in parts]
    await receipt_store.keep_unmatched_many(conn, unmatched, now)
    updates: dict[tuple[str, int], tuple[str, int, str, str | None]] = {}
    for r in reports:
        part = parts.get((r.connector, r.carrier_id))
        if part is None or r.status in (ReceiptStatus.ACCEPTED, ReceiptStatus.UNKNOWN):
            continue
        updates[(part.message_id, part.seq)] = (part.message_id, part.seq, str(r.status), r.error)
    if not updates:
        return []
    await receipt_store.update_parts(conn, list(updates.values()), now)
    touched = sorted({message_id for message_id, _ in updates})
    for message_id in touched:  # the parts as just written, without reading them back
        all_parts[message_id] = [
            dataclasses.replace(p, status=updates[key][2], error=updates[key][3], updated_at=now)
            if (key := (p.message_id, p.seq)) in updates
            else p
            for p in all_parts[message_id]
        ]
    changes = []
    for message_id in touched:
        message_parts = all_parts.get(message_id, [])
        final = combined_status([p.status for p in message_parts])
        if final is None:
            continue
        errors = [p.error for p in message_parts if p.error and p.status != "delivered"]
        detail = (
            None if final is MessageStatus.DELIVERED or not errors else f"carrier error {errors[0]}"
        )
        changes.append(message_store.StatusChange(message_id, final, _ERROR_OF.get(final), detail))
    carrier_ids = {m: [p.carrier_id for p in all_parts.get(m, [])] for m in touched}
    return await message_store.change_status_many(conn, changes, now, carrier_ids=carrier_ids)


async def apply_early_receipts(
    conn: AsyncConnection, connector: str, carrier_ids: Sequence[str], now: float
) -> list[Message]:
    """Apply receipts that arrived before their submit outcome was stored."""
    return await apply_reports(
        conn, await receipt_store.take_unmatched(conn, connector, carrier_ids), now
    )


async def apply_late_matches(conn: AsyncConnection, now: float) -> list[Message]:
    """Apply parked receipts whose part has been stored since (the periodic sweep)."""
    return await apply_reports(conn, await receipt_store.take_matchable(conn), now)


class DlrProcessor(BatchWorker[DeliveryReport]):
    """Receives receipts from connectors and applies them in the engine's turns."""

    name = "dlr"

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        outbox: Claimant[Any] | None = None,
        max_batch: int = 1000,
        refund_on: frozenset[str] = frozenset(),
        delivery: DeliveryStats | None = None,
    ) -> None:
        """``outbox``: the webhook outbox, which claims the callbacks a batch queues in the
        same turn; ``delivery``: where the turn counts the outcomes per connector."""
        super().__init__(clock, max_batch=max_batch)
        self._uow = uow
        self._outbox = outbox
        self._refund_on = refund_on
        self._delivery = delivery

    async def report(self, report: DeliveryReport) -> None:
        """The connectors' sink: returns once the receipt is stored (then it may be acked)."""
        await self.submit(
            dataclasses.replace(
                report,
                carrier_id=clean_text(report.carrier_id, 80),
                error=None if report.error is None else clean_text(report.error, 40),
            )
        )

    async def _apply_batch(self, batch: Sequence[DeliveryReport]) -> None:
        if not batch:
            return
        outbox, refund_on, delivery = self._outbox, self._refund_on, self._delivery

        async def write(conn: AsyncConnection, now: float) -> None:
            changed = await apply_reports(conn, batch, now)
            if delivery is not None:
                delivery.finals(changed, now)
            await settle_changes(conn, changed, now, refund_on=refund_on, outbox=outbox)

        await self._uow.run(write, weight=len(batch))
