"""Route selection: which connectors may carry a message, and in which order.

A route matches on destination country, number prefix, message kind and account; every match
field is optional and an empty one matches anything. Among matching routes the most specific
wins: the longest matching prefix first, then the number of match fields set, then the order
of declaration. The route's strategy orders its connectors for one message:

* ``failover``: as declared;
* ``weighted``: a weighted random order (``weights``), drawn from the message id so that every
  retry of one message walks the same order while messages spread by weight;
* ``least_cost``: cheapest first by the connectors' price for the destination country
  (``prices``, with ``"default"`` as the fallback; unpriced connectors last);
* ``adaptive``: best measured first, by a score of delivery rate, receipt latency, submit
  errors and cost over a rolling window (``domain/scoring.py``), with a small share of
  messages exploring the others; the weights are the route's ``adaptive`` table, else the
  gateway's ``[routing.adaptive]``.

Attempt *n* of a message uses the *n*-th connector of that order (in a ring), so a retry after
a failure goes to the next connector: failover.

A message counted with a GSM-7 national language's shift tables (``Message.language``) is
sent with them only by a connector that lists the language; for such a message the order is
partitioned, stably, so that those connectors come first and the others after them
(:func:`prefer_language`): the others still carry it when the first are down, with the default
tables or UCS-2, and the text arrives intact. A message without a language keeps the order.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smsrelay.domain.scoring import AdaptiveWeights, Ranking, StatsTable, explore, score

STRATEGIES = ("failover", "weighted", "least_cost", "adaptive")


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    connectors: tuple[str, ...]
    countries: frozenset[str] = field(default_factory=frozenset)
    prefixes: tuple[str, ...] = ()
    kinds: frozenset[str] = field(default_factory=frozenset)
    accounts: frozenset[str] = field(default_factory=frozenset)
    strategy: str = "failover"
    weights: Mapping[str, float] = field(default_factory=dict)
    # the adaptive strategy's weights; None: the gateway's [routing.adaptive]
    adaptive: AdaptiveWeights | None = None

    def match_score(
        self, *, to: str, country: str | None, kind: str, account: str
    ) -> tuple[int, int] | None:
        """``None`` if the route does not apply, else a score where bigger is more specific."""
        if self.countries and (country or "") not in self.countries:
            return None
        if self.kinds and kind not in self.kinds:
            return None
        if self.accounts and account not in self.accounts:
            return None
        prefix_len = 0
        if self.prefixes:
            matching = [p for p in self.prefixes if to.startswith(p)]
            if not matching:
                return None
            prefix_len = max(len(p) for p in matching)
        fields_set = sum(bool(x) for x in (self.countries, self.kinds, self.accounts))
        return prefix_len, fields_set

    def why(self, *, to: str, country: str | None, kind: str, account: str) -> str:
        """A one-line reason this route matches or not, for ``smsrelay routes test``."""
        if self.countries and (country or "") not in self.countries:
            return f"country {country or '?'} not in {sorted(self.countries)}"
        if self.kinds and kind not in self.kinds:
            return f"kind {kind} not in {sorted(self.kinds)}"
        if self.accounts and account not in self.accounts:
            return f"account {account} not in {sorted(self.accounts)}"
        if self.prefixes and not any(to.startswith(p) for p in self.prefixes):
            return f"no prefix of {list(self.prefixes)} matches"
        score = self.match_score(to=to, country=country, kind=kind, account=account)
        assert score is not None
        return f"matches (prefix length {score[0]}, {score[1]} other fields)"


PriceTable = Mapping[str, Mapping[str, float]]
"""connector name → country code (or ``"default"``) → price per segment."""

ConnectorLanguages = Mapping[str, frozenset[str]]
"""connector name → the GSM-7 national languages it sends with their shift tables."""


def select_route(
    routes: Sequence[Route], *, to: str, country: str | None, kind: str, account: str
) -> Route | None:
    """The most specific matching route, or None when no route applies."""
    best: Route | None = None
    best_score: tuple[int, int] | None = None
    for route in routes:
        score = route.match_score(to=to, country=country, kind=kind, account=account)
        if score is not None and (best_score is None or score > best_score):
            best, best_score = route, score
    return best


def price_of(prices: PriceTable, connector: str, country: str | None) -> float | None:
    table = prices.get(connector, {})
    if country and country in table:
        return table[country]
    return table.get("default")


def prefer_language(
    order: tuple[str, ...], language: str | None, languages: ConnectorLanguages
) -> tuple[str, ...]:
    """``order`` with the connectors that send ``language`` first, each part in its order.

    The partition is stable, so every strategy keeps its own order among the connectors that
    send the language and among those that do not. No language, or no connector (or every
    one) that sends it: ``order`` itself.
    """
    if language is None:
        return order
    first = tuple(name for name in order if language in languages.get(name, ()))
    if not first or len(first) == len(order):
        return order
    return first + tuple(name for name in order if language not in languages.get(name, ()))


def route_languages(route: Route, languages: ConnectorLanguages) -> frozenset[str]:
    """The national languages at least one of the route's connectors sends."""
    found: frozenset[str] = frozenset()
    for name in route.connectors:
        found |= languages.get(name, frozenset())
    return found


def _seed(message_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(message_id.encode(), digest_size=8).digest(), "big")


def ranking(
    route: Route,
    *,
    message_id: str = "",
    country: str | None = None,
    prices: PriceTable | None = None,
    stats: StatsTable | None = None,
    adaptive: AdaptiveWeights | None = None,
) -> Ranking:
    """The adaptive order of ``route`` for one message, with each connector's score.

    ``adaptive``: the weights when the route has none of its own. The exploration draw comes
    from the message id, so every retry of a message sees the same draw.
    """
    table = prices or {}
    base = score(
        route.connectors,
        stats or {},
        route.adaptive or adaptive or AdaptiveWeights(),
        country=country,
        prices={n: price_of(table, n, country) for n in route.connectors},
    )
    if not message_id:  # an explanation: the order of a message that does not explore
        return base
    draw, pick = exploration_draw(message_id)
    return explore(base, draw=draw, pick=pick)


def exploration_draw(message_id: str) -> tuple[float, float]:
    """The adaptive strategy's two draws for a message (whether it explores, and with
    which connector), the same for every retry of it."""
    seed = _seed(message_id)
    return (seed >> 32) / 2**32, (seed & 0xFFFFFFFF) / 2**32


def connector_order(
    route: Route,
    *,
    message_id: str = "",
    country: str | None = None,
    prices: PriceTable | None = None,
    stats: StatsTable | None = None,
    adaptive: AdaptiveWeights | None = None,
) -> tuple[str, ...]:
    """The route's connectors in the order this message should try them (``stats`` and
    ``adaptive``: the measured delivery and default weights of the adaptive strategy)."""
    if route.strategy == "adaptive":
        return ranking(
            route,
            message_id=message_id,
            country=country,
            prices=prices,
            stats=stats,
            adaptive=adaptive,
        ).order
    if route.strategy == "least_cost":
        table = prices or {}

        def cost(name: str) -> tuple[int, float]:
            price = price_of(table, name, country)
            return (1, 0.0) if price is None else (0, price)

        return tuple(sorted(route.connectors, key=cost))
    if route.strategy == "weighted":
        rng = random.Random(_seed(message_id))
        remaining = list(route.connectors)
        order: list[str] = []
        while remaining:
            weights = [max(0.0, route.weights.get(n, 1.0)) for n in remaining]
            if sum(weights) <= 0:
                order += remaining
                break
            pick = rng.choices(remaining, weights)[0]
            order.append(pick)
            remaining.remove(pick)
        return tuple(order)
    return route.connectors


def connector_for_attempt(
    route: Route,
    attempt: int,
    *,
    message_id: str = "",
    country: str | None = None,
    prices: PriceTable | None = None,
) -> str:
    """The connector for the ``attempt``-th try (1-based): the order walked in a ring."""
    order = connector_order(route, message_id=message_id, country=country, prices=prices)
    return order[(max(attempt, 1) - 1) % len(order)]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a message would take the route and connectors it would."""

    route: Route | None
    order: tuple[str, ...]
    reasons: tuple[tuple[str, str], ...]  # (route name, why it matches or not)
    ranking: Ranking | None = None  # the adaptive strategy's scores, for an adaptive route
    language: str | None = None  # the national language asked about, if any
    senders: tuple[str, ...] = ()  # the route's connectors that send it with its tables

    def lines(self) -> list[str]:
        out = [f"route {name}: {why}" for name, why in self.reasons]
        if self.route is None:
            out.append("no route matches: the message would fail with no_route")
            return out
        out.append(f"chosen: {self.route.name} (strategy {self.route.strategy})")
        if self.ranking is not None:
            out += self.ranking.lines()
        if self.language is not None:
            out.append(self._language_line(self.language))
        out += [f"  attempt {i}: {name}" for i, name in enumerate(self.order, start=1)]
        if len(self.order) > 1:
            out.append(
                "  later attempts go round the same order; a connector whose circuit "
                "is open is skipped while another is usable"
            )
        return out

    def _language_line(self, language: str) -> str:
        if not self.senders:
            return (
                f"national language {language}: no connector of this route sends its tables; "
                "a request naming it is refused (national_language_unsupported), an "
                "account's default is not used (counted with the default tables or UCS-2)"
            )
        others = (
            ""
            if len(self.senders) == len(self.order)
            else ("; the others follow, with the default tables or UCS-2")
        )
        return (
            f"national language {language}: sent with its tables by "
            f"{', '.join(self.senders)}, first{others}"
        )


def explain(
    routes: Sequence[Route],
    *,
    to: str,
    country: str | None,
    kind: str,
    account: str,
    prices: PriceTable | None = None,
    message_id: str = "",
    stats: StatsTable | None = None,
    adaptive: AdaptiveWeights | None = None,
    language: str | None = None,
    languages: ConnectorLanguages | None = None,
) -> Explanation:
    """Which route a message would take, which connectors in which order, and why (for an
    adaptive route: each connector's score and its parts, or that this message explores;
    with ``language``, a message counted with that national language's tables and which of
    the route's connectors, by ``languages``, send them)."""
    reasons = tuple(
        (r.name, r.why(to=to, country=country, kind=kind, account=account)) for r in routes
    )
    route = select_route(routes, to=to, country=country, kind=kind, account=account)
    if route is None:
        return Explanation(None, (), reasons, language=language)
    chosen = None
    if route.strategy == "adaptive":
        chosen = ranking(
            route,
            message_id=message_id,
            country=country,
            prices=prices,
            stats=stats,
            adaptive=adaptive,
        )
        order = chosen.order
    else:
        order = connector_order(route, message_id=message_id, country=country, prices=prices)
    table = languages or {}
    order = prefer_language(order, language, table)
    senders = tuple(n for n in order if language in table.get(n, ()))
    return Explanation(route, order, reasons, chosen, language, senders)


def route_to_dict(route: Route) -> dict[str, Any]:
    """The JSON form of a route (admin API, stored route table)."""
    data: dict[str, Any] = {
        "name": route.name,
        "countries": sorted(route.countries),
        "prefixes": list(route.prefixes),
        "kinds": sorted(route.kinds),
        "accounts": sorted(route.accounts),
        "strategy": route.strategy,
        "connectors": list(route.connectors),
        "weights": dict(route.weights),
    }
    if route.adaptive is not None:
        data["adaptive"] = route.adaptive.to_dict()
    return data


def route_from_dict(data: Mapping[str, Any]) -> Route:
    """A route from its JSON form; raises ``ValueError`` for an unusable definition."""
    connectors = tuple(data.get("connectors") or ())
    if not data.get("name") or not connectors:
        raise ValueError("a route needs a name and at least one connector")
    strategy = data.get("strategy", "failover")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown routing strategy {strategy!r}")
    adaptive = data.get("adaptive")
    if adaptive is not None and not isinstance(adaptive, Mapping):
        raise ValueError("adaptive must be a table of weights")
    weights = {str(k): float(v) for k, v in (data.get("weights") or {}).items()}
    if any(not math.isfinite(w) or w < 0 for w in weights.values()):
        raise ValueError("route weights must be finite and not negative")
    return Route(
        name=str(data["name"]),
        connectors=connectors,
        countries=frozenset(str(c).upper() for c in data.get("countries", ())),
        prefixes=tuple(data.get("prefixes", ())),
        kinds=frozenset(data.get("kinds", ())),
        accounts=frozenset(data.get("accounts", ())),
        strategy=strategy,
        weights=weights,
        adaptive=None if adaptive is None else AdaptiveWeights.from_dict(adaptive),
    )
