"""Group commit: many concurrent accepts share one transaction.

A request is answered only after its rows are committed, but one transaction per request
would make the fsync the ceiling of the API. The committer keeps one transaction in flight;
whatever arrives meanwhile is committed together in the next one. Under light load a request
commits at once; under heavy load batches grow and the cost of a commit is shared. If a batch
fails, its pieces are retried one by one so a bad row fails only its own request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.store import idempotency as idem_store
from smsrelay.store import messages as message_store
from smsrelay.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdempotencyWrite:
    account_id: str
    key: str
    request_hash: str
    response_status: int
    response_body: str


@dataclass(slots=True)
class _Work:
    messages: Sequence[Message]
    idempotency: IdempotencyWrite | None
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


ClaimAlong = Callable[
    [], AbstractAsyncContextManager[Callable[[AsyncConnection, float], Awaitable[None]]]
]
"""``Dispatcher.claim_along``: claims due messages inside the commit that stored them."""


@contextlib.asynccontextmanager
async def _no_claim() -> AsyncIterator[Callable[[AsyncConnection, float], Awaitable[None]]]:
    async def claim(conn: AsyncConnection, now: float) -> None:
        return None

    yield claim


class GroupCommitter:
    def __init__(
        self,
        db: Database,
        now: Callable[[], float],
        *,
        max_rows: int = 5000,
        claim_along: ClaimAlong | None = None,
    ) -> None:
        """``claim_along``: the dispatcher's, so each commit also claims what it made due."""
        self._db = db
        self._now = now
        self._claim_along = claim_along or _no_claim
        self._max_rows = max_rows
        self._queue: list[_Work] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.commits = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def commit(
        self, messages: Sequence[Message], idempotency: IdempotencyWrite | None = None
    ) -> None:
        """Return once ``messages`` (and the idempotency record) are durably committed."""
        if self._task is None or self._closing:
            raise RuntimeError("the group committer is not running")
        work = _Work(messages, idempotency)
        self._queue.append(work)
        self._wakeup.set()
        await asyncio.shield(work.done)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch: list[_Work] = []
                rows = 0
                while self._queue and (not batch or rows < self._max_rows):
                    work = self._queue.pop(0)
                    batch.append(work)
                    rows += len(work.messages) or 1
                await self._commit_batch(batch)
            if self._closing and not self._queue:
                return

    async def _commit_batch(self, batch: list[_Work]) -> None:
        try:
            await self._write(batch)
        except Exception as error:
            if len(batch) == 1:
                log.exception("accept commit failed")
                _settle(batch[0], error)
                return
            for work in batch:  # isolate the bad piece
                try:
                    await self._write([work])
                except Exception as single_error:
                    log.exception("accept commit failed for one request")
                    _settle(work, single_error)
                else:
                    _settle(work, None)
            return
        for work in batch:
            _settle(work, None)

    async def _write(self, batch: Sequence[_Work]) -> None:
        now = self._now()
        # claim_along outside the transaction: the claimed messages go out after the commit
        async with self._claim_along() as claim, self._db.transaction() as conn:
            rows = [m for work in batch for m in work.messages]
            if rows:
                await message_store.insert_messages(conn, rows, now)
            for work in batch:
                if work.idempotency is not None:
                    i = work.idempotency
                    await idem_store.put_idempotency(
                        conn,
                        i.account_id,
                        i.key,
                        i.request_hash,
                        i.response_status,
                        i.response_body,
                        now,
                    )
            if rows:
                await claim(conn, now)
        self.commits += 1


def _settle(work: _Work, error: BaseException | None) -> None:
    if work.done.done():
        return
    if error is not None:
        work.done.set_exception(error)
    else:
        work.done.set_result(None)
