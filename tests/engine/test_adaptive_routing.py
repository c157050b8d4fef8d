"""The adaptive strategy on the engine's clock: two simulated carriers over real SMPP, one
delivering 95 % and one 60 %. After a warm-up the better one carries most new traffic; when
it degrades to 50 %, traffic moves to the other within the configured window. And the
counts a turn makes are written with it, or not at all."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.connectors.embedded import EmbeddedSimulatorConnector
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.domain.messages import Encoding, Message, MessageKind
from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.domain.scoring import AdaptiveWeights
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.delivery_stats import DeliveryStats
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.dlr import DlrProcessor
from smsrelay.engine.unit_of_work import UnitOfWork, Write
from smsrelay.store import accounts as account_store
from smsrelay.store import stats as stats_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from smsrelay.store.schema import messages
from tests.engine.support import run_until

T0 = 1_800_000_000.0
WINDOW = 300.0  # seconds of the engine's clock the score reads
WEIGHTS = AdaptiveWeights(
    delivery=1.0, latency=0.0, errors=0.5, cost=0.0, exploration=0.1, window=WINDOW, min_samples=10
)
# messages per second of the engine's clock: the trailing carrier gets about 240 samples a
# window from exploration alone, so its measured rate is within a few points of its own (with
# half as many, a simulation of the same scores let the better carrier lead again one time in
# fifty, one window after it degraded)
RATE = 8


def _at(clock: ManualClock, moment: float) -> Callable[[], bool]:
    return lambda: clock.now() >= moment


def carrier(name: str, delivered: float, seed: int) -> EmbeddedSimulatorConnector:
    return EmbeddedSimulatorConnector(
        SimulatorOptions(
            name=name,
            latency_ms=0,
            dlr_delay_ms=10,
            outcomes={"delivered": delivered, "undelivered": 1 - delivered},
            seed=seed,
        )
    )


async def test_traffic_follows_measured_delivery(database: Database) -> None:
    clock = ManualClock(T0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    good, poor = carrier("good", 0.95, seed=1), carrier("poor", 0.60, seed=2)
    uow = UnitOfWork(database, clock)
    delivery = DeliveryStats(database, clock, refresh=5.0)
    dlr = DlrProcessor(uow, clock, delivery=delivery)
    # the worse carrier is declared first: a failover route would send everything there
    route = Route("r", ("poor", "good"), strategy="adaptive", adaptive=WEIGHTS)
    dispatcher = Dispatcher(
        uow,
        {"poor": poor, "good": good},
        [route],
        RetryPolicy(max_attempts=1, backoff=Backoff(base=1.0, cap=5.0)),
        clock,
        settings=DispatchSettings(idle_poll=0.05, housekeeping_interval=60.0),
        rng=random.Random(3),
        delivery=delivery,
    )
    acceptor = Acceptor(GroupCommitter(uow, dispatch=dispatcher.claims), AcceptPolicy(), clock)

    async def traffic(seconds: float) -> list[str]:
        """``RATE`` messages a second for ``seconds`` of the engine's clock; their ids."""
        ids = []
        for second in range(int(seconds)):
            requests = [
                SendRequest(to="+4915112345678", message=f"m{second}-{n}") for n in range(RATE)
            ]
            outcome = await acceptor.accept(account, requests)
            ids += [item.message.id for item in outcome.accepted]
            await run_until(clock, uow, _at(clock, clock.now() + 1), step=0.25)
        return ids

    async def share(ids: Sequence[str], name: str) -> float:
        async with database.read() as conn:
            rows = (
                await conn.execute(select(messages.c.connector).where(messages.c.id.in_(list(ids))))
            ).all()
        assert len(rows) == len(ids) and all(r.connector for r in rows)
        return sum(1 for r in rows if r.connector == name) / len(ids)

    await uow.start()
    await dlr.start()
    await good.start(dlr)
    await poor.start(dlr)
    await dispatcher.start()
    try:
        await traffic(WINDOW / 2)  # warm-up: both get measured
        warm = await traffic(WINDOW / 2)
        assert await share(warm, "good") >= 0.85

        good.carrier.set_outcomes({"delivered": 0.5, "undelivered": 0.5})
        await traffic(WINDOW)  # within one window the degraded carrier's score falls behind
        after = await traffic(WINDOW / 4)
        # most of it: a trailing connector measured on its exploration share alone can look
        # better than it is now and then, and take the lead back for a while
        assert await share(after, "poor") >= 0.75, "traffic did not move within the window"

        async with database.read() as conn:
            table = await stats_store.read_window(conn, clock.now() - WINDOW)
        good_now = table["good"]["DE"]
        assert good_now.delivery_rate is not None and good_now.delivery_rate < 0.7
        assert good_now.latency_p50 is not None and good_now.submit_errors == 0
        assert sum(s.submitted for rows in table.values() for s in rows.values()) > 0
    finally:
        await dispatcher.stop()
        await dlr.stop()
        await uow.stop()
        await good.stop()
        await poor.stop()


def _message(n: int) -> Message:
    return Message(
        id=f"msg_{n}",
        account_id="acc",
        to="+4915112345678",
        country="DE",
        sender=None,
        body="hi",
        encoding=Encoding.GSM7,
        segments=2,
        kind=MessageKind.OTP,
        priority=25,
        status=MessageStatus.DELIVERED,
        created_at=T0,
        updated_at=T0,
        not_before=T0,
        connector="a",
        submitted_at=T0 - 3,
    )


async def test_a_turns_counts_are_written_with_it_or_not_at_all(database: Database) -> None:
    """Counts go in one upsert per connector and minute at the end of the turn; a write that
    fails takes its counts back with it, the others' stay (retried one by one)."""
    clock = ManualClock(T0)
    delivery = DeliveryStats(database, clock, prices={"a": {"DE": 0.05}})
    uow = UnitOfWork(database, clock)
    uow.hook(delivery)

    def counting(n: int, *, fail: bool = False) -> Write[None]:
        async def write(conn: AsyncConnection, now: float) -> None:
            delivery.submitted("a", _message(n), now)
            delivery.finals([_message(n)], now)
            if fail:
                raise RuntimeError("this write fails")

        return write

    await uow.start()
    try:
        futures = [uow.submit(counting(1)), uow.submit(counting(2, fail=True))]
        futures.append(uow.submit(counting(3)))  # the three in one turn
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert isinstance(results[1], RuntimeError) and results[0] is None is results[2]
    finally:
        await uow.stop()
    async with database.read() as conn:
        table = await stats_store.read_window(conn, T0 - 60)
    counted = table["a"]["DE"]
    assert (counted.submitted, counted.delivered) == (2, 2)
    assert round(counted.cost, 6) == 0.2  # 2 messages x 2 segments x 0.05
    assert counted.latency_p50 is not None and 2.0 <= counted.latency_p50 <= 5.0
