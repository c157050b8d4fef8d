"""Measured delivery and the ``adaptive`` strategy's choice: pure arithmetic, no I/O.

The engine counts, per connector and destination country and per minute, what happened
(``engine/delivery_stats.py`` → ``store/stats.py``): submits the carrier accepted, submits it
refused, final receipts (delivered or not) with the time from the accepted submit to the
receipt, and what the accepted submits cost. A window of those minutes, summed, is a
:class:`ConnectorStats`; this module turns them into rates, latency percentiles and a score,
and orders a route's connectors by it (:func:`rank`).

The score of a connector is a weighted mean of four parts, each from 0 (worst) to 1 (best):

* ``delivery``: delivered / final receipts;
* ``latency``: the fastest median receipt latency among the route's measured connectors
  divided by this one's (twice as slow: 0.5);
* ``errors``: 1 - refused submits / submits;
* ``cost``: the cheapest price per segment among them divided by this one's (unpriced
  connectors count as the dearest).

A connector is measured for a country once its final receipts and refused submits there
reach ``min_samples`` in the window; below that its totals over every country are used, and
below that again it is *unmeasured*: it ranks after the measured ones, in the route's order.
With probability ``exploration`` (drawn per message) one connector is put first anyway: an
unmeasured one if any, else one that is not the leader. So a new or recovered connector keeps
getting a small share of traffic and is measured again, and the leader carries the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "LATENCY_BOUNDS",
    "AdaptiveWeights",
    "ConnectorStats",
    "Ranking",
    "Score",
    "StatsTable",
    "explore",
    "latency_bucket",
    "parse_duration",
    "percentile",
    "rank",
    "score",
]

#: Upper bounds (seconds) of the receipt-latency histogram's buckets; one more bucket holds
#: everything slower. Percentiles are interpolated inside a bucket.
LATENCY_BOUNDS: tuple[float, ...] = (
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)
LATENCY_BUCKETS = len(LATENCY_BOUNDS) + 1


def latency_bucket(seconds: float) -> int:
    """The histogram bucket of a latency (a negative one, from a clock step, counts as 0)."""
    for index, bound in enumerate(LATENCY_BOUNDS):
        if seconds <= bound:
            return index
    return len(LATENCY_BOUNDS)


def percentile(histogram: Sequence[int], q: float) -> float | None:
    """The ``q``-quantile (0 < q <= 1) of a latency histogram, interpolated linearly inside
    its bucket; None when it is empty. The open last bucket answers its lower bound."""
    total = sum(histogram)
    if total <= 0:
        return None
    rank_ = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count <= 0:
            continue
        if seen + count >= rank_:
            if index >= len(LATENCY_BOUNDS):
                return LATENCY_BOUNDS[-1]
            low = 0.0 if index == 0 else LATENCY_BOUNDS[index - 1]
            high = LATENCY_BOUNDS[index]
            return min(high, low + (high - low) * (max(0.0, rank_ - seen) / count))
        seen += count
    return LATENCY_BOUNDS[-1]


@dataclass(frozen=True, slots=True)
class ConnectorStats:
    """What one connector did (for one country, or all) over a window."""

    submitted: int = 0  # submits the carrier accepted
    submit_errors: int = 0  # submits it refused (or that failed on the way)
    delivered: int = 0  # final receipts: delivered
    failed: int = 0  # final receipts: undelivered, expired or rejected
    latency: tuple[int, ...] = (0,) * LATENCY_BUCKETS  # accepted submit → final receipt
    cost: float = 0.0  # price per segment × segments of the accepted submits

    @property
    def finals(self) -> int:
        return self.delivered + self.failed

    @property
    def samples(self) -> int:
        """What the score stands on: final receipts and refused submits."""
        return self.finals + self.submit_errors

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.finals if self.finals else None

    @property
    def error_rate(self) -> float | None:
        attempts = self.submitted + self.submit_errors
        return self.submit_errors / attempts if attempts else None

    @property
    def latency_p50(self) -> float | None:
        return percentile(self.latency, 0.5)

    @property
    def latency_p95(self) -> float | None:
        return percentile(self.latency, 0.95)

    def __add__(self, other: ConnectorStats) -> ConnectorStats:
        return ConnectorStats(
            self.submitted + other.submitted,
            self.submit_errors + other.submit_errors,
            self.delivered + other.delivered,
            self.failed + other.failed,
            tuple(a + b for a, b in zip(self.latency, other.latency, strict=True)),
            self.cost + other.cost,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (admin API, CLI): counts, rates and percentiles."""
        return {
            "submitted": self.submitted,
            "submit_errors": self.submit_errors,
            "delivered": self.delivered,
            "failed": self.failed,
            "delivery_rate": _round(self.delivery_rate),
            "error_rate": _round(self.error_rate),
            "latency_p50": _round(self.latency_p50),
            "latency_p95": _round(self.latency_p95),
            "cost": round(self.cost, 6),
        }


StatsTable = Mapping[str, Mapping[str, ConnectorStats]]
"""connector name → destination country (``""``: unknown) → its stats over the window."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """``"10m"``, ``"1h"``, ``"90s"``, ``"2d"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 10m, 1h, 1d)")
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be positive: {value!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class AdaptiveWeights:
    """How the ``adaptive`` strategy scores (``[routing.adaptive]``, or a route's own
    ``adaptive`` table, whose missing keys take these defaults)."""

    delivery: float = 1.0
    latency: float = 0.2
    errors: float = 0.5
    cost: float = 0.2
    exploration: float = 0.05
    window: float = 3600.0  # seconds of history the score reads
    min_samples: int = 20

    def __post_init__(self) -> None:
        parts = (self.delivery, self.latency, self.errors, self.cost)
        if any(not math.isfinite(w) or w < 0 for w in parts) or sum(parts) <= 0:
            raise ValueError("adaptive weights must be finite, not negative, and not all zero")
        if not 0.0 <= self.exploration <= 0.5:
            raise ValueError("adaptive exploration must be between 0 and 0.5")
        if not math.isfinite(self.window) or self.window < 60:
            raise ValueError("adaptive window must be at least 60 seconds")
        if self.min_samples < 1:
            raise ValueError("adaptive min_samples must be at least 1")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdaptiveWeights:
        """From the config/JSON form (``window`` as ``"10m"`` or seconds); raises
        ``ValueError`` for an unknown key or a bad value."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown adaptive setting(s) {unknown}: use {sorted(known)}")
        values: dict[str, Any] = {}
        try:
            for key, value in data.items():
                if key == "window":
                    values[key] = parse_duration(value)
                elif key == "min_samples":
                    if isinstance(value, bool) or float(value) != int(value):
                        raise ValueError(f"adaptive min_samples must be a whole number: {value!r}")
                    values[key] = int(value)
                else:
                    if isinstance(value, bool):
                        raise ValueError(f"adaptive {key} must be a number")
                    values[key] = float(value)
        except (TypeError, OverflowError):
            raise ValueError("adaptive settings must be numbers (window: a duration)") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Score:
    """One connector's score for one message, with its parts (``None``: unmeasured)."""

    connector: str
    score: float | None
    parts: Mapping[str, float] = field(default_factory=dict)
    samples: int = 0
    basis: str = ""  # "DE", "all countries", or "" when unmeasured

    def describe(self) -> str:
        if self.score is None:
            return f"{self.connector}: unmeasured ({self.samples} samples)"
        parts = ", ".join(f"{k} {v:.2f}" for k, v in self.parts.items())
        return (
            f"{self.connector}: score {self.score:.3f} ({parts}; "
            f"{self.samples} samples, {self.basis})"
        )


@dataclass(frozen=True, slots=True)
class Ranking:
    """The order for one message and why: every connector's score, and the connector put
    first to explore, if this message explores."""

    order: tuple[str, ...]
    scores: tuple[Score, ...]
    exploring: str | None = None
    exploration: float = 0.0

    def lines(self) -> list[str]:
        out = [f"  {s.describe()}" for s in self.scores]
        if self.exploring is not None:
            out.append(f"  exploring: {self.exploring} goes first for this message")
        elif len(self.scores) > 1 and self.exploration > 0:
            unmeasured = [s.connector for s in self.scores if s.score is None]
            who = ", ".join(unmeasured) if unmeasured else "the others"
            out.append(
                f"  exploring: {self.exploration:.0%} of messages put {who} first instead, "
                "so they stay measured"
            )
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _basis(
    stats: StatsTable, connector: str, country: str | None, min_samples: int
) -> tuple[ConnectorStats, str] | None:
    by_country = stats.get(connector, {})
    own = by_country.get(country or "")
    if own is not None and own.samples >= min_samples:
        return own, country or "unknown country"
    total = sum(by_country.values(), ConnectorStats())
    if total.samples >= min_samples:
        return total, "all countries"
    return None


def rank(
    connectors: Sequence[str],
    stats: StatsTable,
    weights: AdaptiveWeights,
    *,
    country: str | None,
    prices: Mapping[str, float | None],
    draw: float,
    pick: float,
) -> Ranking:
    """Order ``connectors`` for one message to ``country``.

    ``prices``: each connector's price per segment there (None: unpriced). ``draw`` and
    ``pick`` are uniform in [0, 1), drawn from the message id: whether this message explores
    (``draw < exploration``) and which connector it explores with.
    """
    base = score(connectors, stats, weights, country=country, prices=prices)
    return explore(base, draw=draw, pick=pick)


def score(
    connectors: Sequence[str],
    stats: StatsTable,
    weights: AdaptiveWeights,
    *,
    country: str | None,
    prices: Mapping[str, float | None],
) -> Ranking:
    """The order of a message that does not explore, with every connector's score: the same
    for every message to ``country`` until the stats change (the dispatcher keeps it)."""
    measured: dict[str, tuple[ConnectorStats, str]] = {}
    for name in connectors:
        found = _basis(stats, name, country, weights.min_samples)
        if found is not None:
            measured[name] = found
    medians = {n: p for n, (s, _) in measured.items() if (p := s.latency_p50) is not None}
    fastest = max(min(medians.values(), default=0.0), 0.001)
    priced = {n: p for n in connectors if (p := prices.get(n)) is not None}
    cheapest = max(min(priced.values(), default=0.0), 1e-9)
    dearest = max(priced.values(), default=cheapest)
    total_weight = weights.delivery + weights.latency + weights.errors + weights.cost
    scores: dict[str, Score] = {}
    for name in connectors:
        if name not in measured:
            samples = sum(s.samples for s in stats.get(name, {}).values())
            scores[name] = Score(name, None, samples=samples)
            continue
        s, basis = measured[name]
        p50 = medians.get(name)
        price = priced.get(name, dearest)
        parts = {
            "delivery": s.delivery_rate if s.delivery_rate is not None else 0.0,
            "latency": fastest / max(p50, 0.001) if p50 is not None else 0.0,
            "errors": 1.0 - (s.error_rate or 0.0),
            "cost": cheapest / max(price, 1e-9) if priced else 1.0,
        }
        score = (
            weights.delivery * parts["delivery"]
            + weights.latency * parts["latency"]
            + weights.errors * parts["errors"]
            + weights.cost * parts["cost"]
        ) / total_weight
        scores[name] = Score(name, score, parts, s.samples, basis)
    position = {name: i for i, name in enumerate(connectors)}
    order = sorted(
        connectors,
        key=lambda n: (
            scores[n].score is None,
            -(scores[n].score or 0.0),
            position[n],
        ),
    )
    return Ranking(tuple(order), tuple(scores[n] for n in connectors), None, weights.exploration)


def explore(base: Ranking, *, draw: float, pick: float) -> Ranking:
    """``base`` for one message: with probability ``exploration`` (``draw`` below it) an
    unmeasured connector, or else one that is not the leader, chosen by ``pick``, goes
    first."""
    order = list(base.order)
    if len(order) < 2 or draw >= base.exploration:
        return base
    unmeasured = {s.connector for s in base.scores if s.score is None}
    candidates = [n for n in order if n in unmeasured] or order[1:]
    exploring = candidates[min(int(pick * len(candidates)), len(candidates) - 1)]
    order.remove(exploring)
    order.insert(0, exploring)
    return Ranking(tuple(order), base.scores, exploring, base.exploration)
