"""The adaptive strategy's arithmetic: histograms, scores, the order and its exploration."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.routing import Route, connector_order, explain, route_from_dict, route_to_dict
from smsrelay.domain.scoring import (
    LATENCY_BOUNDS,
    LATENCY_BUCKETS,
    AdaptiveWeights,
    ConnectorStats,
    latency_bucket,
    parse_duration,
    percentile,
    rank,
)

NO_EXPLORING = AdaptiveWeights(exploration=0.0, min_samples=10)


def measured(
    delivered: int, failed: int, *, latency: float = 1.0, errors: int = 0
) -> ConnectorStats:
    histogram = [0] * LATENCY_BUCKETS
    histogram[latency_bucket(latency)] = delivered + failed
    return ConnectorStats(
        submitted=delivered + failed,
        submit_errors=errors,
        delivered=delivered,
        failed=failed,
        latency=tuple(histogram),
    )


def order(
    stats: dict[str, ConnectorStats], weights: AdaptiveWeights = NO_EXPLORING, **kw: object
) -> tuple[str, ...]:
    table = {name: {"DE": s} for name, s in stats.items()}
    prices = kw.pop("prices", {})
    assert isinstance(prices, dict)
    return rank(tuple(stats), table, weights, country="DE", prices=prices, draw=1.0, pick=0.0).order


def test_the_better_delivery_rate_goes_first() -> None:
    assert order({"a": measured(60, 40), "b": measured(95, 5)}) == ("b", "a")
    assert order({"a": measured(95, 5), "b": measured(60, 40)}) == ("a", "b")


def test_latency_errors_and_cost_break_an_even_delivery_rate() -> None:
    assert order({"slow": measured(90, 10, latency=30), "fast": measured(90, 10)})[0] == "fast"
    assert order({"bad": measured(90, 10, errors=50), "good": measured(90, 10)})[0] == "good"
    cheap = order(
        {"dear": measured(90, 10), "cheap": measured(90, 10)},
        prices={"dear": 0.08, "cheap": 0.02},
    )
    assert cheap[0] == "cheap"


def test_an_unmeasured_connector_ranks_last_until_it_has_min_samples() -> None:
    assert order({"new": measured(3, 0), "old": measured(50, 50)}) == ("old", "new")
    assert order({"new": measured(10, 0), "old": measured(50, 50)}) == ("new", "old")
    # nothing measured: the route's own order
    assert order({"b": measured(1, 0), "a": measured(0, 1)}) == ("b", "a")


def test_too_few_samples_for_the_country_falls_back_to_all_countries() -> None:
    table = {
        "a": {"DE": measured(2, 0), "FR": measured(50, 50)},
        "b": {"DE": measured(1, 1), "FR": measured(90, 10)},
    }
    ranking = rank(("a", "b"), table, NO_EXPLORING, country="DE", prices={}, draw=1, pick=0)
    assert ranking.order == ("b", "a")
    assert {s.basis for s in ranking.scores} == {"all countries"}


def test_exploration_puts_the_unmeasured_or_a_trailing_connector_first() -> None:
    weights = AdaptiveWeights(exploration=0.1, min_samples=10)
    table = {"a": {"DE": measured(95, 5)}, "b": {"DE": measured(60, 40)}, "c": {}}
    explore = rank(("a", "b", "c"), table, weights, country="DE", prices={}, draw=0.05, pick=0.9)
    assert explore.exploring == "c" and explore.order == ("c", "a", "b")
    stay = rank(("a", "b", "c"), table, weights, country="DE", prices={}, draw=0.5, pick=0.9)
    assert stay.exploring is None and stay.order == ("a", "b", "c")
    both = {"a": {"DE": measured(95, 5)}, "b": {"DE": measured(60, 40)}}
    trailing = rank(("a", "b"), both, weights, country="DE", prices={}, draw=0.0, pick=0.0)
    assert trailing.order == ("b", "a") and trailing.exploring == "b"


def test_the_leader_carries_all_but_the_exploration_share() -> None:
    route = Route("r", ("b", "a"), strategy="adaptive", adaptive=AdaptiveWeights(exploration=0.05))
    stats = {"a": {"DE": measured(95, 5)}, "b": {"DE": measured(60, 40)}}
    firsts = Counter(
        connector_order(route, message_id=f"msg_{n}", country="DE", stats=stats)[0]
        for n in range(4000)
    )
    assert 0.93 < firsts["a"] / 4000 < 0.97
    # every retry of one message walks the same order
    assert connector_order(route, message_id="m1", country="DE", stats=stats) == connector_order(
        route, message_id="m1", country="DE", stats=stats
    )


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.tuples(st.integers(0, 200), st.integers(0, 200), st.integers(0, 50), st.floats(0, 5000)),
        min_size=1,
    ),
    st.floats(0, 0.999),
    st.floats(0, 0.999),
    st.sampled_from([None, 0.0, 0.01, 0.05]),
)
def test_the_order_is_always_every_connector_once(
    raw: dict[str, tuple[int, int, int, float]], draw: float, pick: float, price: float | None
) -> None:
    names = tuple(raw)
    table = {n: {"DE": measured(d, f, errors=e, latency=lat)} for n, (d, f, e, lat) in raw.items()}
    ranking = rank(
        names,
        table,
        AdaptiveWeights(exploration=0.2),
        country="DE",
        prices={n: price for n in names},
        draw=draw,
        pick=pick,
    )
    assert sorted(ranking.order) == sorted(names)
    for s in ranking.scores:
        assert s.score is None or 0.0 <= s.score <= 1.0
        assert all(0.0 <= v <= 1.0 for v in s.parts.values())
    measured_first = [n for n in ranking.order if n != ranking.exploring]
    scores = {s.connector: s.score for s in ranking.scores}
    known = [scores[n] for n in measured_first if scores[n] is not None]
    assert known == sorted(known, reverse=True)


@given(st.lists(st.floats(0, 10_000, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_stay_inside_the_bucket_of_the_true_value(values: list[float]) -> None:
    histogram = [0] * LATENCY_BUCKETS
    for v in values:
        histogram[latency_bucket(v)] += 1
    ordered = sorted(values)
    for q in (0.5, 0.95):
        estimate = percentile(histogram, q)
        assert estimate is not None
        true = ordered[max(0, -(-int(q * len(values) * 1000) // 1000) - 1)]
        bucket = latency_bucket(true)
        low = 0.0 if bucket == 0 else LATENCY_BOUNDS[bucket - 1]
        high = LATENCY_BOUNDS[min(bucket, len(LATENCY_BOUNDS) - 1)]
        assert low <= estimate <= high
    p50, p95 = percentile(histogram, 0.5), percentile(histogram, 0.95)
    assert p50 is not None and p95 is not None and p50 <= p95


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([0] * LATENCY_BUCKETS, 0.5) is None
    assert ConnectorStats().delivery_rate is None and ConnectorStats().error_rate is None


@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100)),
        min_size=1,
        max_size=5,
    )
)
def test_stats_add_up(parts: list[tuple[int, int, int]]) -> None:
    total = sum((measured(d, f, errors=e) for d, f, e in parts), ConnectorStats())
    assert total.delivered == sum(d for d, _, _ in parts)
    assert total.samples == sum(d + f + e for d, f, e in parts)
    assert sum(total.latency) == total.finals


def test_weights_from_the_config_form() -> None:
    weights = AdaptiveWeights.from_dict({"delivery": 2, "window": "10m", "min_samples": 5})
    assert (weights.delivery, weights.window, weights.min_samples) == (2.0, 600.0, 5)
    assert AdaptiveWeights.from_dict(weights.to_dict()) == weights
    assert (
        parse_duration("1h") == 3600 and parse_duration(90) == 90 and parse_duration("2d") == 172800
    )
    for bad in (
        {"speed": 1},
        {"delivery": -1},
        {"delivery": 0, "latency": 0, "errors": 0, "cost": 0},
        {"exploration": 0.9},
        {"window": "soon"},
        {"window": "10s"},
        {"min_samples": 0},
        {"min_samples": 2.5},
        {"delivery": "a lot"},
        {"cost": True},
    ):
        with pytest.raises(ValueError):
            AdaptiveWeights.from_dict(bad)


def test_an_adaptive_route_round_trips_and_explains_its_choice() -> None:
    route = route_from_dict(
        {
            "name": "r",
            "strategy": "adaptive",
            "connectors": ["a", "b"],
            "adaptive": {"window": "10m", "min_samples": 10, "exploration": 0.05},
        }
    )
    assert route.adaptive is not None and route.adaptive.window == 600
    assert route_from_dict(route_to_dict(route)) == route
    assert "adaptive" not in route_to_dict(Route("f", ("a",)))
    with pytest.raises(ValueError):
        route_from_dict({"name": "r", "connectors": ["a"], "adaptive": 3})
    stats = {"a": {"DE": measured(60, 40)}, "b": {"DE": measured(95, 5)}}
    explanation = explain(
        [route], to="+4930123456", country="DE", kind="otp", account="x", stats=stats
    )
    lines = explanation.lines()
    assert explanation.order == ("b", "a")
    assert any(line.strip().startswith("b: score") and "delivery 0.95" in line for line in lines)
    assert any("exploring: 5% of messages" in line for line in lines)
    unmeasured = explain([route], to="+4930123456", country="DE", kind="otp", account="x")
    assert any("a: unmeasured" in line for line in unmeasured.lines())
