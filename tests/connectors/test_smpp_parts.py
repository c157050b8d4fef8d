"""The pure halves of the SMPP connector: status table, receipts, MO reassembly, pacing."""

from __future__ import annotations

import pytest

from smsrelay.connectors.pacing import Pacer
from smsrelay.connectors.smpp_inbound import (
    MoAssembler,
    MoPart,
    convert_receipt_id,
    mo_part_from_pdu,
    report_from_receipt,
)
from smsrelay.connectors.smpp_submit import SubmitOptions, build_submits, error_for_status
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import ReceiptStatus
from smsrelay.simulator import mo_pdus
from smsrelay.smpp.constants import CommandStatus, MessageState
from smsrelay.smpp.receipts import Receipt
from tests.connectors.smpp_support import message


@pytest.mark.parametrize(
    "status,code",
    [
        (CommandStatus.ESME_RTHROTTLED, ErrorCode.CARRIER_THROTTLED),
        (CommandStatus.ESME_RMSGQFUL, ErrorCode.CARRIER_QUEUE_FULL),
        (CommandStatus.ESME_RSYSERR, ErrorCode.CARRIER_SYSTEM_ERROR),
        (CommandStatus.ESME_RINVDSTADR, ErrorCode.INVALID_DESTINATION),
        (CommandStatus.ESME_RINVSRCADR, ErrorCode.INVALID_SENDER),
        (CommandStatus.ESME_RSUBMITFAIL, ErrorCode.CARRIER_REJECTED),
        (0x400, ErrorCode.CARRIER_REJECTED),  # vendor-specific
    ],
)
def test_status_table(status: int, code: ErrorCode) -> None:
    assert error_for_status(status) is code


def test_a_single_segment_never_carries_udh_even_in_sar_mode() -> None:
    [pdu] = build_submits(message("hi"), SubmitOptions(long_messages="sar"), ref=300)
    assert pdu.fields["esm_class"] == 0 and not pdu.tlvs


def test_udh_reference_is_the_low_byte_and_sar_keeps_16_bits() -> None:
    long = message("x" * 200)
    udh = build_submits(long, SubmitOptions(), ref=0x1234)
    assert udh[0].fields["short_message"][:6] == bytes([5, 0, 3, 0x34, 2, 1])  # type: ignore[index]
    sar = build_submits(long, SubmitOptions(long_messages="sar"), ref=0x1234)
    assert sar[1].tlvs["sar_msg_ref_num"] == 0x1234


@pytest.mark.parametrize(
    "state,status",
    [
        (MessageState.DELIVERED, ReceiptStatus.DELIVERED),
        (MessageState.UNDELIVERABLE, ReceiptStatus.UNDELIVERED),
        (MessageState.EXPIRED, ReceiptStatus.EXPIRED),
        (MessageState.REJECTED, ReceiptStatus.REJECTED),
        (MessageState.DELETED, ReceiptStatus.UNDELIVERED),
        (MessageState.ENROUTE, ReceiptStatus.ACCEPTED),
        (MessageState.ACCEPTED, ReceiptStatus.ACCEPTED),
        (MessageState.UNKNOWN, ReceiptStatus.UNKNOWN),
        (None, ReceiptStatus.UNKNOWN),
    ],
)
def test_receipt_states(state: MessageState | None, status: ReceiptStatus) -> None:
    report = report_from_receipt("c", Receipt("00AB", state=state, err="005"), 1.0)
    assert report is not None and report.status is status and report.carrier_id == "ab"
    assert report.error == (None if status is ReceiptStatus.DELIVERED else "005")


def test_receipt_without_id_is_not_reported() -> None:
    assert report_from_receipt("c", Receipt("", state=MessageState.DELIVERED), 1.0) is None


@pytest.mark.parametrize(
    "rid,fmt,expected",
    [
        ("00FF", "same", "ff"),
        ("ff", "hex_in_receipt", "255"),
        ("255", "dec_in_receipt", "ff"),
        ("not-hex", "hex_in_receipt", "not-hex"),
    ],
)
def test_receipt_id_conversion(rid: str, fmt: str, expected: str) -> None:
    assert convert_receipt_id(rid, fmt) == expected


def _parts(text: str, concat: str = "udh") -> list[MoPart]:
    return [mo_part_from_pdu(p) for p in mo_pdus("+4915100000", "123", text, concat=concat, ref=9)]  # type: ignore[arg-type]


def test_assembler_joins_in_order_ignores_duplicates_and_expires() -> None:
    a, b, c = _parts("y" * 400)
    assembler = MoAssembler(timeout=10)
    assert assembler.add(c, 0) is None and assembler.add(c, 1) is None
    assert assembler.add(a, 1) is None
    assert assembler.add(b, 2) == "y" * 400
    assert assembler.add(b, 3) is None and len(assembler) == 0  # late duplicate
    assert assembler.add(a, 4) is None and len(assembler) == 0  # also a duplicate
    other = _parts("z" * 400)[0]
    assert assembler.add(other, 5) is None and len(assembler) == 1
    assert assembler.expire(14) == []
    [(part, text)] = assembler.expire(16)
    assert text == "z" * 153 and part.source == "+4915100000" and len(assembler) == 0


def test_pacer_spaces_sends_and_slows_down_on_throttle() -> None:
    pacer = Pacer(100)
    delays = [pacer.reserve(0.0) for _ in range(3)]
    assert delays == pytest.approx([0.0, 0.01, 0.02])
    pacer.throttled(0.0)
    assert pacer.limit == 50 and pacer.slowed
    assert pacer.reserve(0.0) == pytest.approx(0.5)  # the pause
    pacer.throttled(0.1)  # within the pause: the same episode
    assert pacer.limit == 50 and pacer.throttles == 1
    for t in (3.0, 5.0, 7.0, 9.0):
        pacer.reserve(t)
    assert pacer.limit == 100 and not pacer.slowed


def test_unlimited_pacer_learns_a_limit_from_the_observed_rate() -> None:
    pacer = Pacer()
    for i in range(1000):
        assert pacer.reserve(i / 1000) == 0.0
    pacer.throttled(1.0)
    assert pacer.limit is not None and 400 <= pacer.limit <= 600
