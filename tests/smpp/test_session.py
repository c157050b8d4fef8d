"""Session scenarios on an in-memory ESME ↔ MC pair: no sockets, time passed to tick()."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.smpp.codec import decode_pdu, encode_pdu
from smsrelay.smpp.constants import BindType, CommandId, CommandStatus
from smsrelay.smpp.errors import LocalProtocolError, SessionClosed, WindowFull
from smsrelay.smpp.events import (
    NEED_DATA,
    ConnectionClosed,
    LinkDead,
    PduReceived,
    ProtocolViolation,
    ResponseInvalid,
    ResponseReceived,
    ResponseTimedOut,
    SessionExpired,
    UnbindReceived,
)
from smsrelay.smpp.pdu import (
    Pdu,
    bind,
    enquire_link,
    response_to,
    submit_sm,
    submit_sm_resp,
    unbind,
)
from smsrelay.smpp.session import MAX_SEQUENCE, Session
from smsrelay.smpp.states import Role, State

from .helpers import Pair, feed


def _frames(data: bytes) -> list[Pdu]:
    out = []
    while data:
        length = int.from_bytes(data[:4], "big")
        out.append(decode_pdu(data[:length]))
        data = data[length:]
    return out


def test_bind_moves_both_sides_to_bound() -> None:
    pair = Pair()
    [event] = pair.esme_sends(bind(BindType.TRANSCEIVER, "user", "pw"), context="ctx")
    assert isinstance(event, PduReceived)
    assert event.pdu.fields["system_id"] == "user"
    assert pair.mc.state is State.OPEN
    [answer] = pair.mc_sends(response_to(event.pdu, 0, {"system_id": "mc"}))
    assert isinstance(answer, ResponseReceived) and answer.context == "ctx"
    assert pair.esme.state is State.BOUND_TRX and pair.mc.state is State.BOUND_TRX


def test_rejected_bind_leaves_both_open() -> None:
    pair = Pair()
    [event] = pair.esme_sends(bind(BindType.TRANSMITTER, "user", "bad"))
    assert isinstance(event, PduReceived)
    [answer] = pair.mc_sends(response_to(event.pdu, CommandStatus.ESME_RINVPASWD))
    assert isinstance(answer, ResponseReceived)
    assert answer.pdu.command_status == CommandStatus.ESME_RINVPASWD
    assert pair.esme.state is State.OPEN and pair.mc.state is State.OPEN


def test_submit_and_response_match_by_sequence() -> None:
    pair = Pair()
    pair.bind()
    [req] = pair.esme_sends(submit_sm("a", "b", b"hi"), context=1)
    assert isinstance(req, PduReceived) and req.pdu.sequence_number == 2
    [resp] = pair.mc_sends(submit_sm_resp(req.pdu, "abc"))
    assert isinstance(resp, ResponseReceived)
    assert resp.pdu.fields["message_id"] == "abc" and resp.context == 1
    assert pair.esme.window_free == pair.esme.window


def test_window_full_raises_until_a_response_frees_a_slot() -> None:
    pair = Pair(window=2)
    pair.bind()
    requests = [pair.esme_sends(submit_sm("a", "b"))[0] for _ in range(2)]
    assert pair.esme.window_free == 0
    with pytest.raises(WindowFull):
        pair.esme.send(submit_sm("a", "b"))
    pair.esme.send(enquire_link())  # keep-alive never waits for the window
    assert isinstance(requests[0], PduReceived)
    pair.mc_sends(submit_sm_resp(requests[0].pdu, "1"))
    assert pair.esme.window_free == 1
    pair.esme.send(submit_sm("a", "b"))


def test_response_timeout_via_tick() -> None:
    pair = Pair(response_timeout=5.0)
    pair.bind()
    pair.esme.send(submit_sm("a", "b"), now=100.0, context="late")
    assert pair.esme.tick(104.9) == []
    assert pair.esme.next_deadline() == 105.0
    [event] = pair.esme.tick(105.0)
    assert isinstance(event, ResponseTimedOut) and event.context == "late"
    assert pair.esme.window_free == pair.esme.window
    # the late response is then unexpected, and reported without a crash
    [late] = feed(pair.esme, encode_pdu(Pdu(CommandId.SUBMIT_SM_RESP, 0, 2, {"message_id": "x"})))
    assert isinstance(late, ProtocolViolation) and not late.fatal


def test_enquire_link_is_answered_automatically() -> None:
    pair = Pair()
    pair.bind()
    assert pair.esme_sends(enquire_link(), context="probe") == []
    [answer] = pair.mc_auto_replies()
    assert isinstance(answer, ResponseReceived)
    assert answer.pdu.command_id == CommandId.ENQUIRE_LINK_RESP and answer.context == "probe"


def test_keepalive_probe_and_link_dead() -> None:
    pair = Pair(enquire_link_interval=30.0, response_timeout=10.0)
    pair.bind()
    assert pair.esme.tick(29.0) == []
    assert pair.esme.tick(30.0) == []
    [probe] = _frames(pair.esme.data_to_send())
    assert probe.command_id == CommandId.ENQUIRE_LINK
    # answered: nothing surfaces
    assert feed(pair.mc, encode_pdu(probe)) == []
    assert pair.mc_auto_replies() == []
    # next probe is not answered: link dead
    pair.esme.tick(60.0)
    assert pair.esme.data_to_send()
    assert [type(e) for e in pair.esme.tick(70.0)] == [LinkDead]


def test_unbind_handshake() -> None:
    pair = Pair()
    pair.bind()
    [event] = pair.esme_sends(unbind(), context="bye")
    assert isinstance(event, UnbindReceived)
    assert pair.mc.state is State.UNBOUND and pair.esme.state is State.UNBOUND
    [answer] = pair.mc_auto_replies()
    assert isinstance(answer, ResponseReceived) and answer.context == "bye"
    assert answer.pdu.command_id == CommandId.UNBIND_RESP
    with pytest.raises(LocalProtocolError):
        pair.esme.send(submit_sm("a", "b"))


def test_unknown_command_gets_generic_nack_with_its_sequence() -> None:
    pair = Pair()
    pair.bind()
    [event] = feed(pair.mc, bytes.fromhex("00000010 000000ff 00000000 0000abcd".replace(" ", "")))
    assert isinstance(event, ProtocolViolation) and not event.fatal
    [nack] = _frames(pair.mc.data_to_send())
    assert nack == Pdu(CommandId.GENERIC_NACK, CommandStatus.ESME_RINVCMDID, 0xABCD)


def test_bad_body_gets_generic_nack_with_the_right_sequence_and_session_continues() -> None:
    pair = Pair()
    pair.bind()
    bad = bytearray(encode_pdu(Pdu(CommandId.SUBMIT_SM, 0, 4242, {"source_addr": "a"})))
    bad[-1] = 99  # sm_length (the last octet: no text) claims 99 octets past the body
    good = encode_pdu(Pdu(CommandId.SUBMIT_SM, 0, 4243, {"source_addr": "b"}))
    events = feed(pair.mc, bytes(bad) + good)
    assert isinstance(events[0], ProtocolViolation)
    assert isinstance(events[1], PduReceived) and events[1].pdu.sequence_number == 4243
    [nack] = _frames(pair.mc.data_to_send())
    assert nack.command_id == CommandId.GENERIC_NACK
    assert nack.sequence_number == 4242
    assert nack.command_status == CommandStatus.ESME_RINVMSGLEN


def test_command_not_allowed_in_state_gets_rinvbndsts() -> None:
    pair = Pair()
    # submit_sm before bind: the MC answers submit_sm_resp ESME_RINVBNDSTS
    [event] = feed(pair.mc, encode_pdu(Pdu(CommandId.SUBMIT_SM, 0, 3)))
    assert isinstance(event, ProtocolViolation)
    [answer] = _frames(pair.mc.data_to_send())
    assert (answer.command_id, answer.command_status, answer.sequence_number) == (
        CommandId.SUBMIT_SM_RESP,
        CommandStatus.ESME_RINVBNDSTS,
        3,
    )


def test_second_bind_gets_ralybnd() -> None:
    pair = Pair()
    pair.bind(BindType.TRANSMITTER)
    feed(pair.mc, encode_pdu(Pdu(CommandId.BIND_TRANSMITTER, 0, 9)))
    [answer] = _frames(pair.mc.data_to_send())
    assert answer.command_status == CommandStatus.ESME_RALYBND


def test_deliver_sm_to_transmitter_is_rejected_by_the_esme() -> None:
    pair = Pair()
    pair.bind(BindType.TRANSMITTER)
    with pytest.raises(LocalProtocolError):
        pair.mc.send(Pdu(CommandId.DELIVER_SM))
    [event] = feed(pair.esme, encode_pdu(Pdu(CommandId.DELIVER_SM, 0, 5)))
    assert isinstance(event, ProtocolViolation)
    [answer] = _frames(pair.esme.data_to_send())
    assert answer.command_status == CommandStatus.ESME_RINVBNDSTS


def test_mismatched_response_is_reported_as_invalid() -> None:
    pair = Pair()
    pair.bind()
    pair.esme.send(submit_sm("a", "b"), context="c")
    [event] = feed(pair.esme, encode_pdu(Pdu(CommandId.QUERY_SM_RESP, 0, 2)))
    assert isinstance(event, ResponseInvalid) and event.context == "c"


def test_malformed_response_fails_its_request() -> None:
    pair = Pair()
    pair.bind()
    pair.esme.send(submit_sm("a", "b"), context="c")
    [event] = feed(pair.esme, bytes.fromhex("00000013800000040000000000000002414243"))
    assert isinstance(event, ResponseInvalid)


def test_generic_nack_answers_the_pending_request() -> None:
    pair = Pair()
    pair.bind()
    pair.esme.send(submit_sm("a", "b"), context="c")
    [event] = feed(pair.esme, encode_pdu(Pdu(CommandId.GENERIC_NACK, 3, 2)))
    assert isinstance(event, ResponseReceived) and event.pdu.command_status == 3


def test_oversized_command_length_closes_without_reading_the_body() -> None:
    mc = Session(Role.MC, max_pdu_size=1024)
    head = (1_000_000).to_bytes(4, "big") + bytes.fromhex("000000040000000000000007")
    [event, closed] = feed(mc, head)
    assert isinstance(event, ProtocolViolation) and event.fatal
    assert isinstance(closed, ConnectionClosed)
    assert mc.state is State.CLOSED
    [nack] = _frames(mc.data_to_send())
    assert nack.sequence_number == 7 and nack.command_status == CommandStatus.ESME_RINVCMDLEN
    mc.receive_data(b"\x00" * 100)  # ignored once closed
    assert isinstance(mc.next_event(), ConnectionClosed)


def test_eof_yields_connection_closed_and_close_returns_outstanding() -> None:
    pair = Pair()
    pair.bind()
    pair.esme.send(submit_sm("a", "b"), context="lost")
    [event] = feed(pair.esme, b"")
    assert isinstance(event, ConnectionClosed)
    assert [p.context for p in pair.esme.close()] == ["lost"]
    with pytest.raises(SessionClosed):
        pair.esme.send(submit_sm("a", "b"))


def test_session_init_timer_on_the_mc() -> None:
    mc = Session(Role.MC, session_init_timeout=10.0, now=0.0)
    assert mc.tick(9.0) == []
    assert mc.tick(10.0) == [SessionExpired("session_init")]


def test_sequence_numbers_wrap_and_skip_outstanding() -> None:
    pair = Pair(window=5)
    pair.bind()
    pair.esme._next_seq = MAX_SEQUENCE  # white-box: jump to the end of the range
    a, b = submit_sm("a", "b"), submit_sm("a", "b")
    pair.esme.send(a)
    pair.esme.send(b)
    assert (a.sequence_number, b.sequence_number) == (MAX_SEQUENCE, 1)


def test_many_pdus_in_one_read_and_partial_reads() -> None:
    pair = Pair()
    pair.bind()
    wire = b"".join(pair.esme.send(submit_sm("a", "b", bytes([i]))) for i in range(5))
    events = feed(pair.mc, wire[:7]) + feed(pair.mc, wire[7:50]) + feed(pair.mc, wire[50:])
    assert [
        e.pdu.fields["short_message"]
        for e in events  # type: ignore[union-attr]
    ] == [bytes([i]) for i in range(5)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 64))
def test_random_bytes_never_raise(data: bytes, chunk: int) -> None:
    for role in (Role.ESME, Role.MC):
        session = Session(role)
        for i in range(0, len(data), chunk):
            session.receive_data(data[i : i + chunk])
            while (event := session.next_event()) is not NEED_DATA:
                if isinstance(event, ConnectionClosed):
                    break
            session.data_to_send()
        session.tick(1e9)
