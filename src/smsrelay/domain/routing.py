"""Route selection: which connectors may carry a message, in which order.

A route matches on destination country, number prefix, message kind and account; every match
field is optional and an empty one matches anything. Among matching routes the most specific
wins: the longest matching prefix first, then the number of match fields set, then the order of
declaration. The engine walks the chosen route's connectors in order, one per attempt, so a
retry after a failure goes to the next connector (failover).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    connectors: tuple[str, ...]
    countries: frozenset[str] = field(default_factory=frozenset)
    prefixes: tuple[str, ...] = ()
    kinds: frozenset[str] = field(default_factory=frozenset)
    accounts: frozenset[str] = field(default_factory=frozenset)
    strategy: str = "failover"

    def match_score(self, *, to: str, country: str | None, kind: str,
                    account: str) -> tuple[int, int] | None:
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


def select_route(routes: Sequence[Route], *, to: str, country: str | None, kind: str,
                 account: str) -> Route | None:
    """The most specific matching route, or None when no route applies."""
    best: Route | None = None
    best_score: tuple[int, int] | None = None
    for route in routes:
        score = route.match_score(to=to, country=country, kind=kind, account=account)
        if score is not None and (best_score is None or score > best_score):
            best, best_score = route, score
    return best


def connector_for_attempt(route: Route, attempt: int) -> str:
    """The connector for the ``attempt``-th try (1-based): failover walks the list in a ring."""
    return route.connectors[(max(attempt, 1) - 1) % len(route.connectors)]
