from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.smpp.constants import MessageState
from smsrelay.smpp.pdu import deliver_sm
from smsrelay.smpp.receipts import (
    STAT_BY_STATE,
    ReceiptParseError,
    format_receipt,
    message_id_candidates,
    normalise_message_id,
    parse_receipt,
    receipt_from_pdu,
)

STANDARD = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 "
    "stat:DELIVRD err:000 text:Your code is 1234"
)


def test_parse_standard_text() -> None:
    r = parse_receipt(STANDARD)
    assert r.message_id == "0123456789"
    assert (r.submitted, r.delivered) == (1, 1)
    assert r.submit_date == datetime(2024, 1, 2, 15, 30)
    assert r.done_date == datetime(2024, 1, 2, 15, 31)
    assert r.stat == "DELIVRD" and r.state is MessageState.DELIVERED and r.is_final
    assert r.err == "000"
    assert r.text == "Your code is 1234"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("ID:ab STAT:undeliv ERR:034", "state", MessageState.UNDELIVERABLE),
        ("id:ab stat:EXPIRED", "stat", "EXPIRED"),
        (
            "id:ab done date:240102153059 stat:DELIVRD",
            "done_date",
            datetime(2024, 1, 2, 15, 30, 59),
        ),
        (
            "id:ab done date:20240102153059 stat:DELIVRD",
            "done_date",
            datetime(2024, 1, 2, 15, 30, 59),
        ),
        ("id:ab done date:99999999 stat:DELIVRD", "done_date", None),
        ("stat:REJECTD id:xyz err:1", "message_id", "xyz"),
        ("id:ab imsi:262011234567890 stat:DELIVRD", "extra", {"imsi": "262011234567890"}),
        ("id:ab sub:001 stat:ACCEPTD text:", "text", ""),
        ("id:ab stat:DELIVERED", "state", MessageState.DELIVERED),
        ("id:ab stat:WHATEVER", "state", None),
        (b"id:ab stat:DELIVRD text:caf\xe9", "text", "caf\xe9"),
    ],
)
def test_parse_tolerance(text: str | bytes, field: str, expected: object) -> None:
    assert getattr(parse_receipt(text), field) == expected


def test_not_a_receipt() -> None:
    with pytest.raises(ReceiptParseError):
        parse_receipt("hello there")


@given(
    message_id=st.text(alphabet="0123456789abcdefABCDEF-", min_size=1, max_size=40),
    state=st.sampled_from(list(MessageState)),
    err=st.integers(0, 999),
    text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    submit=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)),
)
def test_format_then_parse_round_trips(
    message_id: str, state: MessageState, err: int, text: str, submit: datetime
) -> None:
    submit = submit.replace(second=0, microsecond=0)
    line = format_receipt(
        message_id, state, submit_date=submit, done_date=submit, err=err, text=text
    )
    r = parse_receipt(line)
    assert r.message_id == message_id
    assert r.state is state and r.stat == STAT_BY_STATE[state]
    assert r.err == f"{err:03d}"
    assert r.submit_date == submit and r.done_date == submit
    assert r.text == text[:20]


def test_tlvs_win_over_text() -> None:
    pdu = deliver_sm(
        "491",
        "Acme",
        STANDARD.replace("DELIVRD", "UNDELIV").encode(),
        esm_class=4,
        tlvs={
            "receipted_message_id": "ff00",
            "message_state": 2,
            "network_error_code": b"\x03\x00\x01",
        },
    )
    r = receipt_from_pdu(pdu)
    assert r is not None
    assert r.message_id == "ff00"
    assert r.state is MessageState.DELIVERED and r.stat == "DELIVRD"
    assert r.network_error_code == b"\x03\x00\x01"
    assert r.text == "Your code is 1234"


def test_receipt_only_in_tlvs_and_in_message_payload() -> None:
    r = receipt_from_pdu(
        deliver_sm(
            "491", "Acme", b"", esm_class=4, tlvs={"receipted_message_id": "x1", "message_state": 5}
        )
    )
    assert r is not None and r.message_id == "x1" and r.stat == "UNDELIV"
    payload = deliver_sm(
        "491", "Acme", b"", esm_class=4, tlvs={"message_payload": STANDARD.encode()}
    )
    r2 = receipt_from_pdu(payload)
    assert r2 is not None and r2.message_id == "0123456789"


def test_mo_message_is_not_a_receipt() -> None:
    assert receipt_from_pdu(deliver_sm("491", "Acme", b"id:1 stat:DELIVRD")) is None


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("00A1F", "a1f"),
        ("a1f", "a1f"),
        (" 0000 ", "0"),
        ("12345", "12345"),
        ("abc-DEF-0012", "abc-def-0012"),
    ],
)
def test_normalise_message_id(raw: str, canonical: str) -> None:
    assert normalise_message_id(raw) == canonical


def test_hex_and_decimal_forms_of_one_id_meet() -> None:
    submit_id, receipt_id = "0A1F", "2591"  # 0x0a1f == 2591
    assert message_id_candidates(submit_id) & message_id_candidates(receipt_id)
    assert normalise_message_id(submit_id) in message_id_candidates(receipt_id)
    assert message_id_candidates("zz-1") == frozenset({"zz-1"})


@given(st.integers(0, 2**64))
def test_candidates_cover_both_readings(n: int) -> None:
    assert normalise_message_id(format(n, "X")) in message_id_candidates(str(n))
    assert str(n) in message_id_candidates(format(n, "x"))
