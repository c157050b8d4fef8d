"""The engine's transaction topology: one write transaction per loop turn, shared by every writer.

Every engine writer joins the turn instead of opening a transaction of its own: the accepts'
group commit (``batcher.py``), submit results (``dispatch_record.py``), carrier receipts
(``dlr.py``), inbound messages (``inbound.py``), webhook attempt records (``outbox.py``) and
the dispatcher's housekeeping. A writer hands :meth:`UnitOfWork.run` its write, a coroutine
taking the connection and ``now``, and awaits its outcome. One task runs the turns, one at a
time; a turn

1. reserves, before its transaction begins, the room each claimant has free;
2. runs every write that arrived meanwhile, in arrival order, in one transaction, then lets
   each hook (:class:`TurnHook`) write what the writes told it (the delivery counters of
   ``delivery_stats.py``: one row per connector and minute, not one per message);
3. lets each claimant whose work a write made due (:meth:`Claimant.note_due`) claim inside
   the same transaction, in its reserved room: the dispatcher claims queued messages for its
   lanes (``dispatch_claim.py``), the webhook outbox claims due callbacks (``outbox.py``);
4. commits;
5. settles the writers' futures;
6. hands each claim over (messages to their lanes, callbacks to the HTTP sender).

The claimants' own loops ask for a claim-only turn (:meth:`UnitOfWork.claim`) only when woken:
a claim filled its room, there was no room, work was made due outside the engine's turns (a
cancel, an admin change), or a retry comes due.

So under load a turn costs one commit (one fsync on SQLite) for everything the engine wrote
and claimed meanwhile, and the same topology runs on SQLite and PostgreSQL. A rollback takes
the claims back with everything else. Nothing after the commit fails a writer: an accept whose
rows are stored is never retried; a claim that cannot be handed over keeps its lease and
returns to its queue when the lease runs out. A failing turn is retried write by write, each in
a transaction of its own (without claims), so one bad write fails only its own writer.

One turn at a time on PostgreSQL too: four turns at once, each on its own connection,
measured worse there (252 against 363 msg/s end to end, callbacks p50 9.6 against 0.2 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.engine.clock import Clock
from smsrelay.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C")

Write = Callable[[AsyncConnection, float], Awaitable[T]]
"""One writer's part of a turn: runs inside the turn's transaction at the turn's ``now``."""


class TurnHook(Protocol):
    """Gathers what the writes of a turn tell it and writes it once, before the commit.

    ``begin`` before the turn's writes, ``flush`` after them in the same transaction,
    ``discard`` when the transaction rolled back (the writes are then retried one by one,
    each with its own begin/flush).
    """

    def begin(self) -> None: ...

    async def flush(self, conn: AsyncConnection, now: float) -> None: ...

    def discard(self) -> None: ...


class Claimant(Generic[C]):
    """Work that is claimed inside a turn: the one reserve/claim/release of the engine.

    A subclass says how much room it has (:meth:`free_room`), claims in the turn's
    transaction (:meth:`claim_in`), and takes committed claims over (:meth:`hand_over`).
    The turn reserves the room before its transaction begins and releases it after, so claims
    running at once never promise more than the room between them. Writers that make work
    due call :meth:`note_due`; the next turn then claims for this claimant.
    """

    name = "claimant"

    def __init__(self) -> None:
        self.reserved = 0  # room promised to a claim under way
        self.due = False  # work was made due: claim in the next turn
        self.full = False  # the last claim filled its room: more may be waiting
        self.stopping = False

    def note_due(self) -> None:
        self.due = True

    def free_room(self) -> int:
        raise NotImplementedError

    async def claim_in(self, conn: AsyncConnection, now: float, limit: int) -> Sequence[C]:
        raise NotImplementedError

    async def hand_over(self, claimed: Sequence[C]) -> None:
        raise NotImplementedError

    def missed(self) -> None:
        """Work is due that the turn did not claim (no room, a full claim, a failed turn):
        wake the claimant's own loop."""

    # -- the turn's side ------------------------------------------------------------------

    def reserve(self) -> int:
        """Take the room this turn may claim in, before its transaction begins; whether it
        claims is known only after the writes (:meth:`note_due`)."""
        if self.stopping:
            return 0
        room = max(0, self.free_room())
        self.reserved += room
        return room

    def unreserve(self, room: int) -> None:
        self.reserved -= room


@dataclass(slots=True)
class _Pending:
    write: Write[Any]
    weight: int
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    handed: asyncio.Future[None] | None = None  # set once the turn's claims are handed over


async def _nothing(conn: AsyncConnection, now: float) -> None:
    return None


class UnitOfWork:
    """Runs the engine's turns (see the module docstring for the order inside one)."""

    def __init__(self, db: Database, clock: Clock, *, max_weight: int = 5000) -> None:
        """``max_weight``: how much one turn takes (an accept weighs its message count)."""
        self._db = db
        self._clock = clock
        self._max_weight = max_weight
        self._claimants: list[Claimant[Any]] = []
        self._hooks: list[TurnHook] = []
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.turns = 0  # committed turns (transactions), for stats and the bench
        self.writes = 0

    @property
    def db(self) -> Database:
        """The database the turns write to (claimants read through it)."""
        return self._db

    def join(self, claimant: Claimant[Any]) -> None:
        """Claim for ``claimant`` in the turns to come."""
        if claimant not in self._claimants:
            self._claimants.append(claimant)

    def hook(self, hook: TurnHook) -> None:
        """Let ``hook`` write at the end of every turn's writes (see :class:`TurnHook`)."""
        if hook not in self._hooks:
            self._hooks.append(hook)

    def leave(self, claimant: Claimant[Any]) -> None:
        if claimant in self._claimants:
            self._claimants.remove(claimant)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._closing

    async def start(self) -> None:
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="unit-of-work")

    async def stop(self) -> None:
        """Run what was handed in so far, then stop (writers stop before this)."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def submit(self, write: Write[T], *, weight: int = 1) -> asyncio.Future[T]:
        """Hand ``write`` to the next turn; the future settles after that turn's commit."""
        if self._task is None or self._closing:
            raise RuntimeError("the unit of work is not running")
        pending = _Pending(write, max(1, weight))
        self._queue.append(pending)
        self._wakeup.set()
        return pending.done

    async def run(self, write: Write[T], *, weight: int = 1) -> T:
        """Run ``write`` in the next turn; return its result once that turn has committed."""
        result: T = await asyncio.shield(self.submit(write, weight=weight))
        return result

    async def claim(self, claimant: Claimant[Any]) -> None:
        """A turn that claims for ``claimant`` (its own loop's turn when nothing else runs);
        returns once that turn's claims are handed over."""
        claimant.note_due()
        if self._task is None or self._closing:
            raise RuntimeError("the unit of work is not running")
        pending = _Pending(_nothing, 1)
        pending.handed = asyncio.get_running_loop().create_future()
        self._queue.append(pending)
        self._wakeup.set()
        await asyncio.shield(pending.done)
        await asyncio.shield(pending.handed)

    # -- the turn --------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch: list[_Pending] = []
                weight = 0
                while self._queue and (not batch or weight < self._max_weight):
                    pending = self._queue.pop(0)
                    batch.append(pending)
                    weight += pending.weight
                await self._turn(batch)
            if self._closing and not self._queue:
                return

    async def _turn(self, batch: list[_Pending]) -> None:
        rooms = [(c, c.reserve()) for c in self._claimants]
        claims: list[tuple[Claimant[Any], Sequence[Any]]] = []
        asked: list[Claimant[Any]] = []
        written = False  # every write ran: a failure after that is the claims' or the commit's
        results: list[Any] = []
        try:
            now = self._clock.now()
            for hook in self._hooks:
                hook.begin()
            async with self._db.transaction() as conn:
                for pending in batch:
                    results.append(await pending.write(conn, now))
                for hook in self._hooks:
                    await hook.flush(conn, now)
                written = True
                for claimant, room in rooms:
                    if not claimant.due:
                        continue
                    claimant.due = False
                    if not room:  # no room now: its loop claims when room frees up
                        claimant.missed()
                        continue
                    asked.append(claimant)
                    claimed = await claimant.claim_in(conn, now, room)
                    claimant.full = len(claimed) >= room
                    claims.append((claimant, claimed))
        except Exception as error:
            for hook in self._hooks:
                hook.discard()
            for claimant, room in rooms:
                claimant.unreserve(room)
            for claimant in asked:  # rolled back: claim again
                claimant.due = True
            await self._piece_by_piece(batch, error, retry_single=written)
            for claimant, _ in rooms:
                if claimant.due:
                    claimant.due = False
                    claimant.missed()
            _handed(batch)
            return
        except BaseException:
            for hook in self._hooks:
                hook.discard()
            for claimant, room in rooms:
                claimant.unreserve(room)
            raise
        for claimant, room in rooms:
            claimant.unreserve(room)
        self.turns += 1
        self.writes += len(batch)
        for pending, result in zip(batch, results, strict=True):
            _settle(pending, result, None)
        for claimant, claimed in claims:
            try:
                if claimed:
                    await claimant.hand_over(claimed)
            except Exception:  # committed: keep the leases; they return when they run out
                log.exception("%s: handing over %d claims failed", claimant.name, len(claimed))
            if claimant.full:
                claimant.missed()
        _handed(batch)

    async def _piece_by_piece(
        self, batch: list[_Pending], error: Exception, *, retry_single: bool
    ) -> None:
        if len(batch) == 1 and not retry_single:
            log.warning("a write failed: %s", error)
            _settle(batch[0], None, error)
            return
        log.warning("a turn of %d writes failed (%s); retrying them one by one", len(batch), error)
        for pending in batch:
            try:
                now = self._clock.now()
                for hook in self._hooks:
                    hook.begin()
                async with self._db.transaction() as conn:
                    result = await pending.write(conn, now)
                    for hook in self._hooks:
                        await hook.flush(conn, now)
            except Exception as single_error:
                for hook in self._hooks:
                    hook.discard()
                log.warning("a write failed on its own: %s", single_error)
                _settle(pending, None, single_error)
            else:
                self.turns += 1
                self.writes += 1
                _settle(pending, result, None)


def _handed(batch: list[_Pending]) -> None:
    for pending in batch:
        if pending.handed is not None and not pending.handed.done():
            pending.handed.set_result(None)


def _settle(pending: _Pending, result: object, error: BaseException | None) -> None:
    if pending.done.done():
        return
    if error is not None:
        pending.done.set_exception(error)
    else:
        pending.done.set_result(result)
