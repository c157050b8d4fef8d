"""The carrier simulator seen from a plain ESME (our smpp.client) over real TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from smsrelay.simulator import CarrierConfig, CarrierSimulator, Faults, parse_outcomes
from smsrelay.smpp import BindType, CommandStatus, Pdu, connect, receipt_from_pdu
from smsrelay.smpp.errors import BindError
from smsrelay.smpp.pdu import submit_sm
from smsrelay.smpp.specs import SmeAddress
from tests.support.servers import wait_for


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[CarrierSimulator]:
    config = getattr(request, "param", None) or CarrierConfig(dlr_delay=0.01)
    simulator = CarrierSimulator(config, tick_interval=0.02)
    await simulator.start()
    yield simulator
    await simulator.stop()


def _submit(**fields: int | str) -> Pdu:
    return submit_sm(
        "Acme",
        "4915112345678",
        b"hello",
        source_addr_ton=5,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=1,
        **fields,
    )


async def test_submit_gets_a_hex_id_and_a_receipt_with_tlvs(sim: CarrierSimulator) -> None:
    got: list[Pdu] = []
    async with await connect("127.0.0.1", sim.port, "me", "pw", on_deliver=got.append) as client:
        resp = await client.submit(_submit())
        message_id = resp.str_field("message_id")
        assert resp.ok and len(message_id) == 10 and int(message_id, 16) > 0
        await wait_for(lambda: got)
    [pdu] = got
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None and receipt.message_id == message_id
    assert receipt.stat == "DELIVRD" and pdu.tlvs["message_state"] == 2
    assert pdu.fields["source_addr"] == "4915112345678" and pdu.fields["destination_addr"] == "Acme"
    assert b"text:hello" in pdu.fields["short_message"]  # type: ignore[operator]


@pytest.mark.parametrize("sim", [CarrierConfig(system_id="acct", password="pw")], indirect=True)
async def test_credentials_are_checked_when_configured(sim: CarrierSimulator) -> None:
    with pytest.raises(BindError) as exc:
        await connect("127.0.0.1", sim.port, "acct", "wrong")
    assert exc.value.command_status == CommandStatus.ESME_RINVPASWD
    with pytest.raises(BindError):
        await connect("127.0.0.1", sim.port, "other", "pw")
    client = await connect("127.0.0.1", sim.port, "acct", "pw")
    await client.unbind()


@pytest.mark.parametrize("sim", [CarrierConfig(dlr_delay=0.01, id_format="dec")], indirect=True)
async def test_decimal_ids_data_sm_and_submit_multi(sim: CarrierSimulator) -> None:
    async with await connect("127.0.0.1", sim.port, "me", "pw") as client:
        resp = await client.submit(_submit())
        assert resp.str_field("message_id").isdigit()
        data = Pdu(
            0x103,
            fields={"source_addr": "Acme", "destination_addr": "491511", "registered_delivery": 1},
            tlvs={"message_payload": b"hi"},
        )
        assert (await client.submit(data)).ok
        multi = Pdu(
            0x21,
            fields={
                "source_addr": "Acme",
                "short_message": b"x",
                "dest_addresses": [SmeAddress(1, 1, "491511"), SmeAddress(1, 1, "491512")],
            },
        )
        assert (await client.submit(multi)).ok
    assert sim.stats["accepted"] == 3


async def test_receipts_wait_for_a_receiver_and_are_retried_on_error(sim: CarrierSimulator) -> None:
    tx = await connect("127.0.0.1", sim.port, "me", "pw", BindType.TRANSMITTER)
    resp = await tx.submit(_submit())
    await wait_for(lambda: sim.pending_receipts == 1)
    answers = [CommandStatus.ESME_RX_T_APPN, 0]
    got: list[Pdu] = []

    def on_deliver(pdu: Pdu) -> int:
        got.append(pdu)
        return answers.pop(0)

    sim.config = CarrierConfig(dlr_delay=0.01, receipt_retry=0.02)
    rx = await connect("127.0.0.1", sim.port, "me", "pw", BindType.RECEIVER, on_deliver=on_deliver)
    await wait_for(lambda: len(got) == 2)
    assert {receipt_from_pdu(p).message_id for p in got} == {  # type: ignore[union-attr]
        resp.str_field("message_id")
    }
    assert sim.stats["deliver_sm_failed"] == 1 and sim.stats["deliver_sm_ok"] == 1
    await asyncio.gather(tx.unbind(), rx.unbind())


async def test_throttle_fault_is_per_system_id() -> None:
    # Time stands still for the simulator, so its throttle bucket cannot refill however
    # slowly the submits arrive: exactly the burst of 5 passes.
    simulator = CarrierSimulator(
        CarrierConfig(dlr_delay=10), Faults(throttle=5), now=lambda: 1_000.0
    )
    await simulator.start()
    try:
        async with await connect("127.0.0.1", simulator.port, "me", "pw", window=20) as c:
            answers = await asyncio.gather(*(c.submit(_submit()) for _ in range(12)))
        statuses = [a.command_status for a in answers]
        assert statuses.count(0) == 5
        assert statuses.count(CommandStatus.ESME_RTHROTTLED) == 7
    finally:
        await simulator.stop()


def test_parse_outcomes() -> None:
    assert parse_outcomes("delivered=0.9, undelivered=0.1") == {
        "delivered": 0.9,
        "undelivered": 0.1,
    }
    for bad in ("", "lost=1", "delivered", "delivered=-1"):
        with pytest.raises(ValueError):
            parse_outcomes(bad)
