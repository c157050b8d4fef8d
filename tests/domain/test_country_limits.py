"""The destination's segment and UCS-2 bounds (``countries/limits.py``) and how the encoding
choice applies them: the shipped rules of Thailand, Korea and Germany, and a made-up country
without UCS-2."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.countries import Country, Reading, Rule, load_shipped
from smsrelay.domain.countries.limits import NO_LIMITS, TextLimits, text_limits
from smsrelay.domain.encoding_choice import EncodingMode, choose
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Encoding

RULES = load_shipped()
SOURCE = "https://example.org/rules"


def _country(**values: object) -> Country:
    rules = {name: Rule(value, SOURCE, date(2026, 12, 4)) for name, value in values.items()}
    return Country("XX", "Nowhere", 999, rules)


def test_shipped_bounds() -> None:
    th = RULES.text_limits("TH")
    assert th.max_segments == 3 and th.ucs2
    assert th.segments_reason is not None and "TH delivers at most 3 segments" in th.segments_reason
    assert "https://" in th.segments_reason and "read on 2026-12-04" in th.segments_reason
    kr = RULES.text_limits("KR")
    assert kr.max_segments == 1 and "does not join" in (kr.segments_reason or "")
    assert RULES.text_limits("DE") is NO_LIMITS
    assert RULES.text_limits(None) is NO_LIMITS
    assert RULES.text_limits("TH") is th  # worked out once


def test_sources_that_disagree_refuse_nothing_until_the_operator_decides() -> None:
    # Russia's concatenation: one source says no, another yes
    ru = RULES.get("RU")
    assert ru is not None and ru.rule("concatenation").value is False
    assert RULES.text_limits("RU") is NO_LIMITS
    decided = RULES.overridden({"RU": {"concatenation": False}}, {}, today=date(2026, 12, 5))
    bound = decided.text_limits("RU")
    assert bound.max_segments == 1
    assert "operator override (configuration file)" in (bound.segments_reason or "")
    disputed = Country(
        "XX",
        "Nowhere",
        999,
        {
            "ucs2": Rule(
                False,
                SOURCE,
                date(2026, 12, 4),
                alternatives=(Reading(True, "https://example.org/other", date(2026, 12, 4)),),
            )
        },
    )
    assert text_limits(disputed) is NO_LIMITS


def test_the_tighter_rule_wins_and_unknown_bounds_nothing() -> None:
    both = text_limits(_country(concatenation=False, max_segments=4))
    assert both.max_segments == 1
    assert text_limits(_country(concatenation=True, max_segments=4)).max_segments == 4
    assert text_limits(_country(concatenation=None, ucs2=None)) is NO_LIMITS
    no_ucs2 = text_limits(_country(ucs2=False))
    assert not no_ucs2.ucs2 and no_ucs2.max_segments is None
    assert no_ucs2.ucs2_reason == f"XX does not deliver UCS-2 texts ({SOURCE}, read on 2026-12-04)"


def test_a_message_beyond_the_destination_is_refused_with_the_rule() -> None:
    th = RULES.text_limits("TH")
    assert choose("x" * 459, limits=th).segments == 3
    with pytest.raises(SmsError) as refused:
        choose("x" * 460, limits=th)
    assert refused.value.code is ErrorCode.MESSAGE_TOO_LONG
    assert "the maximum is 3: TH delivers at most 3 segments" in refused.value.detail
    # the gateway's own maximum still applies when it is the lower one
    with pytest.raises(SmsError) as gateway:
        choose("x" * 460, limits=th, max_segments=2)
    assert gateway.value.detail.endswith("the maximum is 2")
    kr = RULES.text_limits("KR")
    assert choose("x" * 160, limits=kr).segments == 1
    with pytest.raises(SmsError):
        choose("x" * 161, limits=kr)


def test_no_ucs2_leaves_gsm7_and_transliteration() -> None:
    no_ucs2 = text_limits(_country(ucs2=False))
    assert choose("Olá, ação!", limits=no_ucs2, letters=True).encoding is Encoding.GSM7
    with pytest.raises(SmsError) as auto:
        choose("Olá, ação!", limits=no_ucs2)
    assert auto.value.code is ErrorCode.INVALID_ENCODING
    assert "XX does not deliver UCS-2" in auto.value.detail
    assert "transliterate" in auto.value.detail
    with pytest.raises(SmsError) as asked:
        choose("hello", mode=EncodingMode.UCS2, limits=no_ucs2)
    assert asked.value.code is ErrorCode.INVALID_ENCODING and asked.value.field == "encoding"
    assert choose("Привет", limits=NO_LIMITS).encoding is Encoding.UCS2


@given(
    text=st.text(alphabet=st.sampled_from("abc é€Жñ😀"), min_size=1, max_size=700),
    cap=st.integers(min_value=1, max_value=6),
    ucs2=st.booleans(),
)
def test_what_is_chosen_keeps_to_the_bounds(text: str, cap: int, ucs2: bool) -> None:
    limits = TextLimits(cap, "a rule", ucs2, None if ucs2 else "no UCS-2")
    try:
        info = choose(text, limits=limits, letters=True)
    except SmsError as error:
        assert error.code in (
            ErrorCode.MESSAGE_TOO_LONG,
            ErrorCode.INVALID_ENCODING,
            ErrorCode.EMPTY_MESSAGE,
        )
        return
    assert info.segments <= cap
    assert ucs2 or info.encoding is Encoding.GSM7
