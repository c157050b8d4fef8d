"""``smsrelay pricing import``, ``accounts credit`` and ``accounts usage`` through the real
command line against a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from smsrelay.cli import app
from smsrelay.cli_money import _usage
from smsrelay.domain.pricing import PriceList, parse_rows
from smsrelay.store.pricing import UsageRow


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    return CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_import_reports_every_bad_line_and_imports_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "country,prefix,price,currency\nDE,,0.07,EUR\nDE,4917,seven,EUR\nQQ,,0.1,EUR\n"
        "FR,,0.08,USD\n"
    )
    r = runner.invoke(app, ["pricing", "import", str(bad), "--account", "acme"])
    assert r.exit_code == 1
    out = _flat(r.output)
    assert f"{bad}:3: price 'seven' is not a number" in out
    assert f"{bad}:4: country 'QQ'" in out
    assert f"{bad}:5: currency USD differs from EUR (line 2)" in out
    assert "nothing imported" in out
    good = tmp_path / "good.csv"
    good.write_text("country,prefix,price,currency\nDE,,0.07,EUR\ndefault,,0.2,EUR\n")
    r = runner.invoke(app, ["pricing", "import", str(good), "--account", "acme"])
    assert r.exit_code == 0, r.output
    assert "2 price(s) in EUR for account acme" in r.output
    r = runner.invoke(app, ["pricing", "import", str(good), "--connector", "nowhere"])
    assert r.exit_code == 1 and "no connector named 'nowhere'" in _flat(r.output)
    r = runner.invoke(app, ["pricing", "import", str(good), "--connector", "simulator"])
    assert r.exit_code == 0, r.output


def test_credit_takes_the_price_lists_currency_and_keeps_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    r = runner.invoke(app, ["accounts", "credit", "acme", "--amount", "1.00"])
    assert r.exit_code == 1 and "--currency" in r.output  # no price list, no currency yet
    prices = tmp_path / "p.csv"
    prices.write_text("country,prefix,price,currency\nDE,,0.07,EUR\n")
    assert (
        runner.invoke(app, ["pricing", "import", str(prices), "--account", "acme"]).exit_code == 0
    )
    r = runner.invoke(app, ["accounts", "credit", "acme", "--amount", "1.00"])
    assert r.exit_code == 0 and "balance 1.00 EUR" in r.output, r.output
    r = runner.invoke(app, ["accounts", "credit", "acme", "--amount", "-0.25"])
    assert "balance 0.75 EUR" in r.output
    r = runner.invoke(app, ["accounts", "credit", "acme", "--amount", "1", "--currency", "USD"])
    assert r.exit_code == 1 and "in EUR, not USD" in _flat(r.output)
    r = runner.invoke(app, ["accounts", "credit", "acme", "--amount", "0.1234567"])
    assert r.exit_code == 1 and "more than six decimals" in _flat(r.output)
    prices.write_text("country,prefix,price,currency\nDE,,0.07,USD\n")
    r = runner.invoke(app, ["pricing", "import", str(prices), "--account", "acme"])
    assert r.exit_code == 1 and "balance is in EUR, not USD" in _flat(r.output)
    r = runner.invoke(app, ["accounts", "usage", "acme", "--json", "--since", "7d"])
    assert r.exit_code == 0 and orjson.loads(r.output) == []


def test_usage_sums_sell_cost_and_margin_per_country() -> None:
    cost = {"carrier": PriceList(parse_rows([("DE", "", "0.03", "EUR")]))}
    rows = [
        UsageRow("DE", "+4915112345678", 2, "carrier", 140000, "EUR", False),
        UsageRow("DE", "+4915112345679", 1, "carrier", 70000, "EUR", True),  # refunded
        UsageRow("FR", "+33612345678", 1, "other", 80000, "EUR", False),  # config price
        UsageRow("US", "+14155552671", 1, None, None, None, False),  # unpriced, never sent
    ]
    report = _usage(rows, cost, {"other": {"FR": 0.05}})
    assert report == [
        {
            "country": "DE",
            "messages": 2,
            "segments": 3,
            "sell": "0.14",
            "cost": "0.09",
            "margin": "0.05",
            "currency": "EUR",
        },
        {
            "country": "FR",
            "messages": 1,
            "segments": 1,
            "sell": "0.08",
            "cost": "0.05",
            "margin": "0.03",
            "currency": "EUR",
        },
        {
            "country": "US",
            "messages": 1,
            "segments": 1,
            "sell": "0.00",
            "cost": "0.00",
            "margin": None,
            "currency": None,
        },
    ]
