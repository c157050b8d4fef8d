"""Group commit: many concurrent accepts share one transaction.

A request is answered only after its rows are committed, but one transaction per request
would make the fsync the ceiling of the API. Accepts join the engine's unit of work: one
transaction in flight, whatever arrives meanwhile is committed together in the next one
(with the other engine writers' work). Under light load a request commits at once; under
heavy load turns grow and the cost of a commit is shared. If a turn fails, its writes are
retried one by one so a bad row fails only its own request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import idempotency as idem_store
from smsrelay.store import messages as message_store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdempotencyWrite:
    account_id: str
    key: str
    request_hash: str
    response_status: int
    response_body: str


class GroupCommitter:
    """The accepts' part of the engine's turns (``engine/unit_of_work.py``).

    Each call hands one write (the request's messages and idempotency record) to the unit of
    work, which commits everything that arrived meanwhile together and, in the same
    transaction, lets the dispatcher claim the messages it made due.
    """

    def __init__(self, uow: UnitOfWork, *, dispatch: Claimant[Any] | None = None) -> None:
        """``dispatch``: the dispatcher's claimant, told that accepted messages are due."""
        self._uow = uow
        self._dispatch = dispatch

    async def start(self) -> None:
        """Nothing of its own to start: the unit of work runs the turns."""

    async def stop(self) -> None:
        """Nothing of its own to stop: accepts under way finish with the unit of work."""

    async def commit(
        self, messages: Sequence[Message], idempotency: IdempotencyWrite | None = None
    ) -> None:
        """Return once ``messages`` (and the idempotency record) are durably committed."""
        if not self._uow.running:
            raise RuntimeError("the unit of work is not running")
        dispatch = self._dispatch

        async def write(conn: AsyncConnection, now: float) -> None:
            if messages:
                await message_store.insert_messages(conn, messages, now)
                if dispatch is not None:
                    dispatch.note_due()
            if idempotency is not None:
                i = idempotency
                await idem_store.put_idempotency(
                    conn,
                    i.account_id,
                    i.key,
                    i.request_hash,
                    i.response_status,
                    i.response_body,
                    now,
                )

        await self._uow.run(write, weight=len(messages))
