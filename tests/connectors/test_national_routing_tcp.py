"""Two carriers over real SMPP/TCP behind one failover route, only the second listing Turkish
(``national_languages = ["tr"]``): a message counted with the Turkish tables goes to the
second first and is submitted with the shift IE; a message without a language keeps the
route's order; when the second is down, the Turkish message fails over to the first and still
arrives, intact, as UCS-2."""

from __future__ import annotations

import random

from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.smpp import SmppConnector
from smsrelay.domain.encoding import Alphabet, decode_gsm7, parse_udh
from smsrelay.domain.messages import Encoding, Message
from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.simulator import CarrierConfig, CarrierSimulator
from smsrelay.smpp.constants import DataCoding, EsmClass
from smsrelay.smpp.pdu import Pdu
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from tests.connectors.smpp_support import TICK, RecordingSink
from tests.engine.support import run_until
from tests.support.servers import wait_for

TURKISH = "Şişli'de ığdır"
TO = "+905321234567"


def options(name: str, port: int, *languages: str) -> SmppOptions:
    return SmppOptions(
        name=name,
        port=port,
        window=10,
        national_languages=languages,
        bind_wait=0.05,
        reconnect_initial=0.05,
        reconnect_max=0.2,
        tick_interval=TICK,
    )


def short_message(pdu: Pdu) -> bytes:
    data = pdu.fields["short_message"]
    assert isinstance(data, bytes)
    return data


async def test_national_messages_go_first_to_the_carrier_that_sends_the_tables(
    database: Database,
) -> None:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    plain_carrier = CarrierSimulator(CarrierConfig(dlr_delay=0.02), port=0, tick_interval=TICK)
    turkish_carrier = CarrierSimulator(CarrierConfig(dlr_delay=0.02), port=0, tick_interval=TICK)
    await plain_carrier.start()
    await turkish_carrier.start()
    a = SmppConnector(options("a", plain_carrier.port))
    b = SmppConnector(options("b", turkish_carrier.port, "tr"))
    uow = UnitOfWork(database, clock)
    dispatcher = Dispatcher(
        uow,
        {"a": a, "b": b},
        [Route("default", ("a", "b"))],
        RetryPolicy(max_attempts=6, backoff=Backoff(base=0.5, cap=2.0)),
        clock,
        settings=DispatchSettings(idle_poll=0.05),
        rng=random.Random(1),
    )
    acceptor = Acceptor(
        GroupCommitter(uow, dispatch=dispatcher.claims),
        AcceptPolicy(),
        clock,
        route_languages=dispatcher.route_languages,
    )

    async def send(text: str, language: str | None) -> Message:
        request = SendRequest(to=TO, message=text, national_language=language)
        [result] = (await acceptor.accept(account, [request])).results
        assert not isinstance(result, Exception), result
        return result.message

    async def stored(message_id: str) -> Message:
        async with database.read() as conn:
            found = await message_store.get_message(conn, message_id)
        assert found is not None
        return found

    async def sent(message_id: str) -> bool:
        return (await stored(message_id)).status in ("sent", "delivered")

    sink = RecordingSink()
    await a.start(sink)
    await b.start(sink)
    await uow.start()
    await dispatcher.start()
    try:
        # counted with the Turkish single shift table: one GSM-7 segment
        turkish = await send(TURKISH, "tr")
        assert (turkish.encoding, turkish.segments, turkish.language) == (Encoding.GSM7, 1, "tr")
        plain = await send("plain text", None)
        await run_until(clock, uow, lambda: sent(turkish.id))
        await run_until(clock, uow, lambda: sent(plain.id))
        assert (await stored(turkish.id)).connector == "b"  # the route's second, first for it
        assert (await stored(plain.id)).connector == "a"  # the route's order, untouched
        [(_, pdu)] = list(turkish_carrier.accepted)
        assert pdu.fields["data_coding"] == DataCoding.DEFAULT
        assert pdu.fields["esm_class"] == EsmClass.UDHI
        udh, septets = parse_udh(short_message(pdu))
        assert udh is not None
        assert [(ie.iei, ie.data) for ie in udh.elements] == [(0x24, b"\x01")]  # Turkish
        assert decode_gsm7(septets, Alphabet(single="tr")) == TURKISH
        assert [short_message(p) for _, p in plain_carrier.accepted] == [b"plain text"]

        # the second carrier goes away: the Turkish message fails over to the first, which
        # sends it without the tables (UCS-2); the text arrives intact
        await turkish_carrier.stop()
        await wait_for(lambda: b.bound_sessions == 0, timeout=10)  # a network event
        again = await send(TURKISH, "tr")
        assert again.language == "tr"  # the route still has a connector that sends it
        await run_until(clock, uow, lambda: sent(again.id), step=0.25)
        delivered = await stored(again.id)
        assert (delivered.connector, delivered.attempts) == ("a", 2)  # b first, then a
        assert len(plain_carrier.accepted) == 2
        _, ucs2 = plain_carrier.accepted[1]
        assert ucs2.fields["data_coding"] == DataCoding.UCS2
        assert short_message(ucs2).decode("utf-16-be") == TURKISH
        assert len(turkish_carrier.accepted) == 1  # nothing else reached the second carrier
    finally:
        await dispatcher.stop()
        await uow.stop()
        await a.stop()
        await b.stop()
        await plain_carrier.stop()
        await turkish_carrier.stop()
