"""Prices: exact money, price lists per country and prefix, and the lookup of one price.

Money is ``Decimal`` at the edges (CSV, JSON, the command line) and whole micro-units
(millionths of the currency unit, ``int``) everywhere else: SQLite has no decimal type, and
integers add, compare and sum exactly on both databases. A price with more than six decimals is
refused rather than rounded.

A price list belongs to an account (what it pays: the sell price) or to a connector (what the
carrier charges us: the cost), has one currency, and prices one segment. The price of a message
is its segments times the price of the row that matches its destination: the longest matching
``prefix`` (digits of the E.164 number), else the row of its ``country`` (ISO 3166 alpha-2)
without a prefix, else the ``default`` row; no row, no price. Pure: nothing here stores or
reads anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import phonenumbers

MICROS = 1_000_000
DEFAULT = "default"  # the country of the row that prices every other destination
MAX_PRICE = Decimal(1_000_000)  # per segment: anything above is a typo, not a price
COLUMNS = ("country", "prefix", "price", "currency")


class PriceError(ValueError):
    """A price list or amount that cannot be used; ``problems`` are (line, message) pairs
    (line 0 when it is not about one line)."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = list(problems)
        super().__init__(
            "; ".join(f"line {n}: {m}" if n else m for n, m in self.problems) or "invalid"
        )


def to_micros(value: Decimal | str | int, *, what: str = "amount") -> int:
    """The exact micro-units of ``value``; ``ValueError`` when it is not a finite number
    with at most six decimals (never rounded: 0.0000001 is refused, not made 0)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{what} {value!r} is not a number")
    micros = amount * MICROS
    if micros != micros.to_integral_value():
        raise ValueError(f"{what} {value!r} has more than six decimals")
    return int(micros)


def to_decimal(micros: int) -> Decimal:
    """``micros`` as a Decimal with at least two decimals (``70000`` → ``0.07``)."""
    value = (Decimal(micros) / MICROS).normalize()
    if value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return value


def money(micros: int) -> str:
    """The public decimal string of ``micros``: ``"0.07"``, ``"1.00"``, ``"0.0035"``."""
    return f"{to_decimal(micros):f}"


def currency_code(raw: str) -> str:
    """An ISO 4217-shaped code (three letters, upper-cased); ``ValueError`` otherwise."""
    code = raw.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"currency {raw!r} is not a three-letter code")
    return code


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One line of a price list: ``country`` is ISO alpha-2 or ``default``; ``prefix`` is
    digits of the E.164 number without ``+`` (empty: the whole country)."""

    country: str
    prefix: str
    price_micros: int
    currency: str


@dataclass(frozen=True, slots=True)
class Price:
    """The row that prices a destination, per segment."""

    price_micros: int
    currency: str
    country: str
    prefix: str

    def of(self, segments: int) -> int:
        """The price of a message of ``segments`` segments, in micro-units."""
        return self.price_micros * segments


class PriceList:
    """One owner's rows, indexed for the lookup (see the module docstring for the order)."""

    def __init__(self, rows: Iterable[PriceRow]) -> None:
        self.rows = tuple(rows)
        currencies = {r.currency for r in self.rows}
        if len(currencies) > 1:
            raise PriceError([(0, f"one currency per price list, not {sorted(currencies)}")])
        self.currency = currencies.pop() if currencies else None
        self._prefixes = {r.prefix: r for r in self.rows if r.prefix}
        self._countries = {r.country: r for r in self.rows if not r.prefix}
        self._longest = max((len(p) for p in self._prefixes), default=0)

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, to: str, country: str | None) -> Price | None:
        """The price per segment for ``to`` (E.164, with or without ``+``), or None."""
        if self._prefixes:
            digits = to.lstrip("+")
            for n in range(min(len(digits), self._longest), 0, -1):
                row = self._prefixes.get(digits[:n])
                if row is not None:
                    return Price(row.price_micros, row.currency, row.country, row.prefix)
        row = self._countries.get(country or "") or self._countries.get(DEFAULT)
        if row is None:
            return None
        return Price(row.price_micros, row.currency, row.country, row.prefix)


def parse_row(country: str, prefix: str, price: str | Decimal | int, currency: str) -> PriceRow:
    """One row from its four fields; ``ValueError`` naming what is wrong."""
    region = (country or "").strip()
    region = DEFAULT if region.lower() == DEFAULT else region.upper()
    if region != DEFAULT and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"country {country!r} is not an ISO 3166 country code (or 'default')")
    digits = (prefix or "").strip().removeprefix("+")
    if digits and (not digits.isascii() or not digits.isdigit() or len(digits) > 15):
        raise ValueError(f"prefix {prefix!r} is not up to 15 digits")
    if digits and region == DEFAULT:
        raise ValueError("a prefix row names its country")
    micros = to_micros(price, what="price")
    if micros < 0 or micros > MAX_PRICE * MICROS:
        raise ValueError(f"price {price!r} is not between 0 and {MAX_PRICE}")
    return PriceRow(region, digits, micros, currency_code(currency))


def parse_rows(
    items: Sequence[tuple[str, str, str | Decimal | int, str]],
    lines: Sequence[int] | None = None,
) -> list[PriceRow]:
    """Rows from (country, prefix, price, currency) tuples, numbered ``lines`` (default from
    1); every problem is reported at once (``PriceError``): a bad field, a repeated
    country/prefix, a second currency."""
    rows: list[PriceRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    currency: tuple[str, int] | None = None
    numbers = lines if lines is not None else range(1, len(items) + 1)
    for n, (country, prefix, price, code) in zip(numbers, items, strict=True):
        try:
            row = parse_row(country, prefix, price, code)
        except ValueError as error:
            problems.append((n, str(error)))
            continue
        key = (row.country, row.prefix) if not row.prefix else ("", row.prefix)
        if key in seen:
            problems.append((n, f"repeats line {seen[key]}"))
            continue
        seen[key] = n
        if currency is None:
            currency = (row.currency, n)
        elif row.currency != currency[0]:
            problems.append(
                (n, f"currency {row.currency} differs from {currency[0]} (line {currency[1]})")
            )
            continue
        rows.append(row)
    if problems:
        raise PriceError(problems)
    return rows


def parse_csv(text: str) -> list[PriceRow]:
    """A CSV price list: a header row with ``country,prefix,price,currency`` (any order,
    other columns ignored), then one row per price. Line numbers in errors are the file's."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise PriceError([(1, "the file is empty (a header row country,prefix,price,currency)")])
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise PriceError([(1, f"the header lacks {', '.join(missing)}")])
    at = [names.index(c) for c in COLUMNS]
    items: list[tuple[str, str, str | Decimal | int, str]] = []
    lines: list[int] = []
    problems: list[tuple[int, str]] = []
    for record in reader:
        line = reader.line_num
        if not any(field.strip() for field in record):
            continue
        if len(record) < len(names):
            problems.append((line, f"{len(record)} fields, the header has {len(names)}"))
            continue
        items.append((record[at[0]], record[at[1]], record[at[2]], record[at[3]]))
        lines.append(line)
    try:
        rows = parse_rows(items, lines)
    except PriceError as error:
        problems += error.problems
    if problems:
        raise PriceError(sorted(problems))
    return rows
