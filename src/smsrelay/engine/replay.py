"""Sending an account's callbacks again (``POST /v1/admin/webhooks/replay``).

The replayed callbacks are queued by one write of the engine's unit of work
(``engine/unit_of_work.py``), and the webhook outbox claims them in that turn, as it claims the
callbacks of every other status change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import webhooks as webhook_store


class WebhookReplay:
    def __init__(self, uow: UnitOfWork, outbox: Claimant[Any] | None = None) -> None:
        """``outbox``: the webhook outbox, which claims what a replay queues."""
        self._uow = uow
        self._outbox = outbox

    async def replay(
        self,
        account_id: str,
        *,
        message_id: str | None,
        since: float | None,
        until: float | None,
    ) -> tuple[int, float]:
        """Queue again the account's callbacks of one message, or of a time range; returns
        how many were queued and the turn's time."""

        async def write(conn: AsyncConnection, now: float) -> tuple[int, float]:
            count = await webhook_store.replay_webhooks(
                conn,
                message_id=message_id,
                since=since,
                until=until,
                now=now,
                account_id=account_id,
            )
            if count and self._outbox is not None:
                self._outbox.note_due()
            return count, now

        return await self._uow.run(write)
