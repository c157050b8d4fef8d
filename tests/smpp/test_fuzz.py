"""Random and mutated byte streams over real TCP: nothing escapes, the server stays up."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest

from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import connect
from smsrelay.smpp.codec import decode_pdu, encode_pdu
from smsrelay.smpp.constants import BindType, CommandId
from smsrelay.smpp.errors import BindError, ResponseTimeout, SessionClosed
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession, SmscHandler

from .conftest import TICK, ManualClock

CASES = 120


class Echo(SmscHandler):
    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu:
        return (
            P.submit_sm_resp(pdu, "1")
            if pdu.command_id == CommandId.SUBMIT_SM
            else P.response_to(pdu)
        )


def _valid_esme_stream() -> bytes:
    pdus = [
        P.bind(BindType.TRANSCEIVER, "user", "pw"),
        P.submit_sm("Acme", "4915112345678", b"hello", tlvs={"sar_msg_ref_num": 1}),
        Pdu(CommandId.ENQUIRE_LINK),
        Pdu(CommandId.QUERY_SM, fields={"message_id": "1"}),
        P.submit_sm("a", "b", b"x" * 200, data_coding=8),
        Pdu(CommandId.GENERIC_NACK),
        Pdu(CommandId.SUBMIT_SM_RESP, 0, 0, {"message_id": "1"}),
        Pdu(CommandId.UNBIND),
    ]
    for seq, pdu in enumerate(pdus, 1):
        pdu.sequence_number = seq
    return b"".join(encode_pdu(p) for p in pdus)


def _valid_mc_stream() -> bytes:
    receipt = P.deliver_sm(
        "491",
        "Acme",
        b"id:1 stat:DELIVRD err:000",
        esm_class=4,
        tlvs={"receipted_message_id": "1", "message_state": 2},
    )
    pdus = [
        receipt,
        Pdu(CommandId.ENQUIRE_LINK),
        P.deliver_sm("491", "Acme", b"MO"),
        Pdu(CommandId.SUBMIT_SM_RESP, 0, 0, {"message_id": "1"}),
        Pdu(CommandId.ALERT_NOTIFICATION),
        Pdu(CommandId.UNBIND),
    ]
    for seq, pdu in enumerate(pdus, 1):
        pdu.sequence_number = seq
    return b"".join(encode_pdu(p) for p in pdus)


def mutate(rng: random.Random, base: bytes) -> bytes:
    """One of: pure noise, bit flips, truncation, insertion, a forged length, a splice."""
    data = bytearray(base)
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 400))
    if kind == 1:
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        del data[rng.randrange(1, len(data)) :]
    elif kind == 3:
        at = rng.randrange(len(data))
        data[at:at] = rng.randbytes(rng.randrange(1, 30))
    elif kind == 4:
        at = rng.choice([0, 16, 36, 60, 80]) % len(data)
        data[at : at + 4] = rng.choice(
            [0, 1, 15, 17, 0xFFFFFFFF, 70_000, rng.randrange(2**32)]
        ).to_bytes(4, "big")
    else:
        a, b = sorted(rng.sample(range(len(data)), 2))
        data = data[:a] + data[b:] + data[a:b]
    return bytes(data)


async def test_server_survives_fuzzed_clients(
    make_server: Any, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
    server = await make_server(Echo())
    rng = random.Random(20240611)
    base = _valid_esme_stream()

    async def one(data: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(data)
        writer.write_eof()
        await asyncio.wait_for(reader.read(), 5.0)  # the server answers, then closes on EOF
        writer.close()

    with caplog.at_level(logging.WARNING, logger="smsrelay.smpp"):
        for start in range(0, CASES, 20):
            await asyncio.gather(*(one(mutate(rng, base)) for _ in range(start, start + 20)))
    assert errors == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # still serving: a well-behaved client binds and submits
    client = await connect("127.0.0.1", server.port, "user", "pw", now=clock, tick_interval=TICK)
    assert (await client.submit(P.submit_sm("a", "b"))).fields["message_id"] == "1"
    await client.unbind()


async def test_client_survives_a_fuzzing_mc(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
    rng = random.Random(7)
    base = _valid_mc_stream()
    streams = [mutate(rng, base) for _ in range(CASES // 2)]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readexactly(16)
        bind = decode_pdu(head + await reader.readexactly(int.from_bytes(head[:4], "big") - 16))
        writer.write(encode_pdu(P.response_to(bind, 0, {"system_id": "fuzz"})))
        writer.write(streams.pop())
        await writer.drain()
        writer.close()

    raw = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    delivered: list[Pdu] = []
    with caplog.at_level(logging.WARNING, logger="smsrelay.smpp"):
        while streams:
            try:
                client = await connect(
                    "127.0.0.1",
                    port,
                    "u",
                    "p",
                    now=clock,
                    tick_interval=TICK,
                    on_deliver=delivered.append,
                )
            except (BindError, ResponseTimeout, SessionClosed):  # pragma: no cover
                continue
            await asyncio.wait_for(client.wait_closed(), 5.0)
            assert isinstance(client.close_reason, SessionClosed)
    raw.close()
    await raw.wait_closed()
    assert errors == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
