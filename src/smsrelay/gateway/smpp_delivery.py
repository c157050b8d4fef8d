"""Delivering the SMPP outbox (receipts, MO messages) to clients' receiver binds.

A loop claims due rows only for accounts that have a receiver (or transceiver) bound, and
only as many as those binds' windows have free slots, so nothing is read into memory that
cannot be sent at once: a client that stops answering fills its window and gets no more.
Each deliver_sm goes to one of the eligible binds in turn (round robin): a receipt to the
binds of the SMPP user that submitted the message, an MO message to any bind of the account.

Outcomes are written in batches: ESME_ROK marks the row sent; any other status, a closed
bind or a timeout puts it back with a growing delay (``retry_delay`` doubling, at most five
minutes). A deliver_sm that times out ends that bind: a client that stopped answering is
disconnected rather than fed, and its rows flow again once it binds anew. Rows nobody took
expire after their TTL (``smpp_outbox``, 72 h by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from smsrelay.engine.clock import Clock
from smsrelay.gateway.smpp_convert import mo_pdu, receipt_pdu
from smsrelay.smpp.errors import ResponseTimeout, SmppError
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession
from smsrelay.store import smpp_outbox as smpp_store
from smsrelay.store.db import Database
from smsrelay.store.smpp_outbox import SmppDelivery

if TYPE_CHECKING:
    from smsrelay.gateway.smpp_server import Bound

__all__ = ["OutboxDelivery"]

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 300.0
_EXPIRE_EVERY = 60.0


class OutboxDelivery:
    """Claims outbox rows for bound receivers and sends them as deliver_sm."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        binds: Mapping[ServerSession, Bound],
        *,
        retry_delay: float = 5.0,
        poll_interval: float = 0.1,
        lease_seconds: float = 60.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._binds = binds
        self._retry_delay = retry_delay
        self._poll = poll_interval
        self._lease = lease_seconds
        self._wake = asyncio.Event()
        self._results: list[tuple[SmppDelivery, bool]] = []
        self._has_results = asyncio.Event()
        self._turn = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_expire = 0.0
        self.stats = {"sent": 0, "retried": 0}

    def wake(self) -> None:
        """A receiver bound (or new rows may be due)."""
        self._wake.set()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="smpp-outbox"),
            asyncio.create_task(self._record_loop(), name="smpp-outbox-record"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._record()

    # -- claim and send -------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("smpp outbox round failed")
                sent = 0
                await self._clock.sleep(1.0)
            if not sent:
                await self._clock.wait(self._wake, self._poll)

    def _receivers(self) -> dict[str, list[tuple[ServerSession, Bound]]]:
        by_account: dict[str, list[tuple[ServerSession, Bound]]] = {}
        for session, bound in list(self._binds.items()):
            if session.can_deliver:
                by_account.setdefault(bound.account.id, []).append((session, bound))
        return by_account

    async def deliver_due(self) -> int:
        """One round: claim what free windows can take, send it; how many were sent."""
        now = self._clock.now()
        if now - self._last_expire > _EXPIRE_EVERY:
            self._last_expire = now
            async with self._db.transaction() as conn:
                await smpp_store.expire_smpp(conn, now)
        receivers = self._receivers()
        if not receivers:
            return 0
        async with self._db.read() as conn:
            due = await smpp_store.accounts_with_due(conn, now) & receivers.keys()
        sent = 0
        for account_id in due:
            binds = receivers[account_id]
            room = sum(max(s.window_free, 0) for s, _ in binds)
            if room <= 0:
                continue
            users = sorted({b.user.id for _, b in binds})
            async with self._db.transaction() as conn:
                rows = await smpp_store.claim_smpp(
                    conn, account_id, users, now=now, lease_seconds=self._lease, limit=room
                )
            for row in rows:
                sent += self._send(row, binds)
        return sent

    def _send(self, row: SmppDelivery, binds: list[tuple[ServerSession, Bound]]) -> int:
        eligible = [
            s
            for s, b in binds
            if s.can_deliver
            and s.window_free > 0
            and (row.smpp_user_id is None or b.user.id == row.smpp_user_id)
        ]
        if not eligible:
            self._done(row, False, immediate=True)
            return 0
        session = eligible[next(self._turn) % len(eligible)]
        pdu = receipt_pdu(row) if row.kind == "receipt" else mo_pdu(row)
        try:
            future = session.deliver_nowait(pdu)
        except SmppError:
            self._done(row, False, immediate=True)
            return 0
        future.add_done_callback(lambda f: self._answered(row, session, f))
        return 1

    def _answered(
        self, row: SmppDelivery, session: ServerSession, future: asyncio.Future[Pdu]
    ) -> None:
        if future.cancelled():
            self._done(row, False)
            return
        error = future.exception()
        if isinstance(error, ResponseTimeout):
            log.warning(
                "smpp client system_id=%s stopped answering deliver_sm; closing bind",
                session.system_id,
            )
            session.close()
        self._done(row, error is None and future.result().ok)
        self._wake.set()  # a window slot is free again

    def _done(self, row: SmppDelivery, ok: bool, *, immediate: bool = False) -> None:
        # a row that never left is due again at once; an unacknowledged one backs off
        if immediate:
            row = replace(row, attempts=-1)
        self._results.append((row, ok))
        self._has_results.set()

    # -- record ---------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            await self._has_results.wait()
            self._has_results.clear()
            try:
                await self._record()
            except Exception:
                log.exception("recording smpp outbox results failed")
                await self._clock.sleep(0.5)
                self._has_results.set()

    async def _record(self) -> None:
        batch, self._results = self._results, []
        if not batch:
            return
        now = self._clock.now()
        sent = [row.id for row, ok in batch if ok]
        retry: dict[float, list[int]] = {}
        for row, ok in batch:
            if not ok:
                delay = (
                    0.0
                    if row.attempts < 0
                    else min(self._retry_delay * 2**row.attempts, MAX_RETRY_DELAY)
                )
                retry.setdefault(now + delay, []).append(row.id)
        try:
            async with self._db.transaction() as conn:
                await smpp_store.mark_smpp_sent(conn, sent, now)
                for at, ids in retry.items():
                    await smpp_store.retry_smpp(conn, ids, at)
        except Exception:
            self._results[:0] = batch
            raise
        self.stats["sent"] += len(sent)
        self.stats["retried"] += sum(len(ids) for ids in retry.values())
