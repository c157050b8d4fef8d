"""Framing fed three ways, as h11's test_io does: whole, byte by byte, with trailing bytes."""

from __future__ import annotations

import pytest

from smsrelay.smpp.codec import encode_pdu
from smsrelay.smpp.constants import CommandId
from smsrelay.smpp.framing import NEED_MORE, Frame, FramingError, frame_length, split_frame
from smsrelay.smpp.pdu import Pdu, submit_sm

ENQUIRE = bytes.fromhex("00000010000000150000000000000001")


def _submit() -> bytes:
    pdu = submit_sm("src", "dst", b"hello")
    pdu.sequence_number = 2
    return encode_pdu(pdu)


@pytest.mark.parametrize("wire", [ENQUIRE, _submit()])
def test_whole(wire: bytes) -> None:
    assert split_frame(wire) == Frame(wire, b"")


@pytest.mark.parametrize("wire", [ENQUIRE, _submit()])
def test_one_byte_at_a_time(wire: bytes) -> None:
    buf = b""
    for i, byte in enumerate(wire):
        buf += bytes([byte])
        result = split_frame(buf)
        if i < len(wire) - 1:
            assert result is NEED_MORE
        else:
            assert result == Frame(wire, b"")


@pytest.mark.parametrize("wire", [ENQUIRE, _submit()])
def test_with_trailing_bytes(wire: bytes) -> None:
    trailing = ENQUIRE + b"\x00\x00"
    frame = split_frame(wire + trailing)
    assert frame == Frame(wire, trailing)
    assert isinstance(frame, Frame)
    second = split_frame(frame.rest)
    assert second == Frame(ENQUIRE, b"\x00\x00")
    assert split_frame(b"\x00\x00") is NEED_MORE


def test_length_below_header_is_an_error_after_four_bytes() -> None:
    with pytest.raises(FramingError):
        split_frame(bytes.fromhex("0000000f"))


def test_oversize_is_an_error_before_the_body_arrives() -> None:
    head = (70_000).to_bytes(4, "big") + bytes.fromhex("000000040000000000000009")
    with pytest.raises(FramingError) as err:
        split_frame(head)
    assert err.value.command_id == CommandId.SUBMIT_SM
    assert err.value.sequence_number == 9


def test_max_size_is_configurable() -> None:
    wire = encode_pdu(Pdu(CommandId.SUBMIT_SM_RESP, 0, 1, {"message_id": "x" * 40}))
    assert frame_length(wire, 0, 1024) == len(wire)
    with pytest.raises(FramingError):
        frame_length(wire, 0, 32)


def test_frame_length_reads_at_an_offset() -> None:
    buf = bytearray(b"junk" + ENQUIRE)
    assert frame_length(buf, 4, 1024) == 16
    assert frame_length(buf, 18, 1024) == 0  # two octets left: need more
