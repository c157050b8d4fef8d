"""Opt-out keywords: case, accents and punctuation fold away; only the first word counts."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.optout import (
    DEFAULT_OPTIN,
    DEFAULT_OPTOUT,
    KeywordAction,
    first_word,
    match_keyword,
    normalise_keyword,
)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "  StOp  please",
        "ARRÊT",
        "arrêt",
        "Unsubscribe!",
        "stopall",
        "ＳＴＯＰ",
        "quit\nnow",
    ],
)
def test_opt_out_variants(text: str) -> None:
    found = match_keyword(text)
    assert found is not None and found.action is KeywordAction.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "Start!"])
def test_opt_in_variants(text: str) -> None:
    found = match_keyword(text)
    assert found is not None and found.action is KeywordAction.OPT_IN


@pytest.mark.parametrize(
    "text", ["", "   ", "please stop", "STOPPED", "stop-it", "hello", "!!!", "don't STOP"]
)
def test_not_a_keyword(text: str) -> None:
    assert match_keyword(text) is None


def test_configured_lists_are_normalised_too() -> None:
    found = match_keyword("halt now", optout=["Hält"], optin=[])
    assert found is not None and found.keyword == "HALT"
    assert match_keyword("STOP", optout=["halt"], optin=[]) is None


def test_a_word_on_both_lists_is_an_opt_out() -> None:
    found = match_keyword("stop", optout=["STOP"], optin=["stop"])
    assert found is not None and found.action is KeywordAction.OPT_OUT


def _variants(keyword: str) -> st.SearchStrategy[str]:
    """The keyword in random case, with random combining accents and punctuation around."""
    accents = st.sampled_from(["", "\u0301", "\u0300", "\u0302", "\u0308"])
    letters = [
        st.tuples(st.sampled_from([c.lower(), c.upper()]), accents).map("".join) for c in keyword
    ]
    word = st.tuples(*letters).map("".join)
    punct = st.sampled_from(["", ".", "!", "?", ",", "..."])
    tail = st.sampled_from(["", " please", "\nthanks", " 123"])
    return st.tuples(st.sampled_from(["", " ", "\t"]), word, punct, tail).map(
        lambda t: t[0] + unicodedata.normalize("NFC", t[1]) + t[2] + t[3]
    )


@given(st.sampled_from(DEFAULT_OPTOUT).flatmap(lambda k: st.tuples(st.just(k), _variants(k))))
def test_every_opt_out_keyword_matches_in_any_dress(case: tuple[str, str]) -> None:
    keyword, text = case
    found = match_keyword(text)
    assert found is not None
    assert found.action is KeywordAction.OPT_OUT and found.keyword == keyword


@given(st.sampled_from(DEFAULT_OPTIN).flatmap(_variants))
def test_every_opt_in_keyword_matches_in_any_dress(text: str) -> None:
    found = match_keyword(text)
    assert found is not None and found.action is KeywordAction.OPT_IN


@given(st.text())
def test_never_raises_and_matches_only_known_words(text: str) -> None:
    found = match_keyword(text)
    if found is not None:
        assert found.keyword in {normalise_keyword(k) for k in DEFAULT_OPTOUT + DEFAULT_OPTIN}
        assert normalise_keyword(first_word(text)) == found.keyword


@given(st.text())
def test_normalise_is_idempotent(word: str) -> None:
    once = normalise_keyword(word)
    assert normalise_keyword(once) == once
