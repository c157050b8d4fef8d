"""Group commit: many concurrent accepts share one transaction.

A request is answered only after its rows are committed, but one transaction per request
would make the fsync the ceiling of the API. Accepts join the engine's unit of work: one
transaction in flight, whatever arrives meanwhile is committed together in the next one
(with the other engine writers' work). Under light load a request commits at once; under
heavy load turns grow and the cost of a commit is shared. If a turn fails, its writes are
retried one by one so a bad row fails only its own request.

An accept with a price to pay (``charge``) is debited in the same write, before its rows are
inserted, by one conditional UPDATE of its account's balance (``store/pricing.charge``): if
the balance cannot cover it, nothing of that accept is stored and ``commit`` raises
``insufficient_balance``.
The accepts of one turn are debited one after the other in one transaction, so however many
arrive at once they never take more than the balance allows.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Message
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork, Write
from smsrelay.store import idempotency as idem_store
from smsrelay.store import messages as message_store
from smsrelay.store import pricing as pricing_store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdempotencyWrite:
    account_id: str
    key: str
    request_hash: str
    response_status: int
    response_body: str


@dataclass(slots=True)
class _Accept:
    messages: Sequence[Message]
    idempotency: IdempotencyWrite | None
    done: asyncio.Future[None]
    charge: int | None = None  # micro-units to debit from the account's balance
    refused: bool = False  # the balance could not cover ``charge``: nothing stored


class GroupCommitter:
    """The accepts' part of the engine's turns (``engine/unit_of_work.py``).

    Accepts that arrive while a turn runs are stored by one write of the next turn, with one
    INSERT for all their messages (on PostgreSQL a statement per accept would cost a round trip
    each); in the same transaction the dispatcher claims the messages they made due. If that
    write fails, each accept is written again on its own, so a bad one fails only itself.
    """

    def __init__(
        self, uow: UnitOfWork, *, dispatch: Claimant[Any] | None = None, max_rows: int = 5000
    ) -> None:
        """``dispatch``: the dispatcher's claimant, told that accepted messages are due."""
        self._uow = uow
        self._dispatch = dispatch
        self._max_rows = max_rows
        self._waiting: list[_Accept] = []
        self._queued = False  # a write that takes the waiting accepts is in the turn queue

    async def start(self) -> None:
        """Nothing of its own to start: the unit of work runs the turns."""

    async def stop(self) -> None:
        """Nothing of its own to stop: accepts under way finish with the unit of work."""

    async def commit(
        self,
        messages: Sequence[Message],
        idempotency: IdempotencyWrite | None = None,
        *,
        charge: int | None = None,
    ) -> None:
        """Return once ``messages`` (and the idempotency record) are durably committed.
        Raises ``SmsError(INSUFFICIENT_BALANCE)`` when their account's balance could not
        cover ``charge`` (micro-units; the messages share one account): nothing was stored."""
        if not self._uow.running:
            raise RuntimeError("the unit of work is not running")
        accept = _Accept(messages, idempotency, asyncio.get_running_loop().create_future(), charge)
        self._waiting.append(accept)
        if not self._queued:
            self._hand_in()
        await asyncio.shield(accept.done)
        if accept.refused:
            raise SmsError(ErrorCode.INSUFFICIENT_BALANCE)

    def _hand_in(self) -> None:
        """Queue one write that stores every accept waiting when it runs."""
        taken: list[_Accept] = []

        async def write(conn: AsyncConnection, now: float) -> None:
            if not taken:  # the first run takes them; a retry of this write keeps them
                taken.extend(self._take())
            await self._store(conn, now, taken)

        self._queued = True
        try:
            future = self._uow.submit(write, weight=sum(len(a.messages) for a in self._waiting))
        except RuntimeError as error:  # the unit of work stopped
            self._queued = False
            waiting, self._waiting = self._waiting, []
            for accept in waiting:
                _settle(accept.done, error)
            return
        future.add_done_callback(lambda f: self._settled(taken, f))

    def _take(self) -> list[_Accept]:
        taken: list[_Accept] = []
        rows = 0
        while self._waiting and (not taken or rows < self._max_rows):
            accept = self._waiting.pop(0)
            taken.append(accept)
            rows += len(accept.messages) or 1
        self._queued = False
        if self._waiting:  # the rest go in the next turn
            self._hand_in()
        return taken

    async def _store(self, conn: AsyncConnection, now: float, accepts: Sequence[_Accept]) -> None:
        accepts = await _charged(conn, now, accepts)
        rows = [m for a in accepts for m in a.messages]
        if rows:
            await message_store.insert_messages(conn, rows, now)
            if self._dispatch is not None:
                self._dispatch.note_due()
        for accept in accepts:
            if accept.idempotency is not None:
                i = accept.idempotency
                await idem_store.put_idempotency(
                    conn,
                    i.account_id,
                    i.key,
                    i.request_hash,
                    i.response_status,
                    i.response_body,
                    now,
                )

    def _settled(self, taken: list[_Accept], future: asyncio.Future[None]) -> None:
        error = _error_of(future)
        if error is None:
            for accept in taken:
                _settle(accept.done, None)
            return
        if len(taken) == 1:
            log.warning("accept commit failed: %s", error)
            _settle(taken[0].done, error)
            return
        log.warning(
            "a commit of %d accepts failed (%s); writing them one by one", len(taken), error
        )
        for accept in taken:  # isolate the bad piece
            try:
                single = self._uow.submit(self._single(accept), weight=len(accept.messages))
            except RuntimeError as stopped:
                _settle(accept.done, stopped)
                continue
            single.add_done_callback(functools.partial(_settle_from, accept.done))

    def _single(self, accept: _Accept) -> Write[None]:
        async def write(conn: AsyncConnection, now: float) -> None:
            await self._store(conn, now, [accept])

        return write


async def _charged(
    conn: AsyncConnection, now: float, accepts: Sequence[_Accept]
) -> Sequence[_Accept]:
    """Debit each accept that has a price; the ones whose balance covered it (and every
    accept without a price). Run again from scratch when the write is retried.

    Accounts are debited in the order of their ids (one account's accepts in arrival order):
    on PostgreSQL, turns of several processes then lock account rows in the same order and
    cannot deadlock on each other's debits."""
    if all(a.charge is None for a in accepts):
        return accepts
    refused: set[int] = set()
    charged = [a for a in accepts if a.charge is not None and a.messages]
    for accept in sorted(charged, key=lambda a: a.messages[0].account_id):
        assert accept.charge is not None
        ids = [m.id for m in accept.messages]
        account = accept.messages[0].account_id
        if not await pricing_store.charge(conn, account, accept.charge, ids, now):
            refused.add(id(accept))
    for accept in accepts:
        accept.refused = id(accept) in refused
    return [a for a in accepts if not a.refused]


def _error_of(future: asyncio.Future[None]) -> BaseException | None:
    if future.cancelled():
        return RuntimeError("the write was cancelled")
    return future.exception()


def _settle_from(done: asyncio.Future[None], future: asyncio.Future[None]) -> None:
    _settle(done, _error_of(future))


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(None)
