"""Cancelling a message before it is handed to a carrier: one path for REST and SMPP.

A message can be canceled while it is ``queued`` or ``scheduled``. The status change and its
status callback are one write of the engine's unit of work (``engine/unit_of_work.py``), and
the webhook outbox claims that callback in the same turn, so the customer hears of every
cancel. ``POST /v1/messages/{id}/cancel`` and SMPP ``cancel_sm`` both come here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import SmsError
from smsrelay.domain.messages import Message
from smsrelay.engine.money import settle_changes
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import messages as message_store


class Canceller:
    def __init__(
        self,
        uow: UnitOfWork,
        outbox: Claimant[Any] | None = None,
        *,
        refund_on: frozenset[str] = frozenset(),
    ) -> None:
        """``outbox``: the webhook outbox, which claims the callback a cancel queues;
        ``refund_on``: with ``canceled`` in it, a canceled message's price is credited back."""
        self._uow = uow
        self._outbox = outbox
        self._refund_on = refund_on

    async def cancel(self, account_id: str, message_id: str) -> Message:
        """The canceled message. Raises ``SmsError``: ``not_found`` (no such message of this
        account) or ``not_cancelable`` (already on its way)."""

        async def write(conn: AsyncConnection, now: float) -> Message | SmsError:
            try:
                message = await message_store.cancel_message(conn, account_id, message_id, now)
            except SmsError as refused:
                # returned, not raised: the refusal changed nothing, and a raise would roll
                # back (and replay one by one) every other write of the turn
                return refused
            await settle_changes(
                conn, [message], now, refund_on=self._refund_on, outbox=self._outbox
            )
            return message

        outcome = await self._uow.run(write)
        if isinstance(outcome, SmsError):
            raise outcome
        return outcome
