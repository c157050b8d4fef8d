"""Cancelling a message before it is handed to a carrier: one path for REST and SMPP.

A message can be canceled while it is ``queued`` or ``scheduled``; the status change and its
status callback are written in one transaction, so the customer hears of every cancel.
``POST /v1/messages/{id}/cancel`` and SMPP ``cancel_sm`` both come here.
"""

from __future__ import annotations

from collections.abc import Callable

from smsrelay.domain.messages import Message
from smsrelay.engine.clock import Clock
from smsrelay.engine.notify import enqueue_status_callbacks
from smsrelay.store import messages as message_store
from smsrelay.store.db import Database


class Canceller:
    def __init__(
        self, db: Database, clock: Clock, *, on_callbacks: Callable[[], None] | None = None
    ) -> None:
        """``on_callbacks`` wakes the webhook sender once a callback was queued."""
        self._db = db
        self._clock = clock
        self._on_callbacks = on_callbacks

    async def cancel(self, account_id: str, message_id: str) -> Message:
        """The canceled message. Raises ``SmsError``: ``not_found`` (no such message of this
        account) or ``not_cancelable`` (already on its way)."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            message = await message_store.cancel_message(conn, account_id, message_id, now)
            queued = await enqueue_status_callbacks(conn, [message], now)
        if queued and self._on_callbacks is not None:
            self._on_callbacks()
        return message
