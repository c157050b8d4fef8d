"""Measured delivery: count what each connector did, per destination country, in the turns.

The writers that learn something count it here while their write runs: submit results
(``dispatch_record.py``: accepted with its cost, or refused) and final receipts (``dlr.py``,
and the receipts applied late by ``dispatch_record.py`` and ``housekeeping.py``: delivered or
not, with the time since the accepted submit). :class:`DeliveryStats` is a hook of the unit of
work (``unit_of_work.TurnHook``): the counts of a turn stay in memory and are added to the
database by one upsert per (connector, country, minute) just before the turn commits, in its
transaction (``store/stats.py``); a turn that rolls back drops them with everything else.

The dispatcher's adaptive routes read :meth:`DeliveryStats.snapshot`: every window in use,
summed from the database every ``refresh`` seconds, so every process of a gateway sharing the
database orders by the same numbers within a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.domain.pricing import MICROS
from smsrelay.domain.routing import PriceTable, price_of
from smsrelay.domain.scoring import StatsTable, latency_bucket
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.clock import Clock
from smsrelay.engine.money import PriceBook
from smsrelay.store import stats as stats_store
from smsrelay.store.db import Database

__all__ = ["DeliveryStats"]

log = logging.getLogger(__name__)

_FAILED = frozenset({MessageStatus.UNDELIVERED, MessageStatus.EXPIRED, MessageStatus.REJECTED})

#: minutes are kept at least this long (``smsrelay connectors stats --window 1d``)
MIN_RETENTION = 86400.0


class DeliveryStats:
    """Counts of the turn under way, and the last snapshot read back for routing."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        prices: PriceTable | None = None,
        windows: Callable[[], Iterable[float]] = lambda: (),
        refresh: float = 5.0,
    ) -> None:
        """``prices``: price per segment by connector and country (the cost of a submit);
        ``windows``: the windows (seconds) routing reads now, refreshed every ``refresh``."""
        self._db = db
        self._clock = clock
        self.prices: PriceTable = dict(prices or {})
        # the connectors' imported price lists (``engine/money.py``), when the gateway has them
        self.price_book: PriceBook | None = None
        self.windows = windows
        self._refresh = refresh
        self._pending: dict[tuple[str, str, int], stats_store.Counts] = {}
        self._snapshots: dict[float, StatsTable] = {}
        self._stop = asyncio.Event()

    # -- counting, inside a write of the turn ----------------------------------------------

    def _counts(self, connector: str, country: str | None, now: float) -> stats_store.Counts:
        key = (connector, country or "", stats_store.bucket_of(now))
        counts = self._pending.get(key)
        if counts is None:
            counts = self._pending[key] = stats_store.Counts()
        return counts

    def submitted(self, connector: str, message: Message, now: float) -> None:
        """The carrier accepted ``message``: count it and what its segments cost."""
        counts = self._counts(connector, message.country, now)
        counts.submitted += 1
        price = None
        if self.price_book is not None:  # an imported list (prefix-aware) comes first
            listed = self.price_book.connector_price(connector, message.to, message.country)
            price = None if listed is None else listed.price_micros / MICROS
        if price is None:
            price = price_of(self.prices, connector, message.country)
        if price is not None:
            counts.cost += price * message.segments

    def refused(self, connector: str, message: Message, now: float) -> None:
        """The carrier (or the way to it) refused a submit of ``message``."""
        self._counts(connector, message.country, now).submit_errors += 1

    def finals(self, messages: Iterable[Message], now: float) -> None:
        """Messages a receipt just made final (as the status change returned them)."""
        for message in messages:
            if message.connector is None:
                continue
            if message.status is MessageStatus.DELIVERED:
                delivered = True
            elif message.status in _FAILED:
                delivered = False
            else:
                continue
            counts = self._counts(message.connector, message.country, now)
            if delivered:
                counts.delivered += 1
            else:
                counts.failed += 1
            if message.submitted_at is not None:
                counts.latency[latency_bucket(now - message.submitted_at)] += 1

    # -- the unit of work's hook -----------------------------------------------------------

    def begin(self) -> None:
        self._pending.clear()

    async def flush(self, conn: AsyncConnection, now: float) -> None:
        if self._pending:
            pending, self._pending = self._pending, {}
            await stats_store.add_counts(conn, pending)

    def discard(self) -> None:
        self._pending.clear()

    # -- reading back ----------------------------------------------------------------------

    def snapshot(self, window: float) -> StatsTable:
        """The counts of the last ``window`` seconds as last read (empty until read)."""
        found = self._snapshots.get(window)
        if found is None:
            self._snapshots[window] = found = {}  # read from the next refresh on
        return found

    async def refresh(self) -> None:
        """Read every window routing uses (and those asked for since) from the database."""
        windows = set(self.windows()) | set(self._snapshots)
        if not windows:
            return
        now = self._clock.now()
        read: dict[float, StatsTable] = {}
        async with self._db.read() as conn:
            for window in windows:
                read[window] = await stats_store.read_window(conn, now - window)
        self._snapshots = read

    async def run(self) -> None:
        """Refresh every ``refresh`` seconds until stopped; a failed read keeps the last."""
        while not self._stop.is_set():
            try:
                await self.refresh()
            except Exception:
                log.exception("reading delivery stats failed; keeping the last snapshot")
            if await self._clock.wait(self._stop, self._refresh):
                return

    def stop(self) -> None:
        self._stop.set()

    def retention(self) -> float:
        """How long minutes are kept: a day, or the longest window in use."""
        return max([MIN_RETENTION, *self.windows()])
