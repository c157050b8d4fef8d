"""GSM-7 national languages in routing and counting: the dispatcher tries the connectors that
send a message's national tables first, whatever the route's strategy, and the accept path
counts with a language only when the route the message will take sends it."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Encoding, Message, MessageKind
from smsrelay.domain.retry import RetryPolicy
from smsrelay.domain.routing import Route, connector_order
from smsrelay.engine.accept import Acceptor, AcceptPolicy, Prepared, SendRequest, prepare
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher
from smsrelay.engine.prepare import SendingAccount
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store.accounts import Account
from smsrelay.store.db import Database
from tests.support.connectors import ScriptedConnector

T0 = 1_800_000_000.0
TURKISH = "Şişli'de ığdır"  # 1 GSM-7 segment with the Turkish single shift table, else UCS-2
PRICES = {"a": {"default": 0.01}, "b": {"default": 0.02}, "c": {"default": 0.03}}


def connectors() -> list[ScriptedConnector]:
    """``c`` alone sends Turkish with its tables; ``a`` is the cheapest and the heaviest."""
    return [
        ScriptedConnector("a"),
        ScriptedConnector("b", national_languages=frozenset({"pt"})),
        ScriptedConnector("c", national_languages=frozenset({"tr", "pt"})),
    ]


def dispatcher(database: Database, routes: Sequence[Route]) -> Dispatcher:
    clock = ManualClock(T0)
    return Dispatcher(
        UnitOfWork(database, clock),
        {c.name: c for c in connectors()},
        routes,
        RetryPolicy(),
        clock,
        prices=PRICES,
    )


def message(n: int, language: str | None) -> Message:
    text = TURKISH if language else "plain"
    prepared = prepare(
        SendRequest(to="+905321234567", message=text, national_language=language),
        account_id="acc_1",
        policy=AcceptPolicy(),
        now=T0,
        rng=random.Random(n),
    )
    assert prepared.message.language == language
    return prepared.message


ROUTES = {
    "failover": Route("r", ("a", "b", "c")),
    "weighted": Route("r", ("a", "b", "c"), strategy="weighted", weights={"a": 3, "c": 0.5}),
    "least_cost": Route("r", ("c", "b", "a"), strategy="least_cost"),
    "adaptive": Route("r", ("a", "b", "c"), strategy="adaptive"),
}


@pytest.mark.parametrize("strategy", list(ROUTES))
async def test_every_strategy_tries_the_connectors_that_send_the_language_first(
    database: Database, strategy: str
) -> None:
    route = ROUTES[strategy]
    d = dispatcher(database, [route])

    def attempts(m: Message) -> list[str]:
        # attempt n takes the n-th connector of the order: the order, attempt by attempt
        return [d._choose_connector(route, dataclasses.replace(m, attempts=n)) for n in (1, 2, 3)]

    firsts = set()
    for n in range(60):
        plain, turkish = message(n, None), message(n, "tr")
        turkish = dataclasses.replace(turkish, id=plain.id)  # the same draws for both
        order = attempts(plain)
        if strategy != "adaptive":  # without a language the strategy's order is untouched
            assert tuple(order) == connector_order(
                route, message_id=plain.id, country="TR", prices=PRICES
            )
        firsts.add(order[0])
        # with one: c (which sends it) first, the others after it in the same order
        assert attempts(turkish) == ["c", *[name for name in order if name != "c"]]
        portuguese = dataclasses.replace(turkish, language="pt")
        assert attempts(portuguese) == [
            *[name for name in order if name != "a"],
            "a",
        ]
        assert attempts(dataclasses.replace(turkish, language="es")) == order  # nobody sends es
    assert "a" in firsts  # the plain messages did not all move to c


async def test_an_open_circuit_lets_the_others_carry_it(database: Database) -> None:
    route = Route("r", ("a", "b", "c"))
    d = dispatcher(database, [route])
    for _ in range(10):
        d.circuits["c"].record(ErrorCode.CARRIER_UNAVAILABLE, T0)
    assert d._choose_connector(route, message(1, "tr")) == "a"
    assert d._choose_connector(route, message(1, None)) == "a"


async def test_route_languages_follow_the_route_a_message_matches(database: Database) -> None:
    d = dispatcher(
        database,
        [
            Route("tr", ("a", "c"), countries=frozenset({"TR"})),
            Route("tr-otp", ("a", "b"), countries=frozenset({"TR"}), kinds=frozenset({"otp"})),
            Route("vip", ("c",), accounts=frozenset({"vip"})),
            Route("default", ("a",)),
        ],
    )
    assert d.route_languages("+905321234567", "TR", "transactional", "acme") == {"tr", "pt"}
    assert d.route_languages("+905321234567", "TR", "otp", "acme") == {"pt"}
    assert d.route_languages("+14155552671", "US", "transactional", "acme") == frozenset()
    assert d.route_languages("+14155552671", "US", "transactional", "vip") == {"tr", "pt"}
    d.set_routes([Route("default", ("b",))])
    assert d.route_languages("+905321234567", "TR", "transactional", "acme") == {"pt"}


# -- counting at accept ----------------------------------------------------------------------


class Counted:
    """``Dispatcher.route_languages``, counting its calls."""

    def __init__(self, d: Dispatcher) -> None:
        self.dispatcher = d
        self.calls = 0

    def __call__(self, to: str, country: str | None, kind: str, account: str) -> frozenset[str]:
        self.calls += 1
        return self.dispatcher.route_languages(to, country, kind, account)


@asynccontextmanager
async def accepting(database: Database) -> AsyncIterator[tuple[Acceptor, Counted]]:
    clock = ManualClock(T0)
    uow = UnitOfWork(database, clock)
    d = Dispatcher(
        uow,
        {c.name: c for c in connectors()},
        [
            Route("tr", ("a", "c"), countries=frozenset({"TR"})),
            Route("vip", ("c",), accounts=frozenset({"vip"})),
            Route("default", ("a", "b")),
        ],
        RetryPolicy(),
        clock,
    )
    counted = Counted(d)
    acceptor = Acceptor(
        GroupCommitter(uow, dispatch=d.claims),
        AcceptPolicy(),
        clock,
        rng=random.Random(1),
        route_languages=counted,
    )
    await uow.start()
    try:
        yield acceptor, counted
    finally:
        await uow.stop()


async def account(database: Database, name: str, language: str | None = None) -> Account:
    async with database.transaction() as conn:
        await account_store.create_account(conn, name, T0)
        return await account_store.update_account(conn, name, national_language=language)


async def accept(acceptor: Acceptor, who: Account, **fields: object) -> Prepared | SmsError:
    request = SendRequest(**{"message": TURKISH, **fields})  # type: ignore[arg-type]
    [result] = (await acceptor.accept(who, [request])).results
    return result


def counted_as(result: Prepared | SmsError) -> tuple[Encoding, int, str | None]:
    assert isinstance(result, Prepared), result
    m = result.message
    return m.encoding, m.segments, m.language


async def test_a_language_the_route_sends_is_counted_with(database: Database) -> None:
    async with accepting(database) as (acceptor, _):
        acme = await account(database, "acme")
        turkish = await accept(acceptor, acme, to="+905321234567", national_language="tr")
        assert counted_as(turkish) == (Encoding.GSM7, 1, "tr")
        vip = await account(database, "vip")  # its route (by account name) has c
        theirs = await accept(acceptor, vip, to="+14155552671", national_language="tr")
        assert counted_as(theirs) == (Encoding.GSM7, 1, "tr")


async def test_a_language_named_in_the_request_that_no_route_sends_is_refused(
    database: Database,
) -> None:
    async with accepting(database) as (acceptor, _):
        acme = await account(database, "acme")
        for text in (TURKISH, "plain text"):  # refused whatever the text: the route decides
            refused = await accept(
                acceptor, acme, to="+14155552671", message=text, national_language="tr"
            )
            assert isinstance(refused, SmsError)
            assert (refused.code, refused.field, refused.http_status) == (
                ErrorCode.NATIONAL_LANGUAGE_UNSUPPORTED,
                "national_language",
                422,
            )
            assert "'tr'" in refused.detail
        # a batch: each item on its own route
        outcome = await acceptor.accept(
            acme,
            [
                SendRequest(to="+905321234567", message=TURKISH, national_language="tr"),
                SendRequest(to="+14155552671", message=TURKISH, national_language="tr"),
                SendRequest(to="+14155552671", message=TURKISH),
            ],
        )
        first, second, third = outcome.results
        assert counted_as(first) == (Encoding.GSM7, 1, "tr")
        assert isinstance(second, SmsError)
        assert counted_as(third) == (Encoding.UCS2, 1, None)


async def test_an_accounts_language_no_route_sends_is_quietly_not_used(
    database: Database,
) -> None:
    long_turkish = TURKISH * 6  # 84 characters: 1 segment with the tables, 2 as UCS-2
    async with accepting(database) as (acceptor, _):
        acme = await account(database, "acme", language="tr")
        there = await accept(acceptor, acme, to="+905321234567", message=long_turkish)
        assert counted_as(there) == (Encoding.GSM7, 1, "tr")
        elsewhere = await accept(acceptor, acme, to="+14155552671", message=long_turkish)
        assert counted_as(elsewhere) == (Encoding.UCS2, 2, None)  # what the carrier will get
        euros = await accept(acceptor, acme, to="+14155552671", message="€" * 100)
        assert counted_as(euros) == (Encoding.GSM7, 2, None)  # the default tables: € is ESC e


async def test_messages_without_a_language_never_look_up_a_route(database: Database) -> None:
    async with accepting(database) as (acceptor, counted):
        acme = await account(database, "acme")
        for to in ("+905321234567", "+14155552671"):
            assert counted_as(await accept(acceptor, acme, to=to))[2] is None
        assert counted.calls == 0
        await accept(acceptor, acme, to="+905321234567", national_language="tr")
        assert counted.calls == 1


async def test_other_origins_do_not_look_up_a_route(database: Database) -> None:
    async with accepting(database) as (acceptor, counted):
        acme = await account(database, "acme", language="tr")
        result = await accept(acceptor, acme, to="+905321234567", origin="smpp")
        assert counted_as(result) == (Encoding.UCS2, 1, None)
        assert counted.calls == 0


def test_kind_is_matched_as_routes_name_it() -> None:
    seen: list[tuple[str, str | None, str, str]] = []

    def languages(to: str, country: str | None, kind: str, account: str) -> frozenset[str]:
        seen.append((to, country, kind, account))
        return frozenset({"tr"})

    prepared = prepare(
        SendRequest(
            to="+905321234567", message=TURKISH, kind=MessageKind.OTP, national_language="tr"
        ),
        account_id="acc_1",
        policy=AcceptPolicy(),
        now=T0,
        rng=random.Random(1),
        route_languages=languages,
        account=SendingAccount(name="acme"),
    )
    assert prepared.message.language == "tr"
    assert seen == [("+905321234567", "TR", "otp", "acme")]
    assert type(seen[0][2]) is str
