"""Sender adaptation: the requested sender when the destination allows it, else the pool's."""

from __future__ import annotations

import pytest

from smsrelay.domain.countries import load_shipped
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.numbers import parse_sender
from smsrelay.domain.senders import (
    PoolSender,
    SenderPolicy,
    SenderType,
    choose,
    policy_for,
    pool_countries,
    pool_sender_value,
)

US = SenderPolicy(alphanumeric="not_supported", numeric_required=True)
DE = SenderPolicy(alphanumeric="allowed", numeric_required=False)
IN = SenderPolicy(alphanumeric="registration_required")
UNKNOWN = SenderPolicy()

LONG_US = PoolSender("s1", SenderType.LONG_CODE, "+14155550100", frozenset({"US", "CA"}))
SHORT_US = PoolSender("s2", SenderType.SHORT_CODE, "12345", frozenset({"US"}))
ALPHA_ANY = PoolSender("s3", SenderType.ALPHANUMERIC, "ACME")
ALPHA_IN = PoolSender("s4", SenderType.ALPHANUMERIC, "ACMEIN", frozenset({"IN"}))


def _choose(requested: str | None, country: str, policy: SenderPolicy, pool: list[PoolSender]):  # type: ignore[no-untyped-def]
    return choose(
        parse_sender(requested) if requested else None, country=country, policy=policy, pool=pool
    )


@pytest.mark.parametrize(
    ("requested", "country", "policy", "pool", "sender", "adapted"),
    [
        # an alphanumeric sender to the US: the pool's US number, with the reason
        ("ACME", "US", US, [ALPHA_ANY, SHORT_US, LONG_US], "+14155550100", True),
        # registered numbers before short codes
        ("ACME", "US", US, [SHORT_US], "12345", True),
        # to Germany: kept
        ("ACME", "DE", DE, [LONG_US], "ACME", False),
        # unknown rules never refuse
        ("ACME", "ZZ", UNKNOWN, [], "ACME", False),
        # a number is kept wherever it goes
        ("+14155550100", "US", US, [], "+14155550100", False),
        # a registered alphanumeric id (in the pool for that country) is kept
        ("ACMEIN", "IN", IN, [ALPHA_IN, LONG_US], "ACMEIN", False),
        # an unregistered one gives way to the registered one
        ("OTHER", "IN", IN, [ALPHA_IN, LONG_US], "ACMEIN", True),
        # an account without a pool registers with its provider: kept
        ("OTHER", "IN", IN, [], "OTHER", False),
        # nothing requested: the pool's best for the destination
        (None, "DE", DE, [LONG_US, ALPHA_ANY], "ACME", False),
        (None, "US", US, [ALPHA_ANY, LONG_US], "+14155550100", False),
        (None, "FR", UNKNOWN, [], None, False),
    ],
)
def test_choices(
    requested: str | None,
    country: str,
    policy: SenderPolicy,
    pool: list[PoolSender],
    sender: str | None,
    adapted: bool,
) -> None:
    choice = _choose(requested, country, policy, pool)
    assert choice.sender == sender
    assert (choice.reason is not None) is adapted


def test_nothing_allowed_is_sender_not_allowed() -> None:
    with pytest.raises(SmsError) as refused:
        _choose("ACME", "US", US, [ALPHA_ANY, ALPHA_IN])
    assert refused.value.code is ErrorCode.SENDER_NOT_ALLOWED
    assert refused.value.field == "from"
    assert "US requires a numeric sender" in refused.value.detail
    with pytest.raises(SmsError):  # a US number is not usable in Germany's place either
        _choose("ACME", "DE", SenderPolicy(numeric_required=True), [LONG_US])


def test_the_shipped_rules_give_the_policies() -> None:
    rules = load_shipped()
    us, de = policy_for(rules.get("US")), policy_for(rules.get("DE"))
    assert us.alphanumeric == "not_supported" and us.numeric_required
    assert de.alphanumeric == "allowed" and not de.numeric_required
    assert policy_for(None) == SenderPolicy()
    assert _choose("ACME", "US", us, [LONG_US]).sender == "+14155550100"
    assert _choose("ACME", "DE", de, [LONG_US]).sender == "ACME"


def test_pool_values_are_checked_by_type() -> None:
    assert pool_sender_value(SenderType.LONG_CODE, "14155550100") == "+14155550100"
    assert pool_sender_value(SenderType.SHORT_CODE, "12345") == "12345"
    assert pool_sender_value(SenderType.ALPHANUMERIC, " ACME ") == "ACME"
    for kind, value in [
        (SenderType.ALPHANUMERIC, "12345"),
        (SenderType.SHORT_CODE, "ACME"),
        (SenderType.LONG_CODE, "ACME"),
        (SenderType.ALPHANUMERIC, "MUCH TOO LONG NAME"),
    ]:
        with pytest.raises(SmsError) as refused:
            pool_sender_value(kind, value)
        assert refused.value.field == "value"
    assert pool_countries(["us", " ca", ""]) == {"US", "CA"}
    with pytest.raises(SmsError, match="XX"):
        pool_countries(["XX"])
