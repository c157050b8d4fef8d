"""The accept path holds marketing for the destination's quiet hours and the dispatcher
releases it at the allowed time; OTP and transactional messages are never held. Real store
(SQLite and PostgreSQL), injected clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import SmsError
from smsrelay.domain.messages import MessageKind
from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.engine.accept import Acceptor, AcceptPolicy, Prepared, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.countries import CountryBook
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.dlr import DlrProcessor
from smsrelay.engine.throttle import AccountLimits
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store.db import Database
from tests.support.connectors import ScriptedConnector

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_23H = datetime(2026, 12, 4, 23, 0, tzinfo=PARIS).timestamp()
SATURDAY_8H = datetime(2026, 12, 5, 8, 0, tzinfo=PARIS).timestamp()


@dataclass
class Engine:
    db: Database
    clock: ManualClock
    acceptor: Acceptor
    dispatcher: Dispatcher
    carrier: ScriptedConnector
    uow: UnitOfWork
    book: CountryBook
    account_id: str

    async def accept(self, **fields: object) -> Prepared | SmsError:
        request = SendRequest(**{"to": "+33612345678", "message": "hello", **fields})  # type: ignore[arg-type]
        outcome = await self.acceptor.accept(AccountLimits(self.account_id), [request])
        return outcome.results[0]

    async def send(self, **fields: object) -> Prepared:
        result = await self.accept(**fields)
        assert isinstance(result, Prepared), result
        return result

    async def status(self, message_id: str) -> str:
        async with self.db.read() as conn:
            message = await message_store.get_message(conn, message_id)
        assert message is not None
        return str(message.status)

    def submitted(self) -> list[str]:
        return [m.message_id for m in self.carrier.submitted]

    async def run_for(self, seconds: float) -> None:
        """Move the clock on, let the dispatcher claim what is due and record the submits."""
        self.clock.advance(seconds)
        self.dispatcher.wake()
        await self.uow.claim(self.dispatcher.claims)
        for _ in range(100):
            await self.clock.settle()
            await self.uow.run(_nothing)
            claims = self.dispatcher.claims
            if claims.inflight == 0 and claims.finishing == 0:
                return
        raise AssertionError(f"the engine did not settle: {self.dispatcher.stats}")


async def _nothing(conn: AsyncConnection, now: float) -> None:
    return None


@asynccontextmanager
async def engine(database: Database) -> AsyncIterator[Engine]:
    clock = ManualClock(FRIDAY_23H)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now())
    carrier = ScriptedConnector("a")
    uow = UnitOfWork(database, clock)
    dlr = DlrProcessor(uow, clock)
    dispatcher = Dispatcher(
        uow,
        {"a": carrier},
        [Route("default", ("a",))],
        RetryPolicy(max_attempts=2, backoff=Backoff(base=1.0, cap=5.0)),
        clock,
        settings=DispatchSettings(
            lease_seconds=30, dlr_timeout=86400 * 4, idle_poll=1.0, housekeeping_interval=86400
        ),
        rng=random.Random(7),
    )
    book = CountryBook(database, clock, uow=uow)
    acceptor = Acceptor(
        GroupCommitter(uow, dispatch=dispatcher.claims),
        AcceptPolicy(),
        clock,
        rng=random.Random(1),
        countries=lambda: book.rules,
    )
    await uow.start()
    await dlr.start()
    await carrier.start(dlr)
    await dispatcher.start()
    try:
        yield Engine(database, clock, acceptor, dispatcher, carrier, uow, book, account.id)
    finally:
        await dispatcher.stop()
        await dlr.stop()
        await uow.stop()


async def test_marketing_at_23h_in_france_is_released_at_8h(database: Database) -> None:
    async with engine(database) as e:
        held = await e.send(kind=MessageKind.MARKETING)
        otp = await e.send(kind=MessageKind.OTP)
        transactional = await e.send(kind=MessageKind.TRANSACTIONAL)
        assert held.hold is not None and held.hold.source.startswith("https://")
        assert held.message.not_before == SATURDAY_8H
        assert await e.status(held.message.id) == "scheduled"
        assert otp.hold is None and transactional.hold is None
        await e.run_for(60)
        assert await e.status(otp.message.id) == "sent"
        assert await e.status(transactional.message.id) == "sent"
        assert held.message.id not in e.submitted()
        # a minute before 08:00 it still waits
        await e.run_for(SATURDAY_8H - e.clock.now() - 60)
        assert held.message.id not in e.submitted()
        await e.run_for(120)
        assert held.message.id in e.submitted()
        assert await e.status(held.message.id) == "sent"


async def test_validity_and_schedule_with_a_hold(database: Database) -> None:
    async with engine(database) as e:
        # no validity given: it counts from the release
        held = await e.send(kind=MessageKind.MARKETING)
        assert held.message.expires_at == SATURDAY_8H + AcceptPolicy().default_validity
        # an explicit validity that ends before 08:00 is refused, not held to expire
        refused = await e.accept(kind=MessageKind.MARKETING, validity=3600.0)
        assert isinstance(refused, SmsError)
        assert refused.code == "invalid_schedule" and refused.field == "validity"
        # one that lasts past 08:00 keeps its end
        kept = await e.send(kind=MessageKind.MARKETING, validity=86400.0)
        assert kept.message.expires_at == FRIDAY_23H + 86400.0
        # a send_at inside the window is not moved; one inside quiet hours is
        noon = datetime(2026, 12, 7, 12, 0, tzinfo=PARIS).timestamp()
        at_noon = await e.send(kind=MessageKind.MARKETING, send_at=noon)
        assert at_noon.hold is None and at_noon.message.not_before == noon
        sunday = datetime(2026, 12, 6, 12, 0, tzinfo=PARIS).timestamp()
        moved = await e.send(kind=MessageKind.MARKETING, send_at=sunday)
        monday = datetime(2026, 12, 7, 8, 0, tzinfo=PARIS).timestamp()
        assert moved.hold is not None and moved.message.not_before == monday


async def test_an_admin_override_changes_what_is_held(database: Database) -> None:
    async with engine(database) as e:
        await e.book.put("FR", {"quiet_hours": None})
        sent_now = await e.send(kind=MessageKind.MARKETING)
        assert sent_now.hold is None and str(sent_now.message.status) == "queued"
        await e.book.put(
            "FR",
            {"quiet_hours": {"allowed": [{"days": ["sat"], "start": "10:00", "end": "11:00"}]}},
        )
        later = await e.send(kind=MessageKind.MARKETING)
        ten = datetime(2026, 12, 5, 10, 0, tzinfo=PARIS).timestamp()
        assert later.hold is not None and later.message.not_before == ten
        assert await e.book.delete("FR")
        again = await e.send(kind=MessageKind.MARKETING)
        assert again.message.not_before == SATURDAY_8H
        # another process sees the stored override on its next refresh
        await e.book.put("FR", {"quiet_hours": None})
        other = CountryBook(e.db, e.clock)
        assert other.rules.quiet_hours("FR") is not None
        await other.refresh()
        assert other.rules.quiet_hours("FR") is None
