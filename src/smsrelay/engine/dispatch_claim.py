"""The dispatcher's claiming: take due messages under a lease and hand them to their lanes.

Claims run inside the engine's turns (``engine/unit_of_work.py``): a turn whose writes made
messages due (an accept, a lease returned, results that freed room while more wait) claims
them before it commits, in the room reserved for it; this module's own loop asks for a turn
only when woken (a full claim, no room) or when the next retry comes due. The room is the
in-flight budget (``max_inflight`` messages claimed and not yet recorded) and what the lanes
can take. A message a full lane cannot take goes back to the queue at once rather than wait,
leased, where it could be neither canceled nor expired.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.engine.clock import Clock
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork, Write
from smsrelay.store import queue as queue_store
from smsrelay.store.registrations import registrations_of

log = logging.getLogger(__name__)


class DispatchClaims(Claimant[Message]):
    """Claims due messages for the lanes; tracks what is claimed and not yet recorded."""

    name = "dispatch"

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        worker_id: str,
        claim_batch: int,
        max_inflight: int,
        lease_seconds: float,
        idle_poll: float,
        assign: Callable[[Message], bool],
        lanes_room: Callable[[], int | None],
        stats: dict[str, int],
    ) -> None:
        """``assign`` queues a message in its lane (False: the lane is full);
        ``lanes_room`` is what the lanes can take (None: there are no lanes)."""
        super().__init__()
        self._uow = uow
        self._clock = clock
        self.worker_id = worker_id
        self._claim_batch = claim_batch
        self._max_inflight = max_inflight
        self._lease_seconds = lease_seconds
        self._idle_poll = idle_poll
        self._assign = assign
        self._lanes_room = lanes_room
        self._stats = stats
        self.held: dict[str, Message] = {}  # claimed by us, outcome not yet recorded
        self.inflight = 0
        self.finishing = 0  # results handed to a turn: their room is as good as free
        self.overflowed = 0  # sent back by the last hand-over: their lane was full
        self.capacity = asyncio.Event()
        self.wake = asyncio.Event()
        self._stop = asyncio.Event()

    # -- the turn's side -------------------------------------------------------------------

    def free_room(self) -> int:
        budget = self._max_inflight - self.inflight - self.reserved + self.finishing
        lanes = self._lanes_room()
        return min(budget, budget if lanes is None else lanes, self._claim_batch)

    async def claim_in(self, conn: AsyncConnection, now: float, limit: int) -> list[Message]:
        """Due messages under our lease, with the registration ids (India's DLT) of those
        that carry some: one more query for the whole batch, not one per message."""
        claimed = await queue_store.claim(
            conn, worker=self.worker_id, now=now, lease_seconds=self._lease_seconds, limit=limit
        )
        if not claimed:
            return claimed
        found = await registrations_of(conn, [m.id for m in claimed])
        if not found:
            return claimed
        return [
            dataclasses.replace(m, registration=found[m.id]) if m.id in found else m
            for m in claimed
        ]

    async def hand_over(self, claimed: Sequence[Message]) -> None:
        """Committed claims to their lanes; those a full lane cannot take go back."""
        self._stats["claimed"] += len(claimed)
        overflow: list[Message] = []
        for message in claimed:
            self.inflight += 1
            self.held[message.id] = message
            if not self._assign(message):
                overflow.append(message)
        self.overflowed = len(overflow)
        if overflow:
            self.give_back_soon(overflow)

    def missed(self) -> None:
        self.wake.set()

    # -- giving claims back ----------------------------------------------------------------

    def give_back_soon(self, messages: Sequence[Message]) -> None:
        """Return claimed, unsent messages to the queue in the next turn (the attempt is not
        counted); usable from a hand-over, which must not wait for a turn."""
        future = self._uow.submit(self._give_back_write(messages), weight=len(messages))
        future.add_done_callback(lambda f: self._given_back(messages, f))

    async def give_back(self, messages: Sequence[Message]) -> None:
        if messages:
            await self._uow.run(self._give_back_write(messages), weight=len(messages))
            self.finished(messages)

    def _give_back_write(self, messages: Sequence[Message]) -> Write[None]:
        ids = [m.id for m in messages]

        async def write(conn: AsyncConnection, now: float) -> None:
            await queue_store.release_claims(conn, ids, worker=self.worker_id, now=now)

        return write

    def _given_back(self, messages: Sequence[Message], future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            log.warning("returning %d claims failed; their leases run out", len(messages))
        self.finished(messages)

    def finished(self, messages: Sequence[Message]) -> None:
        """These messages are no longer ours: their outcome is recorded or they went back."""
        self.inflight -= len(messages)
        for message in messages:
            self.held.pop(message.id, None)
        self.capacity.set()

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Ask for a claiming turn when woken, when room frees up, or when work comes due."""
        while not self.stopping:
            try:
                more = await self.claim_once()
            except Exception:
                log.exception("claim failed; retrying")
                more = False
                await self._clock.wait(self._stop, 1.0)
            if more:
                continue
            await self._sleep_until_due()

    def stop(self) -> None:
        self.stopping = True
        self._stop.set()
        self.wake.set()
        self.capacity.set()

    async def claim_once(self) -> bool:
        """One claiming turn; True when more may be due at once (a full claim, no room)."""
        if self.free_room() <= 0:
            self.capacity.clear()
            await self._clock.wait(self.capacity, 0.05)
            return True
        self.wake.clear()
        await self._uow.claim(self)
        if self.overflowed:
            # their lane is full: give it time to drain instead of claiming them again at once
            self.overflowed = 0
            await self._clock.wait(self._stop, 0.05)
        return self.full

    async def _sleep_until_due(self) -> None:
        timeout = self._idle_poll
        try:
            async with self._uow.db.read() as conn:
                due = await queue_store.next_due_at(conn, self._clock.now())
            if due is not None:
                timeout = min(timeout, max(0.0, due - self._clock.now()))
        except Exception:
            log.exception("next_due_at failed")
        await self._clock.wait(self.wake, timeout)
