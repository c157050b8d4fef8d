"""Two carriers over real SMPP/TCP behind one failover route: one is down, every message goes
through the other; the first carrier comes back and is used again."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from smsrelay.config import RouteConfig
from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.smpp import SmppConnector
from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.simulator import CarrierConfig, CarrierSimulator
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from tests.connectors.smpp_support import RecordingSink
from tests.engine.support import run_until
from tests.support.gateway import running_gateway
from tests.support.servers import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_failover_to_a_second_carrier_and_back(tmp_path: Path) -> None:
    second = CarrierSimulator(CarrierConfig(dlr_delay=0.02), port=0)
    await second.start()
    first_port = _free_port()  # the first carrier is down: nothing listens there yet
    connectors = [
        SmppOptions(name="a", port=first_port, window=50),
        SmppOptions(name="b", port=second.port, window=50),
    ]
    routes = [RouteConfig(name="default", connectors=["a", "b"])]
    first: CarrierSimulator | None = None
    try:
        async with running_gateway(
            tmp_path, connectors=connectors, routes=routes, retry_base=0.05, retry_cap=0.2
        ) as gw:
            ids = []
            for n in range(20):
                r = await gw.client.post(
                    "/send", headers=gw.auth(), json={"to": "+14155552671", "message": f"m{n}"}
                )
                ids.append(r.json()["message_id"])

            async def all_delivered_via(name: str, message_ids: list[str]) -> bool:
                for message_id in message_ids:
                    got = (
                        await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
                    ).json()
                    if got["status"] != "delivered" or got["connector"] != name:
                        return False
                return True

            await wait_for(lambda: all_delivered_via("b", ids), timeout=30)
            assert len(second.accepted) == 20

            # the first carrier recovers: the connector rebinds, the circuit's probe passes,
            # and new messages take the route's first connector again
            first = CarrierSimulator(CarrierConfig(dlr_delay=0.02), port=first_port)
            await first.start()
            carrier = first
            later: list[str] = []

            async def used_again() -> bool:
                r = await gw.client.post(
                    "/send", headers=gw.auth(), json={"to": "+14155552671", "message": "again"}
                )
                later.append(r.json()["message_id"])
                return len(carrier.accepted) > 0

            await wait_for(used_again, timeout=40, interval=0.5)
            await wait_for(lambda: all_delivered_via("a", later[-1:]), timeout=20)
    finally:
        await second.stop()
        if first is not None:
            await first.stop()


async def test_traffic_returns_to_a_carrier_back_from_a_long_outage(database: Database) -> None:
    """The route's first carrier is down through five minutes of the engine's clock while
    messages keep coming (they go to the second); then it listens again. Once its session is
    bound, the next 200 messages go through it, not through the second carrier until a
    cool-down grown through the outage runs out; and every message reached exactly one
    carrier exactly once."""
    clock_start = 1_800_000_000.0
    clock = ManualClock(clock_start)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    second = CarrierSimulator(CarrierConfig(dlr_delay=0.02), port=0)
    await second.start()
    first_port = _free_port()
    first = CarrierSimulator(CarrierConfig(dlr_delay=0.02), port=first_port)
    a = SmppConnector(
        SmppOptions(
            name="a",
            port=first_port,
            window=50,
            bind_wait=0.05,
            start_wait=0.0,
            reconnect_initial=0.05,
        )
    )
    b = SmppConnector(SmppOptions(name="b", port=second.port, window=50))
    sink = RecordingSink()
    uow = UnitOfWork(database, clock)
    dispatcher = Dispatcher(
        uow,
        {"a": a, "b": b},
        [Route("default", ("a", "b"))],
        RetryPolicy(max_attempts=6, backoff=Backoff(base=0.5, cap=2.0)),
        clock,
        settings=DispatchSettings(idle_poll=0.05),
        rng=random.Random(1),
    )
    acceptor = Acceptor(GroupCommitter(uow, dispatch=dispatcher.claims), AcceptPolicy(), clock)
    ids: list[str] = []

    async def send(text: str) -> None:
        outcome = await acceptor.accept(account, [SendRequest(to="+14155552671", message=text)])
        ids.append(outcome.accepted[0].message.id)

    async def run_to(moment: float, step: float) -> None:
        await run_until(clock, uow, lambda: clock.now() >= moment, step=step)

    async def all_sent() -> bool:
        async with database.read() as conn:
            found = [await message_store.get_message(conn, i) for i in ids]
        return all(m is not None and m.status in ("sent", "delivered") for m in found)

    await a.start(sink)
    await b.start(sink)
    await uow.start()
    await dispatcher.start()
    try:
        for n in range(60):  # a message every 5 s for five minutes: the carrier stays down
            await send(f"outage {n}")
            await run_to(clock_start + 5 * (n + 1), step=0.5)
        await run_until(clock, uow, all_sent, step=0.5)
        assert len(second.accepted) == 60 and dispatcher.circuits["a"].state != "closed"

        await first.start()  # the carrier is back; its session binds (a network wait)
        await wait_for(lambda: a.bound_sessions > 0, timeout=10)
        before, back = len(ids), clock.now()
        for n in range(200):  # 10 messages a second for 20 s of the engine's clock
            await send(f"recovered {n}")
            await run_to(back + 0.1 * (n + 1), step=0.05)
        await run_until(clock, uow, all_sent)
        async with database.read() as conn:
            after = [await message_store.get_message(conn, i) for i in ids[before:]]
        through_first = sum(1 for m in after if m is not None and m.connector == "a")
        assert through_first >= 180, f"{through_first} of 200 through the recovered carrier"
        # nothing lost or doubled: each message was accepted by one carrier, once
        assert len(first.accepted) + len(second.accepted) == len(ids)
    finally:
        await dispatcher.stop()
        await uow.stop()
        await a.stop()
        await b.stop()
        await first.stop()
        await second.stop()
