"""Price lists: the lookup order, exact money, and the CSV format's errors with line numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain.pricing import (
    PriceError,
    PriceList,
    money,
    parse_csv,
    parse_rows,
    to_decimal,
    to_micros,
)

CSV = """country,prefix,price,currency
DE,,0.07,EUR
DE,4917,0.09,EUR
DE,49176,0.11,EUR
default,,0.20,EUR
"""


def test_longest_prefix_beats_country_beats_default() -> None:
    prices = PriceList(parse_csv(CSV))
    assert prices.currency == "EUR"
    found = prices.lookup("+4917612345678", "DE")
    assert found is not None and (found.prefix, money(found.price_micros)) == ("49176", "0.11")
    found = prices.lookup("+4917112345678", "DE")
    assert found is not None and (found.prefix, money(found.price_micros)) == ("4917", "0.09")
    found = prices.lookup("+4930123456", "DE")
    assert found is not None and (found.prefix, money(found.price_micros)) == ("", "0.07")
    found = prices.lookup("+14155552671", "US")
    assert found is not None and (found.country, money(found.price_micros)) == ("default", "0.20")
    no_default = PriceList(parse_csv(CSV.replace("default,,0.20,EUR\n", "")))
    assert no_default.lookup("+14155552671", "US") is None


def test_the_message_price_is_segments_times_the_price_exactly() -> None:
    [row] = parse_rows([("FR", "", "0.000001", "eur")])
    price = PriceList([row]).lookup("+33612345678", "FR")
    assert price is not None and price.currency == "EUR"
    assert price.of(3) == 3 and money(price.of(3)) == "0.000003"
    assert money(to_micros("0.07") * 14) == "0.98"  # 0.07 * 14 as floats is 0.9800000000000001


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("country,prefix,price,currency\nDE,,abc,EUR\n", "line 2: price 'abc' is not a number"),
        ("country,prefix,price,currency\nDE,,0.07,EUR\nXX,,0.1,EUR\n", "line 3: country 'XX'"),
        (
            "country,prefix,price,currency\nDE,,0.07,EUR\n\nFR,,0.08,USD\n",
            "line 4: currency USD differs from EUR (line 2)",
        ),
        ("country,prefix,price,currency\nDE,,0.0000001,EUR\n", "more than six decimals"),
        ("country,prefix,price,currency\nDE,,-1,EUR\n", "line 2: price '-1' is not between"),
        ("country,prefix,price,currency\nDE,49x,1,EUR\n", "line 2: prefix '49x'"),
        ("country,prefix,price,currency\nDE,,1,EUR\nde,,2,EUR\n", "line 3: repeats line 2"),
        ("country,price,currency\nDE,1,EUR\n", "line 1: the header lacks prefix"),
        ("", "line 1: the file is empty"),
    ],
)
def test_csv_errors_name_their_line(text: str, problem: str) -> None:
    with pytest.raises(PriceError) as caught:
        parse_csv(text)
    assert problem in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(PriceError) as caught:
        parse_csv("country,prefix,price,currency\nZZ,,1,EUR\nDE,,x,EUR\nFR,,1,EUR\n")
    assert [line for line, _ in caught.value.problems] == [2, 3]


@given(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False))
def test_micros_round_trip_exactly(value: Decimal) -> None:
    micros = to_micros(value)
    assert to_decimal(micros) == value
    assert Decimal(money(micros)) == value


@given(
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6, unique=True),
    st.integers(min_value=1, max_value=10**6),
)
def test_a_longer_matching_prefix_always_wins(lengths: list[int], price: int) -> None:
    number = "491761234567890"
    rows = [("DE", number[:n], str(Decimal(price + n) / 100), "EUR") for n in lengths]
    found = PriceList(parse_rows([*rows, ("DE", "", "5", "EUR")])).lookup("+" + number, "DE")
    assert found is not None and found.prefix == number[: max(lengths)]
