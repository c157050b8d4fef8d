"""Delivery-report correlation: from a carrier's receipt to the message's final status.

A receipt names one segment by the carrier's id. Its part row is updated; once every part of
the message has a final outcome the message takes it (delivered only if every part was
delivered, else the first failing part's outcome). A receipt for an id we do not know yet
(it overtook the recording of its submit_sm_resp) is kept and applied when the submit lands.
Receipts are applied in batches: one transaction for everything that arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import DeliveryReport, Message, ReceiptStatus
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.clock import Clock
from smsrelay.engine.notify import enqueue_status_callbacks
from smsrelay.store import messages as message_store
from smsrelay.store import receipts as receipt_store
from smsrelay.store.db import Database

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


async def apply_report(conn: AsyncConnection, report: DeliveryReport,
                       now: float) -> Message | None:
    """Apply one receipt inside the caller's transaction; the message if its status changed."""
    part = await receipt_store.find_part(conn, report.connector, report.carrier_id)
    if part is None:
        await receipt_store.keep_unmatched(conn, report, now)
        return None
    if report.status in (ReceiptStatus.ACCEPTED, ReceiptStatus.UNKNOWN):
        return None
    await receipt_store.update_part(conn, part.message_id, part.seq, status=str(report.status),
                                    error=report.error, now=now)
    parts = await receipt_store.parts_of(conn, part.message_id)
    final = combined_status([p.status for p in parts])
    if final is None:
        return None
    error_code = _ERROR_OF.get(final)
    detail = None if report.error is None else f"carrier error {report.error}"
    return await message_store.change_status(conn, part.message_id, final, now,
                                             error_code=error_code, detail=detail)


async def apply_early_receipts(conn: AsyncConnection, connector: str,
                               carrier_ids: Sequence[str], now: float) -> list[Message]:
    """Apply receipts that arrived before their submit outcome was stored."""
    changed = []
    for report in await receipt_store.take_unmatched(conn, connector, carrier_ids):
        message = await apply_report(conn, report, now)
        if message is not None:
            changed.append(message)
    return changed


async def apply_late_matches(conn: AsyncConnection, now: float) -> list[Message]:
    """Apply parked receipts whose part has been stored since (the periodic sweep)."""
    changed = []
    for report in await receipt_store.take_matchable(conn):
        message = await apply_report(conn, report, now)
        if message is not None:
            changed.append(message)
    return changed


class DlrProcessor:
    """Receives receipts from connectors and applies them in batched transactions."""

    def __init__(self, db: Database, clock: Clock, *,
                 on_callbacks: Callable[[], None] | None = None,
                 max_batch: int = 1000) -> None:
        self._db = db
        self._clock = clock
        self._on_callbacks = on_callbacks
        self._max_batch = max_batch
        self._queue: asyncio.Queue[DeliveryReport] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def report(self, report: DeliveryReport) -> None:
        """The connectors' sink: never blocks the connector's read loop."""
        self._queue.put_nowait(report)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dlr")

    async def stop(self) -> None:
        if self._task is not None:
            await self.drain()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def drain(self) -> None:
        """Apply everything received so far (for shutdown and tests)."""
        while not self._queue.empty():
            await self._apply_batch(self._take_batch())

    def _take_batch(self) -> list[DeliveryReport]:
        batch: list[DeliveryReport] = []
        while not self._queue.empty() and len(batch) < self._max_batch:
            batch.append(self._queue.get_nowait())
        return batch

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first, *self._take_batch()]
            try:
                await self._apply_batch(batch)
            except Exception:
                log.exception("applying %d receipts failed; retrying shortly", len(batch))
                await asyncio.sleep(1.0)
                for report in batch:
                    self._queue.put_nowait(report)

    async def _apply_batch(self, batch: list[DeliveryReport]) -> None:
        if not batch:
            return
        now = self._clock.now()
        async with self._db.transaction() as conn:
            changed = [await apply_report(conn, report, now) for report in batch]
            queued = await enqueue_status_callbacks(conn, changed, now)
        self.applied += len(batch)
        if queued and self._on_callbacks is not None:
            self._on_callbacks()
