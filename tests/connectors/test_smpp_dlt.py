"""India's DLT ids on the wire: vendor-specific TLVs in every submit_sm of a message."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.smpp_submit import SubmitOptions, build_submits
from smsrelay.domain.registration import DltTags, Registration
from smsrelay.smpp.pdu import Pdu
from tests.connectors.smpp_support import carrier, connected, message

PE = "1101456780000012345"
TEMPLATE = "1107161234567890123"
LONG = "Your order 4711 has shipped and will arrive tomorrow between 9 and 12. " * 5


def dlt(pdu: Pdu) -> dict[int, bytes]:
    return {k: v for k, v in pdu.tlvs.items() if isinstance(k, int) and isinstance(v, bytes)}


@pytest.mark.parametrize("long_messages", ["udh", "sar", "payload"])
def test_every_segment_carries_the_ids_as_ascii_octets(long_messages: str) -> None:
    out = dataclasses.replace(
        message(LONG, to="+919812345678"), registration=Registration(PE, TEMPLATE)
    )
    pdus = build_submits(out, SubmitOptions(long_messages=long_messages), ref=7)  # type: ignore[arg-type]
    assert len(pdus) == (1 if long_messages == "payload" else 3)
    for pdu in pdus:
        assert dlt(pdu) == {0x1400: PE.encode(), 0x1401: TEMPLATE.encode()}
    if long_messages == "sar":  # the ids go beside the SAR TLVs, not instead of them
        assert [p.tlvs["sar_segment_seqnum"] for p in pdus] == [1, 2, 3]


def test_the_connectors_tags_and_telemarketer_id_are_used() -> None:
    options = SubmitOptions(
        dlt_tags=DltTags(entity_id=0x1500, template_id=0x1501, telemarketer_id=0x1502).by_field(),
        telemarketer_id="1702158123456789012",
    )
    out = dataclasses.replace(message(), registration=Registration(PE, TEMPLATE))
    [pdu] = build_submits(out, options, ref=1)
    assert dlt(pdu) == {
        0x1500: PE.encode(),
        0x1501: TEMPLATE.encode(),
        0x1502: b"1702158123456789012",
    }


def test_a_message_without_ids_gets_no_tlvs_not_even_the_telemarketer_id() -> None:
    [pdu] = build_submits(message(), SubmitOptions(telemarketer_id="TM1"), ref=1)
    assert pdu.tlvs == {}


def test_options_refuse_tags_outside_the_vendor_range_and_bad_telemarketer_ids() -> None:
    with pytest.raises(ValidationError, match="vendor-specific range"):
        SmppOptions(name="c", dlt_tlvs={"entity_id": 0x0204})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="printable ASCII"):
        SmppOptions(name="c", telemarketer_id="tm\u00e9")
    options = SmppOptions(name="c", dlt_tlvs={"telemarketer_id": 0x1410})  # type: ignore[arg-type]
    assert options.dlt_tlvs.by_field()[2] == ("telemarketer_id", 0x1410)
    assert options.definition()["dlt_tlvs"] == {
        "entity_id": 0x1400,
        "template_id": 0x1401,
        "telemarketer_id": 0x1410,
    }


async def test_a_real_smsc_receives_the_tlvs_in_each_submit_sm() -> None:
    out = dataclasses.replace(
        message(LONG, to="+919812345678", message_id="m-dlt"),
        registration=Registration(PE, TEMPLATE),
    )
    async with carrier() as simulator, connected(simulator, telemarketer_id="TM42") as c:
        outcome = await c.submit(out)
        assert outcome.ok and len(outcome.carrier_ids) == 3
        received = [pdu for _, pdu in simulator.accepted]
    assert len(received) == 3
    for pdu in received:  # decoded by the simulator's own codec from the socket's bytes
        assert pdu.tlvs[0x1400] == PE.encode()
        assert pdu.tlvs[0x1401] == TEMPLATE.encode()
        assert pdu.tlvs[0x1402] == b"TM42"
