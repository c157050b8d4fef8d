from __future__ import annotations

import re
from typing import Any

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.numbers import (
    PhoneNumber,
    Sender,
    SenderKind,
    parse_number,
    parse_sender,
)

E164 = re.compile(r"\+[1-9][0-9]{4,14}")


def _refusal(raw: str, **kwargs: Any) -> SmsError:
    with pytest.raises(SmsError) as info:
        parse_number(raw, **kwargs)
    assert info.value.code is ErrorCode.INVALID_NUMBER
    assert info.value.field == "to"
    return info.value


# --- accepted -----------------------------------------------------------------------------


def test_public_example_is_accepted_leniently() -> None:
    assert parse_number("+1234567890") == PhoneNumber("+1234567890", None, None)


def test_public_example_is_refused_strictly() -> None:
    assert "country" in _refusal("+1234567890", strict=True).detail


@pytest.mark.parametrize(
    ("raw", "kwargs", "e164", "country", "number_type"),
    [
        ("+4915112345678", {}, "+4915112345678", "DE", "mobile"),
        ("+49 151 1234 5678", {}, "+4915112345678", "DE", "mobile"),
        ("+49-151-1234-5678", {}, "+4915112345678", "DE", "mobile"),
        ("+49 (151) 1234.5678", {}, "+4915112345678", "DE", "mobile"),
        ("  +4915112345678 ", {}, "+4915112345678", "DE", "mobile"),
        ("0049 151 1234 5678", {}, "+4915112345678", "DE", "mobile"),
        ("0151 12345678", {"default_region": "DE"}, "+4915112345678", "DE", "mobile"),
        ("(415) 555-2671", {"default_region": "US"}, "+14155552671", "US", "fixed_line_or_mobile"),
        ("(415) 555-2671", {"default_region": "us"}, "+14155552671", "US", "fixed_line_or_mobile"),
        ("+1 (415) 555-2671", {"strict": True}, "+14155552671", "US", "fixed_line_or_mobile"),
        ("+44 20 7946 0958", {}, "+442079460958", "GB", "fixed_line"),
        ("+800 1234 5678", {}, "+80012345678", None, "toll_free"),
        ("+49 1234", {}, "+491234", "DE", None),
        # a national trunk prefix after the country code is dropped, as carriers expect
        ("+44 (0)20 7946 0958", {}, "+442079460958", "GB", "fixed_line"),
        ("+49 0151 12345678", {}, "+4915112345678", "DE", "mobile"),
    ],
)
def test_accepted(
    raw: str, kwargs: dict[str, Any], e164: str, country: str | None, number_type: str | None
) -> None:
    assert parse_number(raw, **kwargs) == PhoneNumber(e164, country, number_type)


# --- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kwargs", "why"),
    [
        ("", {}, "not a number"),
        ("   ", {}, "not a number"),
        ("hello", {}, "not a number"),
        ("+1-800-FLOWERS", {}, "not a number"),
        ("+49 151 1234 5678 ext. 12", {}, "not a number"),
        ("++4915112345678", {}, "not a number"),
        ("+49/151/12345678", {}, "not a number"),
        ("+()", {}, "not a number"),
        ("4915112345678", {}, "missing country code"),
        ("(415) 555-2671", {}, "missing country code"),
        ("+999 1234 5678", {}, "unknown country calling code"),
        ("+0 1234 5678", {}, "unknown country calling code"),
        ("+49 123", {}, "too short"),
        ("+49 1", {}, "too short"),
        ("+4912345678901234", {}, "too long"),
        ("+49 1234567890123456789012", {}, "too long"),
        ("+49 151 1234567", {"strict": True}, "not valid for its country (DE)"),
        ("+1 415 555 267", {"strict": True}, "too short for its country (+1)"),
    ],
)
def test_refused_with_reason(raw: str, kwargs: dict[str, Any], why: str) -> None:
    error = _refusal(raw, **kwargs)
    assert why in error.detail
    assert error.to_dict()["field"] == "to"


def test_long_input_is_quoted_short() -> None:
    error = _refusal("x" * 10_000)
    assert len(error.detail) < 100


def test_unknown_default_region_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="region"):
        parse_number("030 1234567", default_region="XX")


# --- properties ---------------------------------------------------------------------------

_REGIONS = sorted(["DE", "US", "GB", "FR", "IN", "BR", "JP", "NG", "AU", "IT", "CH", "ZA"])


@st.composite
def _formatted_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A real example number in E.164 and the same digits with separators sprinkled in."""
    region = draw(st.sampled_from(_REGIONS))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    out = ["+"]
    for digit in e164[1:]:
        out.append(draw(st.sampled_from(["", "", " ", "-", "."])))
        out.append(digit)
    return e164, "".join(out)


@given(_formatted_numbers())
@settings(max_examples=150, deadline=None)
def test_separators_do_not_change_the_number(case: tuple[str, str]) -> None:
    e164, raw = case
    parsed = parse_number(raw, strict=True)
    assert parsed.e164 == e164
    assert parsed.country is not None
    assert parsed.number_type is not None


@given(st.text(max_size=30) | st.from_regex(r"\+?[0-9 ().\-]{0,25}", fullmatch=True))
@settings(max_examples=300, deadline=None)
def test_any_input_gives_e164_or_invalid_number(raw: str) -> None:
    for strict in (False, True):
        try:
            parsed = parse_number(raw, strict=strict)
        except SmsError as exc:
            assert exc.code is ErrorCode.INVALID_NUMBER
            assert exc.field == "to"
            continue
        assert E164.fullmatch(parsed.e164)
        # normalising is idempotent, and strict acceptance implies lenient acceptance
        assert parse_number(parsed.e164) == parsed


@given(st.from_regex(r"\+[1-9][0-9]{3,16}", fullmatch=True))
@example("+67200000")  # Norfolk Island: a short national number gains its leading 3
@settings(max_examples=300, deadline=None)
def test_lenient_accepts_exactly_plausible_e164(raw: str) -> None:
    code_known = any(
        raw[1 : 1 + n].isdigit() and int(raw[1 : 1 + n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        for n in (1, 2, 3)
    )
    try:
        parsed = parse_number(raw)
    except SmsError:
        return
    assert code_known
    assert len(raw) - 1 <= 15
    # the digits are kept, except a national trunk prefix right after the country code, or
    # where the region's plan rewrites its national prefix (phonenumbers' transform rule)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(parsed.country or "")
    rewrites = metadata is not None and metadata.national_prefix_transform_rule is not None
    assert parsed.e164 == raw or len(parsed.e164) < len(raw) or rewrites
    assert parse_number(parsed.e164) == parsed


# --- senders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("MyShop", Sender("MyShop", SenderKind.ALPHANUMERIC)),
        (" My Shop ", Sender("My Shop", SenderKind.ALPHANUMERIC)),
        ("A", Sender("A", SenderKind.ALPHANUMERIC)),
        ("Shop-24/7", Sender("Shop-24/7", SenderKind.ALPHANUMERIC)),
        ("ABCDEFGHIJK", Sender("ABCDEFGHIJK", SenderKind.ALPHANUMERIC)),
        ("2FA", Sender("2FA", SenderKind.ALPHANUMERIC)),
        ("123", Sender("123", SenderKind.SHORT_CODE)),
        ("12345678", Sender("12345678", SenderKind.SHORT_CODE)),
        ("+4915112345678", Sender("+4915112345678", SenderKind.INTERNATIONAL)),
        ("+49 151 1234 5678", Sender("+4915112345678", SenderKind.INTERNATIONAL)),
        ("4915112345678", Sender("+4915112345678", SenderKind.INTERNATIONAL)),
        ("+1234567890", Sender("+1234567890", SenderKind.INTERNATIONAL)),
    ],
)
def test_sender_kinds(raw: str, expected: Sender) -> None:
    assert parse_sender(raw) == expected


def test_sender_kinds_are_the_documented_strings() -> None:
    assert {k.value for k in SenderKind} == {"alphanumeric", "short_code", "international"}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ABCDEFGHIJKL", "at most 11"),
        ("Café", "may only use"),
        ("Shop{1}", "may only use"),
        ("12", "too short"),
        ("1234-5678", "expected an alphanumeric"),
        ("+999 1234 5678", "unknown country calling code"),
        ("1234567890123456", "too long"),
    ],
)
def test_sender_refused(raw: str, why: str) -> None:
    with pytest.raises(SmsError) as info:
        parse_sender(raw)
    assert info.value.code is ErrorCode.INVALID_SENDER
    assert info.value.field == "from"
    assert why in info.value.detail


@given(st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_any_sender_is_classified_or_refused(raw: str) -> None:
    try:
        sender = parse_sender(raw)
    except SmsError as exc:
        assert exc.code is ErrorCode.INVALID_SENDER
        return
    if sender.kind is SenderKind.ALPHANUMERIC:
        assert 1 <= len(sender.value) <= 11
        assert any(c.isalpha() for c in sender.value)
    elif sender.kind is SenderKind.SHORT_CODE:
        assert sender.value.isdigit() and 3 <= len(sender.value) <= 8
    else:
        assert E164.fullmatch(sender.value)
