"""The country rules in force: the shipped data with the operator's overrides applied.

The configuration file's overrides are fixed at start; the admin API's live in the database
(``store/countries.py``), written in the unit of work's turn like every engine write.
:class:`CountryBook` holds the merged rules as one immutable value
that the accept path reads without a lock, swaps in a new value when the API changes them,
and re-reads the stored overrides every ``interval`` seconds of its clock so that every
gateway process on the database follows a change made through another one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.countries import ApiOverride, CountryRules, load_shipped, parse_overrides
from smsrelay.domain.countries.model import dump_value
from smsrelay.engine.clock import Clock, refresh_every
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import countries as store
from smsrelay.store.db import Database

log = logging.getLogger(__name__)


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


class CountryBook:
    """The rules in force (:attr:`rules`), and the admin API's changes to them."""

    def __init__(
        self,
        db: Database | None,
        clock: Clock,
        file_overrides: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        shipped: CountryRules | None = None,
        interval: float = 5.0,
        uow: UnitOfWork | None = None,
    ) -> None:
        """``file_overrides``: typed values by ISO code (``parse_overrides``), as the
        configuration file gives them; ``db`` None: no admin API overrides (tests);
        ``uow`` None: read-only (the CLI), :meth:`put` and :meth:`delete` refuse."""
        self._db = db
        self._uow = uow
        self._clock = clock
        self._shipped = shipped or load_shipped()
        self._file = {iso.upper(): dict(v) for iso, v in (file_overrides or {}).items()}
        self._stored: dict[str, tuple[dict[str, Any], float]] = {}
        self._interval = interval
        self.rules = self._merge()

    def _merge(self) -> CountryRules:
        api: dict[str, ApiOverride] = {}
        for iso, (fields, at) in self._stored.items():
            try:
                api[iso] = ApiOverride(parse_overrides(fields, iso), _day(at))
            except ValueError as error:
                log.error("stored override of %s ignored: %s", iso, error)
        return self._shipped.overridden(self._file, api, today=_day(self._clock.now()))

    async def refresh(self) -> None:
        """Re-read the stored overrides; rebuild the rules when they changed."""
        if self._db is None:
            return
        async with self._db.read() as conn:
            stored = await store.load_overrides(conn)
        if stored != self._stored:
            self._stored = stored
            self.rules = self._merge()

    async def run(self) -> None:
        """Refresh until cancelled; a failed read keeps the rules already in force."""
        await refresh_every(
            self._clock,
            self._interval,
            self.refresh,
            failed="reading country overrides failed; keeping the rules in force",
        )

    def api_override(self, iso: str) -> dict[str, Any] | None:
        """What the admin API set for ``iso`` (JSON values), if anything."""
        found = self._stored.get(iso)
        return dict(found[0]) if found else None

    async def put(self, iso: str, raw: Mapping[str, Any]) -> None:
        """Set the admin API's overrides of ``iso`` (replacing its earlier ones).

        Raises ``LookupError`` for a country with no entry and ``ValueError`` naming a bad
        field; nothing is stored then.
        """
        if self.rules.get(iso) is None:
            raise LookupError(iso)
        typed = parse_overrides(raw)
        fields = {name: dump_value(value) for name, value in typed.items()}
        now = self._clock.now()

        async def write(conn: AsyncConnection, at: float) -> None:
            await store.save_override(conn, iso, fields, now)

        await self._writer().run(write)
        self._stored = {**self._stored, iso: (fields, now)}
        self.rules = self._merge()
        log.info("country rules of %s overridden: %s", iso, ", ".join(fields))

    async def delete(self, iso: str) -> bool:
        """Remove the admin API's overrides of ``iso``; False when it had none."""

        async def write(conn: AsyncConnection, at: float) -> bool:
            return await store.delete_override(conn, iso)

        removed = await self._writer().run(write)
        if iso in self._stored:
            self._stored = {k: v for k, v in self._stored.items() if k != iso}
            self.rules = self._merge()
        return removed

    def _writer(self) -> UnitOfWork:
        if self._uow is None:
            raise RuntimeError("these country rules are read-only (no unit of work)")
        return self._uow
