"""India's DLT ids end to end over real sockets: from the REST API or an SMPP client's bind,
through the store and the dispatcher, to the TLVs of the submit_sm a carrier receives."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from smsrelay.connectors.options import SmppOptions
from smsrelay.domain.registration import DltTags
from smsrelay.simulator import CarrierConfig, CarrierSimulator
from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import connect
from smsrelay.smpp.constants import CommandStatus
from smsrelay.smpp.pdu import Pdu
from tests.gateway.smpp_support import make_user, smpp_port
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import wait_for

PE = "1101456780000012345"
TEMPLATE = "1107161234567890123"
TM = "1702158123456789012"


@contextlib.asynccontextmanager
async def through_a_carrier(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[RunningGateway, CarrierSimulator]]:
    """A gateway whose one route is an SMPP carrier (the simulator, on 127.0.0.1) that keeps
    every submit_sm it accepted."""
    async with CarrierSimulator(CarrierConfig(dlr_delay=0.02), tick_interval=0.02) as carrier:
        options = SmppOptions(
            name="carrier",
            port=carrier.port,
            telemarketer_id=TM,
            reconnect_initial=0.05,
            tick_interval=0.02,
        )
        async with running_gateway(tmp_path, connectors=[options], **settings) as gw:
            yield gw, carrier


async def submitted_to(carrier: CarrierSimulator, number: str) -> list[Pdu]:
    await wait_for(
        lambda: any(p.str_field("destination_addr") == number for _, p in carrier.accepted)
    )
    return [p for _, p in carrier.accepted if p.str_field("destination_addr") == number]


def vendor_tlvs(pdu: Pdu) -> dict[int, bytes]:
    return {k: v for k, v in pdu.tlvs.items() if isinstance(k, int) and isinstance(v, bytes)}


async def test_rest_ids_and_the_accounts_entity_id_reach_the_carrier(tmp_path: Path) -> None:
    async with through_a_carrier(tmp_path) as (gw, carrier):
        r = await gw.client.patch(
            "/v1/admin/accounts/default", json={"dlt_entity_id": PE}, headers=gw.auth()
        )
        assert r.status_code == 200
        long = "Your order 4711 has shipped; it arrives tomorrow between 9 and 12. " * 4
        for to, text, registration in (
            ("+919812345678", long, {"template_id": TEMPLATE}),
            ("+447700900123", "Hi", None),
        ):
            r = await gw.client.post(
                "/send",
                json={"to": to, "message": text, "registration": registration},
                headers=gw.auth(),
            )
            assert r.status_code == 202, r.text
        india = await submitted_to(carrier, "919812345678")
        assert len(india) == 2  # both segments carry every id
        for pdu in india:
            assert vendor_tlvs(pdu) == {
                0x1400: PE.encode(),
                0x1401: TEMPLATE.encode(),
                0x1402: TM.encode(),  # the connector's, added at submit
            }
        [uk] = await submitted_to(carrier, "447700900123")
        assert vendor_tlvs(uk) == {}  # no Indian TLVs on a UK message


async def test_an_smpp_clients_tlvs_reach_the_carrier(tmp_path: Path) -> None:
    async with through_a_carrier(tmp_path) as (gw, carrier):
        await make_user(gw)
        client = await connect("127.0.0.1", smpp_port(gw), "client1", "secret")
        ids = {0x1400: PE.encode(), 0x1401: TEMPLATE.encode() + b"\0", 0x1402: b"CLIENT-TM"}
        resp = await client.submit(
            P.submit_sm("ACMEIN", "919812345678", b"Your code is 1234", tlvs=dict(ids))
        )
        assert resp.ok, resp
        message_id = resp.str_field("message_id")
        got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
        assert got.json()["registration"] == {
            "entity_id": PE,
            "template_id": TEMPLATE,  # a C-octet string's NUL is not part of the id
            "telemarketer_id": "CLIENT-TM",  # the client's own wins over the connector's
        }
        [pdu] = await submitted_to(carrier, "919812345678")
        assert vendor_tlvs(pdu) == {
            0x1400: PE.encode(),
            0x1401: TEMPLATE.encode(),
            0x1402: b"CLIENT-TM",
        }
        bad = await client.submit(
            P.submit_sm("ACMEIN", "919812345678", b"x", tlvs={0x1401: "tpl é".encode()})
        )
        assert bad.command_status == CommandStatus.ESME_RSUBMITFAIL
        assert client.is_bound
        await client.unbind()


async def test_the_servers_tags_are_configurable(tmp_path: Path) -> None:
    tags = DltTags(entity_id=0x3000, template_id=0x3001, telemarketer_id=0x3002)
    async with through_a_carrier(tmp_path, smpp_dlt_tlvs=tags) as (gw, carrier):
        await make_user(gw)
        client = await connect("127.0.0.1", smpp_port(gw), "client1", "secret")
        resp = await client.submit(
            P.submit_sm(
                "ACMEIN",
                "919812345678",
                b"Hi",
                tlvs={0x3000: PE.encode(), 0x1401: b"not-read-here"},
            )
        )
        assert resp.ok
        got = await gw.client.get(f"/v1/messages/{resp.str_field('message_id')}", headers=gw.auth())
        assert got.json()["registration"] == {
            "entity_id": PE,
            "template_id": None,
            "telemarketer_id": None,
        }
        [pdu] = await submitted_to(carrier, "919812345678")
        # out: the connector's own tags (the defaults) and telemarketer id
        assert vendor_tlvs(pdu) == {0x1400: PE.encode(), 0x1402: TM.encode()}
        await client.unbind()
