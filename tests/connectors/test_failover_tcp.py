"""Two carriers over real SMPP/TCP behind one failover route: one is down, every message goes
through the other; the first carrier comes back and is used again."""

from __future__ import annotations

import socket
from pathlib import Path

from smsrelay.config import RouteConfig
from smsrelay.connectors.options import SmppOptions
from smsrelay.simulator import CarrierConfig, CarrierSimulator
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
