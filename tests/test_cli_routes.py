"""``smsrelay routes test`` through the real command line, reading the configuration file:
which route and connectors, and what a national language changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smsrelay.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "smsrelay.toml"))
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    (tmp_path / "smsrelay.toml").write_text(
        """
[[connectors]]
name = "plain"
type = "smpp"
port = 2791

[[connectors]]
name = "turkish"
type = "smpp"
port = 2792
national_languages = ["tr"]

[[connectors]]
name = "provider"
type = "http"
provider = "infobip"
credentials = { api_key = "k" }

[[routes]]
name = "tr"
countries = ["TR"]
strategy = "least_cost"
connectors = ["plain", "turkish"]

[[routes]]
name = "default"
connectors = ["plain", "provider"]
"""
    )
    return CliRunner()


def test_a_national_language_puts_the_connectors_that_send_it_first(runner: CliRunner) -> None:
    plain = runner.invoke(app, ["routes", "test", "+905321234567"])
    assert plain.exit_code == 0, plain.output
    assert "attempt 1: plain" in plain.output and "attempt 2: turkish" in plain.output
    assert "national language" not in plain.output

    turkish = runner.invoke(app, ["routes", "test", "+905321234567", "--national-language", "tr"])
    assert turkish.exit_code == 0, turkish.output
    assert "national language tr: sent with its tables by turkish, first" in turkish.output
    assert "attempt 1: turkish" in turkish.output and "attempt 2: plain" in turkish.output


def test_a_route_without_the_language_says_what_happens(runner: CliRunner) -> None:
    shown = runner.invoke(app, ["routes", "test", "+14155552671", "--national-language", "tr"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())  # the console may wrap the long line
    assert "chosen: default" in text
    assert "no connector of this route sends its tables" in text
    assert "national_language_unsupported" in text
    assert "attempt 1: plain" in text and "attempt 2: provider" in text


def test_an_unknown_language_is_refused(runner: CliRunner) -> None:
    refused = runner.invoke(app, ["routes", "test", "+905321234567", "--national-language", "xx"])
    assert refused.exit_code == 1
    assert "use one of tr, es, pt" in " ".join(refused.output.split())
