"""ESME role against our MC role over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import Backoff, SmppClient, connect, connect_with_backoff
from smsrelay.smpp.codec import decode_pdu, encode_pdu
from smsrelay.smpp.constants import BindType, CommandId, CommandStatus
from smsrelay.smpp.errors import (
    BindError,
    ConnectionLost,
    LocalProtocolError,
    ResponseTimeout,
    SessionClosed,
    WindowFull,
)
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import BindRequest, ServerSession, SmppServer, SmscHandler

from .conftest import TICK, ManualClock, until


class Counting(SmscHandler):
    """Answers submit_sm at once with a hex message id."""

    def __init__(self) -> None:
        self.received: list[Pdu] = []

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu:
        self.received.append(pdu)
        return P.submit_sm_resp(pdu, format(len(self.received), "x"))


class Gated(SmscHandler):
    """Holds every response until the test opens the gate (a stalled or slow MC)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.received = 0

    async def _answer(self, pdu: Pdu) -> Pdu:
        self.in_flight += 1
        self.received += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await self.gate.wait()
        self.in_flight -= 1
        return P.submit_sm_resp(pdu, str(pdu.sequence_number))

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Awaitable[Pdu]:
        return self._answer(pdu)


async def _client(server: SmppServer, clock: ManualClock, **kwargs: Any) -> SmppClient:
    kwargs.setdefault("now", clock)
    kwargs.setdefault("tick_interval", TICK)
    return await connect("127.0.0.1", server.port, "user", "pw", **kwargs)


async def test_submit_returns_the_mc_response(make_server: Any, clock: ManualClock) -> None:
    handler = Counting()
    server = await make_server(handler)
    async with await _client(server, clock) as client:
        assert client.is_bound and client.peer_system_id == "smsrelay"
        resp = await client.submit(P.submit_sm("Acme", "4915112345678", b"hi"))
        assert resp.ok and resp.fields["message_id"] == "1"
        assert handler.received[0].fields["short_message"] == b"hi"
    assert client.closed and type(client.close_reason) is SessionClosed


async def test_pipelining_respects_the_window(make_server: Any, clock: ManualClock) -> None:
    handler = Gated()
    server = await make_server(handler)
    client = await _client(server, clock, window=5)
    futures = [await client.send_request(P.submit_sm("a", "b")) for _ in range(5)]
    with pytest.raises(WindowFull):
        client.submit_nowait(P.submit_sm("a", "b"))
    sixth = asyncio.ensure_future(client.submit(P.submit_sm("a", "b")))
    await until(lambda: handler.received == 5)
    await asyncio.sleep(0.02)
    assert not sixth.done() and handler.received == 5  # flow control: it waits for a slot
    handler.gate.set()
    responses = await asyncio.gather(*futures, sixth)
    assert all(r.ok for r in responses)
    assert handler.max_in_flight == 5
    await client.unbind()


async def test_throttling_past_the_per_bind_limit(make_server: Any, clock: ManualClock) -> None:
    server = await make_server(Counting(), throughput=3)
    client = await _client(server, clock)
    statuses = [(await client.submit(P.submit_sm("a", "b"))).command_status for _ in range(5)]
    assert statuses == [0, 0, 0, CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RTHROTTLED]
    clock.advance(1.0)
    assert (await client.submit(P.submit_sm("a", "b"))).ok
    await client.unbind()


async def test_connection_dropped_mid_window_fails_every_outstanding_request(
    make_server: Any, clock: ManualClock
) -> None:
    handler = Gated()
    server = await make_server(handler)
    closed: list[SessionClosed] = []
    client = await _client(server, clock, window=10, on_closed=closed.append)
    futures = [client.submit_nowait(P.submit_sm("a", "b")) for _ in range(3)]
    await until(lambda: handler.received == 3)
    server.sessions[0].close()  # the MC drops the TCP connection
    for future in futures:
        with pytest.raises(ConnectionLost):
            await future
    await client.wait_closed()
    assert isinstance(client.close_reason, ConnectionLost) and closed == [client.close_reason]
    with pytest.raises(SessionClosed):
        await client.submit(P.submit_sm("a", "b"))


async def test_stalled_mc_gives_response_timeout(make_server: Any, clock: ManualClock) -> None:
    handler = Gated()
    server = await make_server(handler)
    client = await _client(server, clock, response_timeout=5.0)
    future = client.submit_nowait(P.submit_sm("a", "b"))
    await until(lambda: handler.received == 1)
    clock.advance(4.9)
    await asyncio.sleep(5 * TICK)
    assert not future.done()
    clock.advance(0.2)
    with pytest.raises(ResponseTimeout):
        await future
    assert client.window_free == client.window and client.is_bound
    handler.gate.set()
    await client.unbind()


async def test_bind_rejected(make_server: Any, clock: ManualClock) -> None:
    class Deny(SmscHandler):
        async def authenticate(self, request: BindRequest) -> int:
            assert "pw" not in repr(request)
            return CommandStatus.ESME_RINVPASWD

    server = await make_server(Deny())
    with pytest.raises(BindError) as err:
        await _client(server, clock)
    assert err.value.command_status == CommandStatus.ESME_RINVPASWD
    await until(lambda: not server.sessions)


async def test_deliver_sm_reaches_the_handler_and_is_answered(
    make_server: Any, clock: ManualClock
) -> None:
    server = await make_server(Counting())
    seen: list[Pdu] = []

    async def on_deliver(pdu: Pdu) -> int | None:
        seen.append(pdu)
        text = pdu.fields["short_message"]
        if text == b"boom":
            raise RuntimeError("handler bug")
        return CommandStatus.ESME_RX_P_APPN if text == b"no" else None

    client = await _client(server, clock, on_deliver=on_deliver)
    [session] = server.receivers("user")
    ok = await session.deliver(P.deliver_sm("491", "Acme", b"yes"))
    no = await session.deliver(P.deliver_sm("491", "Acme", b"no"))
    boom = await session.deliver(P.deliver_sm("491", "Acme", b"boom"))
    assert ok.ok and no.command_status == CommandStatus.ESME_RX_P_APPN
    assert boom.command_status == CommandStatus.ESME_RX_T_APPN
    assert [p.fields["short_message"] for p in seen] == [b"yes", b"no", b"boom"]
    await client.unbind()


async def test_without_handler_deliveries_are_refused_temporarily(
    make_server: Any, clock: ManualClock
) -> None:
    server = await make_server(Counting())
    client = await _client(server, clock)
    [session] = server.receivers()
    resp = await session.deliver(P.deliver_sm("491", "Acme", b"x"))
    assert resp.command_status == CommandStatus.ESME_RX_T_APPN
    await client.unbind()


async def test_transmitter_and_receiver_pair(make_server: Any, clock: ManualClock) -> None:
    server = await make_server(Counting())
    tx = await _client(server, clock, bind_type=BindType.TRANSMITTER)
    rx = await _client(server, clock, bind_type=BindType.RECEIVER, on_deliver=lambda p: None)
    assert (await tx.submit(P.submit_sm("a", "b"))).ok
    with pytest.raises(LocalProtocolError):
        await rx.submit(P.submit_sm("a", "b"))
    [receiver] = server.receivers()
    assert (await receiver.deliver(P.deliver_sm("a", "b"))).ok
    await tx.unbind()
    await rx.unbind()


async def test_server_close_unbinds_clients(make_server: Any, clock: ManualClock) -> None:
    server = await make_server(Counting())
    client = await _client(server, clock)
    await server.close()
    await client.wait_closed()
    assert type(client.close_reason) is SessionClosed


async def _silent_mc() -> tuple[asyncio.Server, list[bytes]]:
    """A raw MC that answers the bind and then never answers anything again."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readexactly(16)
        body = await reader.readexactly(int.from_bytes(head[:4], "big") - 16)
        bind = decode_pdu(head + body)
        writer.write(encode_pdu(P.response_to(bind, 0, {"system_id": "silent"})))
        while data := await reader.read(65536):
            received.append(data)
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0), received


async def test_link_dead_when_enquire_link_goes_unanswered(clock: ManualClock) -> None:
    raw, received = await _silent_mc()
    port = raw.sockets[0].getsockname()[1]
    client = await connect(
        "127.0.0.1",
        port,
        "u",
        "p",
        now=clock,
        tick_interval=TICK,
        enquire_link_interval=30.0,
        response_timeout=10.0,
    )
    pending = client.submit_nowait(P.submit_sm("a", "b"), timeout=1000.0)
    clock.advance(30.0)
    await until(
        lambda: (
            any(b[4:8] == b"\x00\x00\x00\x15" for b in received)
            or any(b"\x00\x00\x00\x15" in b for b in received)
        )
    )
    clock.advance(10.0)
    await client.wait_closed()
    assert isinstance(client.close_reason, ConnectionLost)
    assert "link dead" in str(client.close_reason)
    with pytest.raises(ConnectionLost):
        await pending
    raw.close()
    await raw.wait_closed()


async def test_session_init_timer_drops_connections_that_never_bind(
    make_server: Any, clock: ManualClock
) -> None:
    server = await make_server(Counting(), session_init_timeout=10.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await until(lambda: len(server.sessions) == 1)
    clock.advance(10.0)
    assert await reader.read() == b""
    writer.close()
    await until(lambda: not server.sessions)


async def test_connect_with_backoff_retries_then_succeeds() -> None:
    attempts: list[int] = []
    sleeps: list[float] = []
    sentinel: Any = object()

    async def connect_once() -> SmppClient:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("refused")
        return sentinel  # type: ignore[no-any-return]

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    import random

    result = await connect_with_backoff(
        connect_once,
        backoff=Backoff(initial=1, factor=2, jitter=0, rng=random.Random(1)),
        sleep=fake_sleep,
    )
    assert result is sentinel and sleeps == [1, 2]


async def test_connect_with_backoff_does_not_retry_bad_credentials() -> None:
    async def connect_once() -> SmppClient:
        raise BindError(CommandStatus.ESME_RINVPASWD)

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("should not sleep")

    with pytest.raises(BindError):
        await connect_with_backoff(connect_once, sleep=no_sleep)


async def test_connect_with_backoff_gives_up_after_max_attempts() -> None:
    async def connect_once() -> SmppClient:
        raise OSError("down")

    async def no_wait(seconds: float) -> None:
        return None

    with pytest.raises(OSError):
        await connect_with_backoff(connect_once, max_attempts=3, sleep=no_wait)


def test_backoff_caps_and_jitters() -> None:
    import random

    b = Backoff(initial=1, maximum=10, factor=3, jitter=0.5, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(6)]
    assert all(0 <= d <= 15 for d in delays)
    assert delays[-1] >= 5  # capped near the maximum, not growing further
    b.reset()
    assert b.attempts == 0


async def test_query_sm_goes_to_the_handler(make_server: Any, clock: ManualClock) -> None:
    class Query(SmscHandler):
        def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu:
            assert pdu.command_id == CommandId.QUERY_SM
            return P.response_to(
                pdu,
                0,
                {
                    "message_id": pdu.fields["message_id"],
                    "final_date": "",
                    "message_state": 2,
                    "error_code": 0,
                },
            )

    server = await make_server(Query())
    client = await _client(server, clock)
    resp = await client.submit(Pdu(CommandId.QUERY_SM, fields={"message_id": "abc"}))
    assert resp.fields["message_state"] == 2
    await client.unbind()
