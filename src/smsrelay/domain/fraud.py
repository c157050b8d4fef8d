"""The fraud guard's decisions against SMS pumping: pure, on counts the store gathered.

SMS pumping (artificially inflated traffic): an attacker makes an app send one-time codes to
ranges of premium numbers whose operators share the revenue. The codes are never entered. So
the guard watches, per account, each destination prefix and country:

* geo permissions: an account may limit the countries it sends codes to;
* velocity: codes per minute to one prefix, from one account, for one client IP
  (``device_ip``); over it, ``verification_rate_limited`` (429);
* the baseline: the account's sends per hour and share of codes approved there, from the last
  ``baseline_days`` days before the current window; a **surge** is when, in the last
  ``window`` seconds, codes old enough to have been entered (``grace``) number at least
  ``min_sends`` and more than ``surge_factor`` times the baseline, while the share approved
  falls under ``conversion_drop`` times the baseline's (``min_conversion`` where there is no
  baseline yet). A surge blocks the prefix (or the country) for ``block_seconds``
  (12 h by default), and every code to it is refused with ``fraud_suspected`` (403) until the
  block ends or the operator lifts it.

What an attack gets through before its block is bounded: the velocity limit per prefix times
the grace (in minutes) and one more minute, since codes younger than ``grace`` are not judged
yet (``bench/pumping_attack.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from smsrelay.domain.errors import ErrorCode, SmsError


class Scope(StrEnum):
    PREFIX = "prefix"
    COUNTRY = "country"
    ACCOUNT = "account"
    IP = "ip"


@dataclass(frozen=True, slots=True)
class FraudPolicy:
    """The guard's settings; every field is a ``SMSRELAY_FRAUD_*`` setting."""

    enabled: bool = True
    prefix_digits: int = 6  # digits of the E.164 number (country code included) in a prefix
    window: float = 3600.0
    grace: float = 120.0
    baseline_days: float = 7.0
    block_seconds: float = 12 * 3600.0
    min_sends_prefix: int = 20
    min_sends_country: int = 50
    surge_factor: float = 3.0
    min_conversion: float = 0.2
    conversion_drop: float = 0.5
    per_minute_prefix: int = 30
    per_minute_account: int = 600
    per_minute_ip: int = 10

    def min_sends(self, scope: Scope) -> int:
        return self.min_sends_country if scope is Scope.COUNTRY else self.min_sends_prefix

    def per_minute(self, scope: Scope) -> int:
        return {
            Scope.PREFIX: self.per_minute_prefix,
            Scope.ACCOUNT: self.per_minute_account,
            Scope.IP: self.per_minute_ip,
        }.get(scope, 0)


def destination_prefix(e164: str, digits: int) -> str:
    """The number's first ``digits`` digits with the plus: ``+4915112345678`` → ``+491511``."""
    return "+" + e164.lstrip("+")[:digits]


@dataclass(frozen=True, slots=True)
class Traffic:
    sends: int = 0
    approvals: int = 0

    @property
    def conversion(self) -> float | None:
        return self.approvals / self.sends if self.sends else None


@dataclass(frozen=True, slots=True)
class Baseline:
    """Sends per hour and the share approved, from the history before the window."""

    sends_per_hour: float = 0.0
    conversion: float | None = None  # None: too few codes to say

    @classmethod
    def of(cls, history: Traffic, hours: float, *, min_sends: int) -> Baseline:
        hours = max(1.0, hours)
        conversion = history.conversion if history.sends >= min_sends else None
        return cls(history.sends / hours, conversion)


@dataclass(frozen=True, slots=True)
class ScopeTraffic:
    """One prefix's or country's traffic as the guard judges it."""

    scope: Scope
    key: str
    matured: Traffic  # codes of the window older than ``grace``
    baseline: Baseline


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a code is not sent. ``rate``: 429 with ``retry_after``; else 403."""

    reason: str
    detail: str
    rate: bool = False
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Block:
    scope: Scope
    key: str
    reason: str


def allowed_countries_of(values: Collection[str]) -> tuple[str, ...]:
    """An account's allowed countries as given: ISO 3166 codes, upper case, sorted."""
    countries = tuple(sorted({v.strip().upper() for v in values}))
    bad = [c for c in countries if c not in phonenumbers.SUPPORTED_REGIONS]
    if bad:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"not ISO country codes: {', '.join(bad)}",
            field="allowed_countries",
        )
    return countries


def geo_refusal(country: str | None, allowed: Collection[str] | None) -> Refusal | None:
    """The account's allowed countries (None: all)."""
    if allowed is None or (country is not None and country in allowed):
        return None
    return Refusal(
        "geo_permission",
        f"codes to {country or 'this destination'} are not allowed for this account "
        f"(allowed: {', '.join(sorted(allowed)) or 'none'})",
    )


def velocity_refusal(
    per_minute: Mapping[Scope, tuple[str, int]], policy: FraudPolicy, *, seconds_left: float
) -> Refusal | None:
    """``per_minute``: the scope's key and codes sent in the current minute."""
    for scope, (key, count) in per_minute.items():
        limit = policy.per_minute(scope)
        if limit and count >= limit:
            return Refusal(
                f"velocity_{scope}",
                f"more than {limit} codes a minute to {scope} {key}",
                rate=True,
                retry_after=max(1.0, seconds_left),
            )
    return None


def surge(traffic: ScopeTraffic, policy: FraudPolicy) -> Block | None:
    """Whether this prefix or country departs from the baseline with conversion falling."""
    sends = traffic.matured.sends
    if sends < policy.min_sends(traffic.scope):
        return None
    expected = traffic.baseline.sends_per_hour * policy.window / 3600.0
    if sends <= policy.surge_factor * expected:
        return None
    floor = policy.min_conversion
    if traffic.baseline.conversion is not None:
        floor = traffic.baseline.conversion * policy.conversion_drop
    conversion = traffic.matured.conversion or 0.0
    if conversion >= floor:
        return None
    return Block(
        traffic.scope,
        traffic.key,
        f"{sends} codes to {traffic.scope} {traffic.key} in the last "
        f"{policy.window / 60:g} min against {expected:.1f} expected, "
        f"{conversion:.0%} approved against {floor:.0%} at least",
    )


def block_refusal(scope: str, key: str, until: float, reason: str) -> Refusal:
    return Refusal(
        "destination_blocked",
        f"codes to {scope} {key} are blocked until {until:.0f} (unix time): {reason}",
    )
