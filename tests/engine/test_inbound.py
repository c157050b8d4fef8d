"""Inbound (MO) messages end to end: carrier → store → opt-out list, webhook, SMPP binds.

The MO comes from the embedded carrier simulator over real SMPP (the default setup when no
connector is configured), through the SMPP connector's deliver_sm handling.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smsrelay.domain.messages import InboundMessage
from smsrelay.engine.inbound import inbound_payload, normalise_address
from smsrelay.smpp.client import connect
from smsrelay.smpp.constants import BindType, CommandStatus
from smsrelay.smpp.pdu import Pdu, submit_sm
from smsrelay.store import accounts as account_store
from smsrelay.store import suppressions as suppression_store
from smsrelay.store.inbound import StoredInbound
from tests.gateway.smpp_support import make_user, smpp_port
from tests.support.gateway import RunningGateway, running_gateway, webhook_receiver
from tests.support.servers import wait_for

PHONE = "+4915112345678"
OURS = "+4930901820"


async def _inject(gw: RunningGateway, text: str, sender: str = PHONE) -> None:
    carrier = gw.relay.embedded_carrier
    assert carrier is not None
    before = gw.relay.inbound.applied
    carrier.inject_mo("smsrelay", sender.lstrip("+"), OURS.lstrip("+"), text)
    await wait_for(lambda: gw.relay.inbound.applied > before, timeout=10)


async def _send(gw: RunningGateway, kind: str) -> tuple[int, str]:
    r = await gw.client.post(
        "/v1/messages", headers=gw.auth(), json={"to": PHONE, "message": "Sale!", "kind": kind}
    )
    code = r.json().get("error", {}).get("code", "") if r.status_code >= 400 else ""
    return r.status_code, code


async def _suppressed(gw: RunningGateway) -> set[str]:
    assert gw.relay.db is not None
    async with gw.relay.db.read() as conn:
        account = await account_store.get_account_by_name(conn, "default")
        assert account is not None
        return {s.number for s in await suppression_store.list_suppressions(conn, account.id)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_stop_blocks_marketing_not_otp_and_start_lifts_it(
    tmp_path: Path, backend: str
) -> None:
    async with running_gateway(tmp_path, backend, connectors=[]) as gw:
        r = await gw.client.post("/v1/admin/numbers", headers=gw.auth(), json={"number": OURS})
        assert r.status_code == 201, r.text
        assert await _send(gw, "marketing") == (202, "")
        await _inject(gw, "Arrêt, merci")
        assert await _suppressed(gw) == {PHONE}
        assert await _send(gw, "marketing") == (422, "recipient_opted_out")
        assert await _send(gw, "otp") == (202, "")  # OTP is exempt by default
        batch = await gw.client.post(
            "/v1/messages/batch",
            headers=gw.auth(),
            json={
                "messages": [
                    {"to": PHONE, "message": "a", "kind": "marketing"},
                    {"to": "+14155552671", "message": "b", "kind": "marketing"},
                ]
            },
        )
        results = batch.json()["results"]
        assert results[0]["error"]["code"] == "recipient_opted_out" and "message_id" in results[1]
        assert gw.relay.db is not None
        async with gw.relay.db.transaction() as conn:
            await account_store.update_account(conn, "default", optout_exempt_otp=False)
        assert await _send(gw, "otp") == (422, "recipient_opted_out")
        await _inject(gw, "start")
        assert await _suppressed(gw) == set()
        assert await _send(gw, "marketing") == (202, "")
        listed = (await gw.client.get("/v1/inbound", headers=gw.auth())).json()["data"]
        assert [i["keyword"] for i in listed] == ["START", "ARRET"]
        assert listed[1]["from"] == PHONE and listed[1]["to"] == OURS


async def test_inbound_webhook_is_signed_and_mo_reaches_smpp_receivers(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, connectors=[]) as gw:
        await gw.client.post("/v1/admin/numbers", headers=gw.auth(), json={"number": OURS})
        assert gw.relay.db is not None
        async with gw.relay.db.read() as conn:
            account = await account_store.get_account_by_name(conn, "default")
        assert account is not None
        await make_user(gw)
        got: list[Pdu] = []
        receiver = await connect(
            "127.0.0.1",
            smpp_port(gw),
            "client1",
            "secret",
            BindType.RECEIVER,
            on_deliver=lambda p: got.append(p),
        )
        async with webhook_receiver(account.webhook_secret) as (url, callbacks):
            async with gw.relay.db.transaction() as conn:
                await account_store.update_account(conn, "default", inbound_webhook_url=url)
            await _inject(gw, "Hello there, ünïcode ✓")
            await wait_for(lambda: len(callbacks.received) >= 1)
            body, verified = callbacks.received[0]
            assert verified
            assert body["type"] == "inbound" and body["from"] == PHONE and body["to"] == OURS
            assert body["message"] == "Hello there, ünïcode ✓" and body["inbound_id"]
        await wait_for(lambda: len(got) >= 1)
        mo = got[0]
        assert mo.int_field("esm_class") == 0 and mo.int_field("data_coding") == 8
        assert mo.fields["short_message"] == "Hello there, ünïcode ✓".encode("utf-16-be")
        await receiver.unbind()


async def test_unassigned_number_is_stored_without_account(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await gw.relay.sink.mo(
            InboundMessage("x", "4915112345678", "4930000000", "STOP", time.time())
        )
        await gw.relay.inbound.drain()
        assert await _suppressed(gw) == set()
        assert (await gw.client.get("/v1/inbound", headers=gw.auth())).json()["data"] == []


async def test_smpp_submit_to_opted_out_number_is_refused(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        r = await gw.client.post("/v1/suppressions", headers=gw.auth(), json={"number": PHONE})
        assert r.status_code == 201
        client = await connect("127.0.0.1", smpp_port(gw), "client1", "secret")
        resp = await client.submit(
            submit_sm("Acme", PHONE.lstrip("+"), b"Sale", service_type="MKT")
        )
        assert resp.command_status == CommandStatus.ESME_RX_P_APPN
        otp = await client.submit(submit_sm("Acme", PHONE.lstrip("+"), b"1234", service_type="OTP"))
        assert otp.ok
        await client.unbind()


def test_address_normalisation_and_payload() -> None:
    assert normalise_address("4915112345678") == "+4915112345678"
    assert normalise_address("004915112345678") == "+4915112345678"
    assert normalise_address("+4915112345678") == "+4915112345678"
    assert normalise_address("12345") == "12345"
    item = StoredInbound("mo_1", "acc", "c", "+49", "12345", "hi", None, None, 0.0, 0.0)
    assert inbound_payload(item).startswith('{"type":"inbound","inbound_id":"mo_1"')
