"""Marking marketing senders: the UAE's ``AD-`` prefix and Saudi Arabia's ``-AD`` suffix as
the shipped rules state them, ids that carry the mark already, numbers, and ids too long."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.countries import load_shipped
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.marketing_tags import mark, marketing_tag

RULES = load_shipped()
AE = marketing_tag(RULES.get("AE"))
SA = marketing_tag(RULES.get("SA"))


def test_the_shipped_rules_cite_their_sources() -> None:
    assert AE is not None and AE.value.prefix == "AD-" and AE.value.max_length == 11
    assert SA is not None and SA.value.suffix == "-AD"
    assert AE.source.startswith("https://") and AE.alternatives
    assert SA.alternatives and any(a.value.suffix == " AD" for a in SA.alternatives)
    assert marketing_tag(RULES.get("FR")) is None and marketing_tag(None) is None


def test_an_unmarked_id_is_marked_and_says_why() -> None:
    assert AE is not None and SA is not None
    ae = mark("ACME", AE, "AE")
    assert ae.sender == "AD-ACME" and ae.reason is not None
    assert ae.reason.startswith("AE requires marketing sender ids marked AD-…")
    assert AE.source in ae.reason
    assert mark("ACME", SA, "SA").sender == "ACME-AD"


def test_marked_ids_and_numbers_are_kept() -> None:
    assert AE is not None and SA is not None
    assert mark("AD-ACME", AE, "AE").reason is None
    assert mark("ad-Acme", AE, "AE").sender == "ad-Acme"
    assert mark("Acme-AD", SA, "SA").reason is None
    assert mark("+971501234567", AE, "AE").reason is None
    assert mark("12345", SA, "SA").sender == "12345"


def test_an_id_too_long_to_mark_is_refused() -> None:
    assert AE is not None
    assert mark("BRANDNAM", AE, "AE").sender == "AD-BRANDNAM"
    with pytest.raises(SmsError) as refused:
        mark("BRANDNAMES", AE, "AE")
    assert refused.value.code is ErrorCode.SENDER_NOT_ALLOWED
    assert refused.value.field == "from"
    assert "'AD-BRANDNAMES' has 13" in refused.value.detail


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True))
def test_what_is_sent_carries_the_mark_within_the_limit(sender: str) -> None:
    assert AE is not None
    try:
        marked = mark(sender, AE, "AE")
    except SmsError:
        assert len(sender) > 8
        return
    assert marked.sender.casefold().startswith("ad-") and len(marked.sender) <= 11
