"""domain/fraud.py: geo permissions, velocity, and the surge that blocks a prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.errors import SmsError
from smsrelay.domain.fraud import (
    Baseline,
    FraudPolicy,
    Scope,
    ScopeTraffic,
    Traffic,
    allowed_countries_of,
    destination_prefix,
    geo_refusal,
    surge,
    velocity_refusal,
)

POLICY = FraudPolicy()


def _prefix(sends: int, approvals: int, baseline: Baseline | None = None) -> ScopeTraffic:
    return ScopeTraffic(Scope.PREFIX, "+232760", Traffic(sends, approvals), baseline or Baseline())


def test_prefix_is_the_first_digits() -> None:
    assert destination_prefix("+4915112345678", 6) == "+491511"
    assert destination_prefix("+23276000123", 6) == "+232760"
    assert destination_prefix("+1415", 6) == "+1415"


def test_geo_permissions() -> None:
    assert geo_refusal("DE", None) is None
    assert geo_refusal("DE", ("DE", "FR")) is None
    refused = geo_refusal("SL", ("DE", "FR"))
    assert refused is not None and refused.reason == "geo_permission" and not refused.rate
    # a number of no country (+882, +883: international premium services) is not allowed
    assert geo_refusal(None, ("DE",)) is not None
    assert allowed_countries_of(["de", " fr ", "DE"]) == ("DE", "FR")
    with pytest.raises(SmsError):
        allowed_countries_of(["XX"])


def test_velocity_is_a_rate_refusal_until_the_minute_ends() -> None:
    assert velocity_refusal({Scope.PREFIX: ("+232760", 29)}, POLICY, seconds_left=20) is None
    refused = velocity_refusal({Scope.PREFIX: ("+232760", 30)}, POLICY, seconds_left=20)
    assert refused is not None and refused.rate and refused.retry_after == 20
    assert refused.reason == "velocity_prefix"
    ip = velocity_refusal({Scope.IP: ("192.0.2.1", 10)}, POLICY, seconds_left=0.2)
    assert ip is not None and ip.retry_after == 1.0
    off = FraudPolicy(per_minute_prefix=0)
    assert velocity_refusal({Scope.PREFIX: ("+232760", 10**6)}, off, seconds_left=1) is None


def test_no_baseline_a_burst_of_unentered_codes_blocks() -> None:
    assert surge(_prefix(19, 0), POLICY) is None  # too few to judge
    block = surge(_prefix(20, 0), POLICY)
    assert block is not None and block.scope is Scope.PREFIX and block.key == "+232760"
    assert "20 codes" in block.reason and "0% approved" in block.reason


def test_codes_that_are_entered_never_block() -> None:
    assert surge(_prefix(500, 400), POLICY) is None
    assert surge(_prefix(500, 100), POLICY) is None  # 20 %: the floor without a baseline


def test_within_the_baseline_nothing_blocks() -> None:
    usual = Baseline(sends_per_hour=100.0, conversion=0.8)
    assert surge(_prefix(250, 0, usual), POLICY) is None  # under 3x the usual hour
    assert surge(_prefix(350, 0, usual), POLICY) is not None
    # conversion falls under half the usual share: 0.3 < 0.4
    assert surge(_prefix(350, 105, usual), POLICY) is not None
    assert surge(_prefix(350, 150, usual), POLICY) is None


def test_country_needs_more_codes() -> None:
    country = ScopeTraffic(Scope.COUNTRY, "SL", Traffic(49, 0), Baseline())
    assert surge(country, POLICY) is None
    country = ScopeTraffic(Scope.COUNTRY, "SL", Traffic(50, 0), Baseline())
    assert surge(country, POLICY) is not None


def test_baseline_of_history() -> None:
    assert Baseline.of(Traffic(0, 0), 0, min_sends=20) == Baseline(0.0, None)
    b = Baseline.of(Traffic(240, 180), 24, min_sends=20)
    assert b.sends_per_hour == 10 and b.conversion == 0.75
    assert Baseline.of(Traffic(10, 0), 24, min_sends=20).conversion is None


@given(
    sends=st.integers(min_value=0, max_value=10_000),
    rate=st.floats(min_value=0, max_value=1),
    usual=st.floats(min_value=0, max_value=1000),
)
def test_a_prefix_whose_codes_are_entered_as_usual_is_never_blocked(
    sends: int, rate: float, usual: float
) -> None:
    """Conversion at or above the usual share never blocks, whatever the volume."""
    approvals = round(sends * max(rate, 0.8))
    baseline = Baseline(usual, 0.8)
    assert surge(_prefix(sends, approvals, baseline), POLICY) is None
