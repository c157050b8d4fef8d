"""Route selection and connector order: specificity, strategies, explanations."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.routing import (
    Route,
    connector_for_attempt,
    connector_order,
    explain,
    prefer_language,
    ranking,
    route_languages,
    select_route,
)
from smsrelay.domain.scoring import ConnectorStats

ROUTES = [
    Route("default", ("a",)),
    Route("de", ("b", "a"), countries=frozenset({"DE"})),
    Route("de-mobile", ("c",), prefixes=("+4915", "+49151")),
    Route("de-otp", ("d", "b"), countries=frozenset({"DE"}), kinds=frozenset({"otp"})),
    Route("vip", ("e",), accounts=frozenset({"vip"})),
]


def pick(
    to: str, country: str | None, kind: str = "transactional", account: str = "acme"
) -> str | None:
    route = select_route(ROUTES, to=to, country=country, kind=kind, account=account)
    return route.name if route else None


def test_most_specific_route_wins() -> None:
    assert pick("+14155552671", "US") == "default"
    assert pick("+4930123456", "DE") == "de"
    assert pick("+4930123456", "DE", kind="otp") == "de-otp"
    assert pick("+4915112345678", "DE") == "de-mobile"  # the longest prefix first
    assert pick("+4915112345678", "DE", kind="otp") == "de-mobile"
    assert pick("+14155552671", "US", account="vip") == "vip"
    assert (
        select_route(
            [Route("de", ("a",), countries=frozenset({"DE"}))],
            to="+1",
            country="US",
            kind="otp",
            account="x",
        )
        is None
    )


def test_failover_walks_the_list_in_a_ring() -> None:
    route = Route("r", ("a", "b", "c"))
    assert [connector_for_attempt(route, n) for n in range(1, 6)] == ["a", "b", "c", "a", "b"]


def test_least_cost_orders_by_price_for_the_country() -> None:
    route = Route("r", ("a", "b", "c"), strategy="least_cost")
    prices = {"a": {"DE": 0.08, "default": 0.05}, "b": {"DE": 0.04}, "c": {}}
    assert connector_order(route, country="DE", prices=prices) == ("b", "a", "c")
    assert connector_order(route, country="FR", prices=prices) == ("a", "b", "c")


def test_weighted_split_follows_the_weights_and_is_stable_per_message() -> None:
    route = Route("r", ("a", "b"), strategy="weighted", weights={"a": 3, "b": 1})
    firsts = Counter(connector_order(route, message_id=f"msg_{n}")[0] for n in range(4000))
    assert 2800 < firsts["a"] < 3200
    assert connector_order(route, message_id="msg_1") == connector_order(route, message_id="msg_1")


@given(
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=5, unique=True),
    st.text(max_size=20),
    st.sampled_from(["failover", "weighted", "least_cost"]),
)
def test_order_is_a_permutation_of_the_route(
    connectors: list[str], message_id: str, strategy: str
) -> None:
    route = Route("r", tuple(connectors), strategy=strategy)
    assert sorted(connector_order(route, message_id=message_id)) == sorted(connectors)


def test_explain_says_why() -> None:
    lines = explain(ROUTES, to="+4930123456", country="DE", kind="otp", account="acme").lines()
    text = "\n".join(lines)
    assert "route de-mobile: no prefix" in text
    assert "chosen: de-otp" in text
    assert "attempt 1: d" in text and "attempt 2: b" in text
    none = explain(
        [Route("x", ("a",), kinds=frozenset({"otp"}))],
        to="+1",
        country="US",
        kind="marketing",
        account="a",
    ).lines()
    assert "no route matches" in none[-1]


# -- national languages: the connectors that send the message's tables go first ---------------

LANGUAGES = {"a": frozenset(), "b": frozenset({"pt"}), "c": frozenset({"tr", "pt"})}


@given(
    st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=7, unique=True),
    st.dictionaries(st.sampled_from("abcdefg"), st.frozensets(st.sampled_from(["tr", "es", "pt"]))),
    st.sampled_from(["tr", "es", "pt", None]),
)
def test_prefer_language_is_a_stable_partition(
    order: list[str], languages: dict[str, frozenset[str]], language: str | None
) -> None:
    preferred = prefer_language(tuple(order), language, languages)
    assert sorted(preferred) == sorted(order)
    sends = [n for n in order if language is not None and language in languages.get(n, ())]
    others = [n for n in order if n not in sends]
    if language is None or not sends:
        assert preferred == tuple(order)
    else:
        assert preferred == (*sends, *others)  # each part in the strategy's own order


def test_every_strategy_keeps_its_order_within_each_part() -> None:
    prices = {"a": {"default": 0.01}, "b": {"default": 0.02}, "c": {"default": 0.03}}
    stats = {
        "a": {None: ConnectorStats(submitted=100, delivered=99, failed=1)},
        "b": {None: ConnectorStats(submitted=100, delivered=90, failed=10)},
        "c": {None: ConnectorStats(submitted=100, delivered=50, failed=50)},
    }
    cases = {
        "failover": Route("r", ("a", "b", "c")),
        "least_cost": Route("r", ("c", "b", "a"), strategy="least_cost"),
        "weighted": Route("r", ("a", "b", "c"), strategy="weighted", weights={"a": 100}),
    }
    for strategy, route in cases.items():
        order = connector_order(route, message_id="msg_1", prices=prices)
        assert order[0] == "a", strategy  # without a language: the strategy's own first
        assert prefer_language(order, "tr", LANGUAGES) == ("c", *[n for n in order if n != "c"])
        assert prefer_language(order, "pt", LANGUAGES)[:2] == tuple(n for n in order if n != "a")
        assert prefer_language(order, "es", LANGUAGES) == order  # nobody sends it
    adaptive = Route("r", ("c", "b", "a"), strategy="adaptive")
    order = ranking(adaptive, prices=prices, stats=stats).order
    assert order == ("a", "b", "c")  # best measured first
    assert prefer_language(order, "tr", LANGUAGES) == ("c", "a", "b")
    assert prefer_language(order, "pt", LANGUAGES) == ("b", "c", "a")


def test_route_languages_are_those_some_connector_sends() -> None:
    assert route_languages(Route("r", ("a", "b", "c")), LANGUAGES) == {"tr", "pt"}
    assert route_languages(Route("r", ("a", "x")), LANGUAGES) == frozenset()


def test_explain_shows_what_a_national_language_does() -> None:
    routes = [Route("tr", ("a", "c"), countries=frozenset({"TR"})), Route("default", ("a",))]

    def lines(to: str, country: str, language: str | None) -> str:
        return "\n".join(
            explain(
                routes,
                to=to,
                country=country,
                kind="transactional",
                account="acme",
                language=language,
                languages=LANGUAGES,
            ).lines()
        )

    turkish = lines("+905321234567", "TR", "tr")
    assert "national language tr: sent with its tables by c, first" in turkish
    assert "attempt 1: c" in turkish and "attempt 2: a" in turkish
    plain = lines("+905321234567", "TR", None)
    assert "national language" not in plain and "attempt 1: a" in plain
    elsewhere = lines("+14155552671", "US", "tr")
    assert "no connector of this route sends its tables" in elsewhere
    assert "national_language_unsupported" in elsewhere
