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
    select_route,
)

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
