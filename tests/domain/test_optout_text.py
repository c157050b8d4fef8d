"""Opt-out texts: what an account may name, and what a marketing text gets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.countries import load_shipped
from smsrelay.domain.optout_text import MAX_TEXT, parse_opt_out_texts, with_opt_out

TEXTS = {"FR": "STOP au 36111", "default": "Reply STOP to opt out"}


def test_the_country_text_before_the_default() -> None:
    assert with_opt_out("Soldes -50%", "FR", TEXTS) == (
        "Soldes -50%\nSTOP au 36111",
        "STOP au 36111",
    )
    assert with_opt_out("Sale today ", "AU", TEXTS) == (
        "Sale today\nReply STOP to opt out",
        "Reply STOP to opt out",
    )
    assert with_opt_out("Sale", "AU", {"FR": "STOP au 36111"}) == ("Sale", None)
    assert with_opt_out("Sale", None, {}) == ("Sale", None)


def test_a_text_that_carries_it_is_left_alone() -> None:
    text = "Soldes! stop AU 36111 pour ne plus recevoir"
    assert with_opt_out(text, "FR", TEXTS) == (text, None)


def test_what_an_account_may_name() -> None:
    assert parse_opt_out_texts({"fr": " STOP au 36111 ", "default": "x"}) == {
        "FR": "STOP au 36111",
        "default": "x",
    }
    for bad, why in (
        ([], "must be an object"),
        ({"FRA": "x"}, "opt_out_texts.FRA: keys are ISO"),
        ({"FR": ""}, "non-empty"),
        ({"FR": 5}, "non-empty"),
        ({"FR": "a\nb"}, "printable"),
        ({"FR": "x" * (MAX_TEXT + 1)}, f"at most {MAX_TEXT}"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_opt_out_texts(bad)


def test_which_countries_require_it() -> None:
    rules = load_shipped()
    assert rules.requires_opt_out("FR") and rules.requires_opt_out("AE")
    assert not rules.requires_opt_out("DE") and not rules.requires_opt_out(None)


@given(st.text(min_size=1, max_size=300), st.sampled_from(["FR", "AU", None]))
def test_the_result_always_carries_the_text_that_applies(text: str, country: str | None) -> None:
    sent, added = with_opt_out(text, country, TEXTS)
    wanted = TEXTS.get(country or "", TEXTS["default"])
    assert wanted.casefold() in sent.casefold()
    assert (added is None) == (sent == text)
