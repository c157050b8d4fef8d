"""The whole gateway over real SMPP: POST /send → dispatcher → SMPP connector → carrier
simulator → receipt → delivered. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.smpp import SmppConnector
from smsrelay.simulator import CarrierConfig, CarrierSimulator, Faults
from tests.support.gateway import running_gateway
from tests.support.servers import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


async def _status(gw, message_id: str) -> str:  # type: ignore[no-untyped-def]
    got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
    return str(got.json()["status"])


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n


async def test_default_configuration_delivers_over_the_embedded_smpp_simulator(
    tmp_path: Path, backend: str
) -> None:
    async with running_gateway(tmp_path, backend, connectors=[]) as gw:
        relay = gw.relay
        assert list(relay.connectors) == ["simulator"]
        connector = relay.connectors["simulator"]
        assert isinstance(connector, SmppConnector)
        assert relay.embedded_carrier is not None
        assert connector.port == relay.embedded_carrier.port
        r = await gw.client.post(
            "/send",
            headers=gw.auth(),
            json={"to": "+1234567890", "message": "Your verification code is 1234"},
        )
        assert r.status_code == 202, r.text
        message_id = r.json()["message_id"]

        async def delivered() -> bool:
            return await _status(gw, message_id) == "delivered"

        await wait_for(delivered)
        got = (await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())).json()
        [(carrier_id, pdu)] = relay.embedded_carrier.accepted
        assert got["carrier_ids"] == [carrier_id.lstrip("0")]
        assert pdu.fields["destination_addr"] == "1234567890"
        carrier = relay.embedded_carrier
    assert not carrier.server.sessions  # stopped with the gateway


async def test_dropped_connections_lose_nothing(tmp_path: Path, backend: str) -> None:
    simulator = CarrierSimulator(
        CarrierConfig(dlr_delay=0.05, receipt_retry=0.1), Faults(drop_every=40), tick_interval=0.05
    )
    await simulator.start()
    try:
        connectors = [SmppOptions(name="carrier", port=simulator.port, window=20, binds=2)]
        async with running_gateway(
            tmp_path,
            backend,
            connectors=connectors,
            retry_base=0.05,
            retry_cap=0.5,
            max_attempts=20,
        ) as gw:
            connector = gw.relay.connectors["carrier"]
            assert isinstance(connector, SmppConnector)
            connector.reconnect_initial, connector.bind_wait = 0.05, 0.5
            ids = []
            for chunk in range(4):
                r = await gw.client.post(
                    "/v1/messages/batch",
                    headers=gw.auth(),
                    json={
                        "messages": [
                            {"to": "+14155552671", "message": f"hello {chunk}-{i}"}
                            for i in range(50)
                        ]
                    },
                )
                assert r.status_code in (200, 201, 202), r.text
                ids += [m["message_id"] for m in r.json()["results"]]
            assert len(ids) == 200

            async def delivered() -> int:
                async with gw.relay.db.read() as conn:
                    result = await conn.execute(
                        text("SELECT count(*) FROM messages WHERE status = 'delivered'")
                    )
                    return int(result.scalar_one())

            # the database is fresh: 200 delivered rows are exactly the 200 sent
            await wait_for(lambda: _at_least(delivered, 200), timeout=40, interval=0.1)
            assert len(set(ids)) == 200 and await _status(gw, ids[-1]) == "delivered"
            assert simulator.stats["dropped"] >= 3
    finally:
        await simulator.stop()
