"""Sender adaptation: the requested sender when the destination allows it, else the pool's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.countries import load_shipped
from smsrelay.domain.countries.model import parse_value
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.numbers import SenderKind, parse_sender
from smsrelay.domain.senders import (
    NumberRegistration,
    PoolSender,
    RegistrationType,
    SenderPolicy,
    SenderType,
    choose,
    policy_for,
    pool_countries,
    pool_registration,
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
    assert us.sender_types == ("10dlc", "toll_free", "short_code")
    assert de.alphanumeric == "allowed" and not de.numeric_required and not de.sender_types
    assert policy_for(rules.get("IN")).sender_types == ()  # India's DLT names fields, no types
    assert policy_for(None) == SenderPolicy()
    assert _choose("ACME", "US", us, [TEN_DLC]).sender == "+14155550101"
    assert _choose("ACME", "DE", de, [LONG_US]).sender == "ACME"


# -- US A2P: numbers of a pool go to the US only when registered as the rules' sender types --

A2P = policy_for(load_shipped().get("US"))
TEN_DLC = PoolSender(
    "r1",
    SenderType.LONG_CODE,
    "+14155550101",
    frozenset({"US"}),
    NumberRegistration(RegistrationType.TEN_DLC, "C1A2B3C"),
)
TOLL_FREE = PoolSender(
    "r2",
    SenderType.TOLL_FREE,
    "+18885550100",
    registration=NumberRegistration(RegistrationType.TOLL_FREE, "TFV-0001"),
)
TOLL_FREE_UNVERIFIED = PoolSender("r3", SenderType.TOLL_FREE, "+18885550111")
TEN_DLC_CA = PoolSender(
    "r4",
    SenderType.LONG_CODE,
    "+14165550100",
    frozenset({"CA"}),
    NumberRegistration(RegistrationType.TEN_DLC, "C9Z8Y7X"),
)
# a registration that does not fit its sender (the pool refuses it; choose() ignores it too)
MISFIT = PoolSender(
    "r5",
    SenderType.TOLL_FREE,
    "+18885550122",
    registration=NumberRegistration(RegistrationType.TEN_DLC, "C1A2B3C"),
)
DE_POLICY = policy_for(load_shipped().get("DE"))
A2P_REASON = (
    "US takes A2P messages only from registered 10DLC numbers, verified toll-free numbers or "
    "short codes"
)


@pytest.mark.parametrize(
    ("requested", "country", "policy", "pool", "sender", "reason"),
    [
        # an alphanumeric id to the US: the registered long code, not the unregistered one
        ("ACME", "US", A2P, [LONG_US, TEN_DLC], "+14155550101", "US requires a numeric sender"),
        # an unregistered long code of the pool: the verified toll-free number
        ("+14155550100", "US", A2P, [LONG_US, TOLL_FREE, SHORT_US], "+18885550100", A2P_REASON),
        # a number the pool does not hold: the same
        ("+14155559999", "US", A2P, [TOLL_FREE], "+18885550100", A2P_REASON),
        # only a short code is registered (provisioned) for the US: the short code
        (
            "+14155550100",
            "US",
            A2P,
            [LONG_US, TOLL_FREE_UNVERIFIED, SHORT_US, TEN_DLC_CA],
            "12345",
            A2P_REASON,
        ),
        (
            "ACME",
            "US",
            A2P,
            [ALPHA_ANY, LONG_US, SHORT_US, TEN_DLC_CA],
            "12345",
            "US requires a numeric sender",
        ),
        # a pool that records no number's registration registers with its provider: its
        # numbers are kept, as without a pool
        ("ACME", "US", A2P, [LONG_US, SHORT_US], "+14155550100", "US requires a numeric sender"),
        ("+14155550100", "US", A2P, [LONG_US, TOLL_FREE_UNVERIFIED], "+14155550100", None),
        # registered numbers before short codes
        ("ACME", "US", A2P, [SHORT_US, TOLL_FREE], "+18885550100", "US requires a numeric sender"),
        # registered pool senders are kept
        ("+14155550101", "US", A2P, [LONG_US, TEN_DLC], "+14155550101", None),
        ("+18885550100", "US", A2P, [TOLL_FREE, TEN_DLC], "+18885550100", None),
        ("12345", "US", A2P, [SHORT_US, TEN_DLC], "12345", None),
        # a short code the pool does not hold is not provisioned for the account
        ("54321", "US", A2P, [SHORT_US, TEN_DLC_CA], "12345", A2P_REASON),
        # a 10DLC number listed for Canada only is not used for the US
        ("+14165550100", "US", A2P, [TEN_DLC_CA, TOLL_FREE], "+18885550100", A2P_REASON),
        # a registration that does not fit its sender registers nothing
        ("+18885550122", "US", A2P, [MISFIT, SHORT_US], "12345", A2P_REASON),
        # nothing requested: the best registered sender, or none (the connector's default)
        (None, "US", A2P, [LONG_US, SHORT_US, TEN_DLC], "+14155550101", None),
        (None, "US", A2P, [LONG_US, TOLL_FREE_UNVERIFIED, TEN_DLC_CA], None, None),
        # an account without a pool registers with its provider: its numbers are kept
        ("+14155550100", "US", A2P, [], "+14155550100", None),
        ("12345", "US", A2P, [], "12345", None),
        # Germany names no sender types: numbers are kept, registered or not
        ("+14155550100", "DE", DE_POLICY, [LONG_US, TEN_DLC], "+14155550100", None),
        ("ACME", "DE", DE_POLICY, [LONG_US, TEN_DLC], "ACME", None),
        (None, "DE", DE_POLICY, [SHORT_US, TOLL_FREE_UNVERIFIED], "+18885550111", None),
    ],
)
def test_us_a2p_takes_registered_numbers(
    requested: str | None,
    country: str,
    policy: SenderPolicy,
    pool: list[PoolSender],
    sender: str | None,
    reason: str | None,
) -> None:
    choice = _choose(requested, country, policy, pool)
    assert (choice.sender, choice.reason) == (sender, reason)


@pytest.mark.parametrize(
    ("requested", "pool"),
    [
        ("ACME", [LONG_US, TOLL_FREE_UNVERIFIED, ALPHA_ANY, TEN_DLC_CA]),
        ("+14155550100", [LONG_US, MISFIT]),
        ("+14155550100", [TEN_DLC_CA]),
    ],
)
def test_nothing_registered_is_sender_not_allowed(requested: str, pool: list[PoolSender]) -> None:
    with pytest.raises(SmsError) as refused:
        _choose(requested, "US", A2P, pool)
    assert refused.value.code is ErrorCode.SENDER_NOT_ALLOWED
    assert refused.value.field == "from"
    assert refused.value.detail.endswith(
        "the account's sender pool has no sender allowed there: add a long code registered "
        "with its 10DLC campaign id, a toll-free number with its verification id or a short code"
    )


def test_an_account_without_a_pool_is_refused_only_for_an_alphanumeric_id() -> None:
    with pytest.raises(SmsError) as refused:  # the alphanumeric rule is as it was
        _choose("ACME", "US", A2P, [])
    assert "US requires a numeric sender" in refused.value.detail


def test_registrations_are_checked_against_the_sender() -> None:
    assert pool_registration(SenderType.LONG_CODE, "10dlc", " C1A2B3C ") == NumberRegistration(
        RegistrationType.TEN_DLC, "C1A2B3C"
    )
    assert pool_registration(SenderType.TOLL_FREE, "TOLL_FREE", "x" * 64).id == "x" * 64
    for sender, kind, ident, field, words in [
        (SenderType.TOLL_FREE, "10dlc", "C1", "registration.type", "belongs to a long code"),
        (SenderType.LONG_CODE, "toll_free", "V1", "registration.type", "a toll-free number, not"),
        (SenderType.LONG_CODE, "tcr", "C1", "registration.type", "known: 10dlc, toll_free"),
        (SenderType.SHORT_CODE, "10dlc", "C1", "registration", "provisioned"),
        (SenderType.ALPHANUMERIC, "10dlc", "C1", "registration", "takes no registration"),
        (SenderType.LONG_CODE, "10dlc", "", "registration.id", "1 to 64 printable"),
        (SenderType.LONG_CODE, "10dlc", "x" * 65, "registration.id", "1 to 64 printable"),
        (SenderType.LONG_CODE, "10dlc", "C1\x00", "registration.id", "1 to 64 printable"),
    ]:
        with pytest.raises(SmsError) as refused:
            pool_registration(sender, kind, ident)
        assert refused.value.code is ErrorCode.VALIDATION_ERROR
        assert refused.value.field == field
        assert words in refused.value.detail


def test_a_scheme_names_only_sender_types_adaptation_knows() -> None:
    value = parse_value("template_registration", {"scheme": "x", "sender_types": ["toll_free"]})
    assert value.sender_types == ("toll_free",)
    with pytest.raises(ValueError, match=r"template_registration\.sender_types"):
        parse_value("template_registration", {"scheme": "x", "sender_types": ["tollfree"]})


# -- whatever the pool, the sender chosen is one the destination takes --

_VALUES = {
    SenderType.ALPHANUMERIC: ["ACME", "SHOP"],
    SenderType.LONG_CODE: ["+14155550100", "+14155550101", "+4915112345678"],
    SenderType.TOLL_FREE: ["+18885550100", "+18885550111"],
    SenderType.SHORT_CODE: ["12345", "67890"],
}
_COUNTRIES = ["US", "DE", "IN", "TR", "BR", "FR"]
_SHIPPED = load_shipped()


@st.composite
def _pool_sender(draw: st.DrawFn) -> PoolSender:
    kind = draw(st.sampled_from(list(SenderType)))
    registration = draw(
        st.none()
        | st.builds(NumberRegistration, st.sampled_from(list(RegistrationType)), st.just("C1"))
    )
    return PoolSender(
        draw(st.text("abcdef", min_size=1, max_size=4)),
        kind,
        draw(st.sampled_from(_VALUES[kind])),
        draw(st.frozensets(st.sampled_from(_COUNTRIES), max_size=2)),
        registration,
    )


_POLICIES = st.sampled_from([policy_for(_SHIPPED.get(c)) for c in _COUNTRIES]) | st.builds(
    SenderPolicy,
    st.sampled_from([None, "allowed", "registration_required", "not_supported"]),
    st.sampled_from([None, False, True]),
    st.lists(st.sampled_from(["10dlc", "toll_free", "short_code"]), unique=True).map(tuple),
)
_REQUESTED = st.none() | st.sampled_from(
    [v for values in _VALUES.values() for v in values] + ["OTHER", "+14155559999", "54321"]
)


def _taken(sender: str, country: str, policy: SenderPolicy, pool: list[PoolSender]) -> bool:
    """The destination's rules, written out again: does ``country`` take ``sender``?"""
    entries = [s for s in pool if s.value == sender and s.usable_in(country)]
    if parse_sender(sender).kind is SenderKind.ALPHANUMERIC:
        if policy.numeric_required or policy.alphanumeric == "not_supported":
            return False
        if policy.alphanumeric == "registration_required" and pool:
            return any(s.type is SenderType.ALPHANUMERIC and s.countries for s in entries)
        return True
    if not policy.sender_types or not any(s.registration is not None for s in pool):
        return True  # no scheme, or the account registers its numbers with its provider
    registered = {
        "10dlc": (SenderType.LONG_CODE, RegistrationType.TEN_DLC),
        "toll_free": (SenderType.TOLL_FREE, RegistrationType.TOLL_FREE),
    }
    for s in entries:
        if s.type is SenderType.SHORT_CODE and "short_code" in policy.sender_types:
            return True
        if s.registration is not None and any(
            registered.get(name) == (s.type, s.registration.type) for name in policy.sender_types
        ):
            return True
    return False


@given(
    requested=_REQUESTED,
    country=st.sampled_from(_COUNTRIES),
    policy=_POLICIES,
    pool=st.lists(_pool_sender(), max_size=6, unique_by=lambda s: s.value),
)
def test_the_sender_chosen_is_always_taken_or_refused(
    requested: str | None, country: str, policy: SenderPolicy, pool: list[PoolSender]
) -> None:
    try:
        choice = _choose(requested, country, policy, pool)
    except SmsError as refused:
        assert refused.code is ErrorCode.SENDER_NOT_ALLOWED
        assert requested is not None and not _taken(requested, country, policy, pool)
        return
    if choice.sender is None:  # nothing asked for, nothing fits: the connector's default
        assert requested is None
        return
    assert _taken(choice.sender, country, policy, pool)
    if choice.sender != requested:
        assert choice.sender in {s.value for s in pool}
        assert requested is None or choice.reason is not None
    else:
        assert choice.reason is None


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
