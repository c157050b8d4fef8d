from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.smpp.codec import decode_pdu, encode_pdu
from smsrelay.smpp.constants import CommandId, CommandStatus
from smsrelay.smpp.errors import LocalProtocolError, PduDecodeError
from smsrelay.smpp.pdu import Pdu, bind, deliver_sm, response_to, submit_sm
from smsrelay.smpp.specs import BODIES, TLVS, DistributionList, SmeAddress, UnsuccessSme

from .strategies import all_pdus, pdus, tlv_dicts


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("command_id", sorted(BODIES), ids=lambda c: CommandId(c).name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_pdu_round_trips(command_id: int, data: st.DataObject) -> None:
    pdu = data.draw(pdus(command_id))
    wire = encode_pdu(pdu)
    assert int.from_bytes(wire[:4], "big") == len(wire)
    assert decode_pdu(wire) == pdu


@settings(max_examples=200, deadline=None)
@given(tlvs=tlv_dicts())
def test_tlvs_round_trip_known_and_unknown(tlvs: dict[str | int, object]) -> None:
    pdu = Pdu(CommandId.DATA_SM_RESP, 0, 9, {"message_id": "x"}, tlvs)  # type: ignore[arg-type]
    assert decode_pdu(encode_pdu(pdu)).tlvs == tlvs


def test_every_spec_tlv_is_covered() -> None:
    names = {s.name for s in TLVS.values()}
    for required in (
        "dest_addr_subunit",
        "source_port",
        "destination_port",
        "sar_msg_ref_num",
        "sar_total_segments",
        "sar_segment_seqnum",
        "message_payload",
        "receipted_message_id",
        "message_state",
        "network_error_code",
        "user_message_reference",
        "more_messages_to_send",
        "ms_availability_status",
        "callback_num",
        "sc_interface_version",
    ):
        assert required in names


def test_unknown_tlv_passes_through_byte_for_byte() -> None:
    wire = h("""0000001f 80000004 00000000 00000002 616263 00
                1401 0003 010203 2001 0000""")
    pdu = decode_pdu(wire)
    assert pdu.tlvs == {0x1401: b"\x01\x02\x03", 0x2001: b""}
    assert encode_pdu(pdu) == wire


@settings(max_examples=300, deadline=None)
@given(pdu=all_pdus, cut=st.integers(0, 400), junk=st.binary(max_size=8))
def test_decoding_damaged_frames_only_raises_decode_error(pdu: Pdu, cut: int, junk: bytes) -> None:
    wire = bytearray(encode_pdu(pdu)[: max(16, cut)] + junk)
    wire[0:4] = len(wire).to_bytes(4, "big")
    try:
        decoded = decode_pdu(bytes(wire))
    except PduDecodeError as exc:
        assert exc.command_id == pdu.command_id
        assert exc.sequence_number == pdu.sequence_number
        assert exc.command_status != 0
    else:
        assert decoded.command_id == pdu.command_id


# ----------------------------------------------------------------------------- known answers


def test_enquire_link_known_answer() -> None:
    wire = h("00000010 00000015 00000000 00000001")
    assert encode_pdu(Pdu(CommandId.ENQUIRE_LINK, 0, 1)) == wire
    assert decode_pdu(wire) == Pdu(CommandId.ENQUIRE_LINK, 0, 1)


def test_bind_transmitter_known_answer() -> None:
    # §4.1.1 layout: system_id "SMPP3TEST", password "secret08", system_type "SUBMIT1",
    # interface_version 0x34, addr_ton 1, addr_npi 1, address_range NULL.
    wire = h("""0000002f 00000002 00000000 00000001
                534d5050335445535400 73656372657430 3800 5355424d49543100
                34 01 01 00""")
    pdu = bind(
        CommandId.BIND_TRANSMITTER,
        "SMPP3TEST",
        "secret08",  # type: ignore[arg-type]
        system_type="SUBMIT1",
        addr_ton=1,
        addr_npi=1,
    )
    pdu.sequence_number = 1
    assert encode_pdu(pdu) == wire
    assert decode_pdu(wire) == pdu


def test_submit_sm_with_tlv_known_answer() -> None:
    # submit_sm from alphanumeric "Acme" (TON 5) to +4915112345678 (TON 1 NPI 1),
    # registered_delivery 1, "Hi", with sar_msg_ref_num=0x0102 (tag 0x020c, length 2).
    wire = h("""0000003a 00000004 00000000 0000002a
                00 05 00 41636d6500 01 01 343931353131323334353637 3800
                00 00 00 00 00 01 00 00 00 02 4869
                020c 0002 0102""")
    pdu = submit_sm(
        "Acme",
        "4915112345678",
        b"Hi",
        source_addr_ton=5,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=1,
        tlvs={"sar_msg_ref_num": 0x0102},
    )
    pdu.sequence_number = 0x2A
    assert encode_pdu(pdu) == wire
    decoded = decode_pdu(wire)
    assert decoded.fields["short_message"] == b"Hi"
    assert decoded.tlvs == {"sar_msg_ref_num": 0x0102}


def test_deliver_sm_receipt_known_answer() -> None:
    text = (
        b"id:1A2B sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 "
        b"stat:DELIVRD err:000 text:"
    )
    wire = (
        h("00000000 00000005 00000000 00000007")
        + h("00 01 01")
        + b"4915112345678\0"
        + h("00 00")
        + b"Acme\0"
        + h("04 00 00 00 00 00 00 00 00")
        + bytes([len(text)])
        + text
        + h("001e 0005")
        + b"1A2B\0"
        + h("0427 0001 02")
    )
    wire = len(wire).to_bytes(4, "big") + wire[4:]
    pdu = decode_pdu(wire)
    assert pdu.command_id == CommandId.DELIVER_SM
    assert pdu.fields["esm_class"] == 0x04
    assert pdu.fields["source_addr"] == "4915112345678"
    assert pdu.fields["short_message"] == text
    assert pdu.tlvs == {"receipted_message_id": "1A2B", "message_state": 2}
    assert encode_pdu(pdu) == wire
    built = deliver_sm(
        "4915112345678",
        "Acme",
        text,
        source_addr_ton=1,
        source_addr_npi=1,
        esm_class=4,
        tlvs={"receipted_message_id": "1A2B", "message_state": 2},
    )
    built.sequence_number = 7
    assert encode_pdu(built) == wire


def test_generic_nack_known_answer() -> None:
    wire = h("00000010 80000000 00000003 0000000a")
    assert decode_pdu(wire) == Pdu(CommandId.GENERIC_NACK, CommandStatus.ESME_RINVCMDID, 10)


def test_error_response_has_empty_body_both_ways() -> None:
    wire = h("00000010 80000004 00000058 00000005")
    pdu = decode_pdu(wire)
    assert pdu == Pdu(CommandId.SUBMIT_SM_RESP, CommandStatus.ESME_RTHROTTLED, 5)
    assert (
        encode_pdu(response_to(Pdu(CommandId.SUBMIT_SM, 0, 5), CommandStatus.ESME_RTHROTTLED))
        == wire
    )


def test_error_response_with_garbage_body_is_kept_with_header() -> None:
    wire = h("00000013 80000009 0000000e 00000005 414243")  # no NUL after "ABC"
    pdu = decode_pdu(wire)
    assert pdu.command_status == CommandStatus.ESME_RINVPASWD
    assert pdu.fields == {}


def test_submit_multi_with_both_destination_kinds() -> None:
    pdu = Pdu(
        CommandId.SUBMIT_MULTI,
        0,
        3,
        {
            "source_addr": "Acme",
            "dest_addresses": [SmeAddress(1, 1, "4915112345678"), DistributionList("staff")],
            "short_message": b"hello",
        },
    )
    decoded = decode_pdu(encode_pdu(pdu))
    assert decoded.fields["dest_addresses"] == pdu.fields["dest_addresses"]
    resp = Pdu(
        CommandId.SUBMIT_MULTI_RESP,
        0,
        3,
        {"message_id": "m1", "unsuccess_sme": [UnsuccessSme(1, 1, "491", 0x0B)]},
    )
    assert decode_pdu(encode_pdu(resp)).fields == resp.fields


# ----------------------------------------------------------------------------- strictness


def _submit_wire(**fields: object) -> bytes:
    pdu = submit_sm("a", "b", b"x")
    pdu.sequence_number = 77
    return encode_pdu(pdu)


def test_cstring_too_long_is_a_decode_error_with_header() -> None:
    wire = bytearray(_submit_wire())
    # service_type has max 6 octets with NUL; overwrite with 8 non-NUL bytes
    wire[16:17] = b"ABCDEFGH"
    wire[0:4] = len(wire).to_bytes(4, "big")
    with pytest.raises(PduDecodeError) as err:
        decode_pdu(bytes(wire))
    assert err.value.command_id == CommandId.SUBMIT_SM
    assert err.value.sequence_number == 77
    assert err.value.command_status == CommandStatus.ESME_RINVSERTYP


def test_short_message_length_past_body_is_a_decode_error() -> None:
    wire = bytearray(_submit_wire())
    wire[-2] = 200  # sm_length claims 200 octets, one follows
    with pytest.raises(PduDecodeError) as err:
        decode_pdu(bytes(wire))
    assert err.value.command_status == CommandStatus.ESME_RINVMSGLEN


def test_unknown_command_is_a_decode_error() -> None:
    with pytest.raises(PduDecodeError) as err:
        decode_pdu(h("00000010 00000099 00000000 00000004"))
    assert err.value.command_status == CommandStatus.ESME_RINVCMDID
    assert err.value.sequence_number == 4


def test_known_tlv_with_bad_length_is_rejected() -> None:
    wire = h("00000017 80000004 00000000 00000002 6100 0427 0002 0001")
    with pytest.raises(PduDecodeError) as err:
        decode_pdu(wire)
    assert err.value.command_status == CommandStatus.ESME_RINVPARLEN


def test_truncated_tlv_stream_is_rejected() -> None:
    with pytest.raises(PduDecodeError) as err:
        decode_pdu(h("00000014 80000004 00000000 00000002 6100 04"))
    assert err.value.command_status == CommandStatus.ESME_RINVOPTPARSTREAM


def test_cstring_tlv_without_nul_is_tolerated() -> None:
    wire = h("00000018 80000004 00000000 00000002 6100 001e 0002 4142")
    assert decode_pdu(wire).tlvs == {"receipted_message_id": "AB"}


def test_time_field_must_be_empty_or_16_chars() -> None:
    with pytest.raises(LocalProtocolError):
        encode_pdu(submit_sm("a", "b", schedule_delivery_time="2401"))


@pytest.mark.parametrize(
    "pdu",
    [
        submit_sm("a" * 21, "b"),  # source_addr max 20 chars
        submit_sm("a", "b", b"x" * 255),  # short_message max 254
        submit_sm("a", "b", source_addr_ton=256),  # u8 out of range
        submit_sm("a", "b", tlvs={"no_such_tlv": 1}),  # unknown name
        submit_sm("a", "b", tlvs={"message_state": 300}),  # does not fit 1 octet
        submit_sm("a", "snowman\u2603"),  # not Latin-1
        Pdu(0x12345678),  # unknown command
    ],
)
def test_encode_rejects_invalid_values(pdu: Pdu) -> None:
    with pytest.raises(LocalProtocolError):
        encode_pdu(pdu)
