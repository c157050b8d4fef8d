"""GSM-7 national language shift tables on the wire: the UDH IEs 0x24/0x25 of every segment."""

from __future__ import annotations

import pytest

from smsrelay.connectors.smpp_inbound import mo_part_from_pdu
from smsrelay.connectors.smpp_submit import SubmitOptions, build_submits
from smsrelay.domain.encoding import (
    Alphabet,
    InformationElement,
    Udh,
    build_udh,
    concat_udh,
    decode_gsm7,
    encode_gsm7,
    pack_septets,
    parse_udh,
    unpack_septets,
)
from smsrelay.domain.encoding_choice import choose
from smsrelay.domain.messages import Encoding, OutboundMessage
from smsrelay.smpp.constants import DataCoding, EsmClass
from smsrelay.smpp.pdu import Pdu, deliver_sm
from tests.connectors.smpp_support import carrier, connected

TURKISH = "Şişli'de ığdır"
ON = SubmitOptions(national_languages=frozenset({"tr", "pt"}))


def outbound(text: str, language: str | None) -> OutboundMessage:
    info = choose(text, language=language)
    return OutboundMessage(
        message_id="m1",
        to="+905321234567",
        body=info.text,
        encoding=info.encoding,
        segments=info.segments,
        sender="Acme",
        language=info.language,
    )


def body_of(pdu: Pdu) -> bytes:
    data = pdu.fields["short_message"]
    assert isinstance(data, bytes)
    return data


def read(pdu: Pdu, alphabet: Alphabet, packed: bool = False) -> tuple[Udh, str]:
    """The UDH and the text of one submit_sm, read the way a handset reads it."""
    assert pdu.fields["esm_class"] == EsmClass.UDHI
    assert pdu.fields["data_coding"] == DataCoding.DEFAULT
    udh, rest = parse_udh(body_of(pdu))
    assert udh is not None
    if packed:
        rest = unpack_septets(rest, (len(rest) * 8 - udh.fill_bits) // 7, udh.fill_bits)
    return udh, decode_gsm7(rest, alphabet)


def shifts(udh: Udh) -> list[tuple[int, bytes]]:
    return [(ie.iei, ie.data) for ie in udh.elements if ie.iei in (0x24, 0x25)]


def test_one_segment_carries_the_single_shift_ie() -> None:
    message = outbound(TURKISH, "tr")
    assert (message.encoding, message.segments, message.language) == (Encoding.GSM7, 1, "tr")
    [pdu] = build_submits(message, ON, ref=7)
    assert body_of(pdu)[:4] == bytes([3, 0x24, 1, 1])  # UDHL 3: single shift, Turkish
    udh, text = read(pdu, Alphabet(single="tr"))
    assert udh.concat is None and text == TURKISH


@pytest.mark.parametrize("packed", [False, True])
def test_every_segment_of_a_long_message_carries_the_ies(packed: bool) -> None:
    # ã õ: one septet in the Portuguese locking table; Φ Σ: only in its single shift table
    message = outbound("ãõ" * 90 + "ΦΣ", "pt")
    options = SubmitOptions(national_languages=frozenset({"pt"}), gsm7_packing=packed)
    pdus = build_submits(message, options, ref=0x1234)
    assert len(pdus) == message.segments == 2
    alphabet = Alphabet(locking="pt", single="pt")
    texts = []
    for seq, pdu in enumerate(pdus, start=1):
        udh, text = read(pdu, alphabet, packed)
        assert udh.concat is not None and (udh.concat.seq, udh.concat.total) == (seq, len(pdus))
        assert udh.concat.ref == 0x34
        assert shifts(udh) == [(0x25, b"\x03"), (0x24, b"\x03")]
        assert udh.length == 12
        texts.append(text)
    assert "".join(texts) == message.body


def test_sar_and_payload_modes_still_announce_the_tables() -> None:
    message = outbound("ş" * 400, "tr")
    sar = build_submits(
        message, SubmitOptions(long_messages="sar", national_languages=frozenset({"tr"})), ref=9
    )
    assert len(sar) == message.segments
    for pdu in sar:
        udh, _ = read(pdu, Alphabet(locking="tr"))  # ş: one septet in the locking table
        assert udh.concat is None and shifts(udh) == [(0x25, b"\x01")]
        assert pdu.tlvs["sar_msg_ref_num"] == 9
    payload = build_submits(
        message, SubmitOptions(long_messages="payload", national_languages=frozenset({"tr"})), 9
    )
    assert len(payload) == message.segments  # UDH segments: an MC would not repeat the IEs
    assert "message_payload" not in payload[0].tlvs


def test_a_connector_without_the_language_sends_ucs2() -> None:
    message = outbound(TURKISH, "tr")
    [pdu] = build_submits(message, SubmitOptions(), ref=1)
    assert pdu.fields["data_coding"] == DataCoding.UCS2
    assert pdu.fields["esm_class"] == 0
    assert body_of(pdu).decode("utf-16-be") == TURKISH
    # a text the default tables can write goes as plain GSM-7, in more segments than the
    # Turkish locking table (€ in one septet) was counted for: the documented cost
    euros = outbound("€" * 100, "tr")
    assert euros.segments == 1
    plain = build_submits(euros, SubmitOptions(), ref=1)
    assert len(plain) == 2
    assert all(p.fields["data_coding"] == DataCoding.DEFAULT for p in plain)
    assert all(parse_udh(body_of(p))[0].elements[1:] == () for p in plain)  # type: ignore[union-attr]


async def test_the_carrier_receives_the_shift_ies_over_smpp() -> None:
    async with carrier() as simulator, connected(simulator, national_languages=("tr",)) as c:
        outcome = await c.submit(outbound(TURKISH, "tr"))
        assert outcome.ok, outcome
        [(_, pdu)] = list(simulator.accepted)
        udh, text = read(pdu, Alphabet(single="tr"))
        assert shifts(udh) == [(0x24, b"\x01")] and text == TURKISH


@pytest.mark.parametrize("packed", [False, True])
def test_an_mo_message_is_read_with_the_tables_its_udh_names(packed: bool) -> None:
    alphabet = Alphabet(locking="tr", single="tr")
    septets = encode_gsm7(TURKISH, alphabet)
    udh = concat_udh(5, 2, 1, extra=alphabet.elements)
    fill = (7 - len(udh) * 8 % 7) % 7
    body = udh + (pack_septets(septets, fill) if packed else septets)
    pdu = deliver_sm("905321234567", "4512", body, esm_class=int(EsmClass.UDHI), source_addr_ton=1)
    part = mo_part_from_pdu(pdu, gsm7_packing=packed)
    assert (part.text, part.seq, part.total) == (TURKISH, 1, 2)
    # a language identifier TS 23.038 does not define: the default tables
    unknown = build_udh([InformationElement(0x24, b"\x63")]) + encode_gsm7("hello")
    pdu = deliver_sm("905321234567", "4512", unknown, esm_class=int(EsmClass.UDHI))
    assert mo_part_from_pdu(pdu).text == "hello"
