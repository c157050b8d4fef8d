"""``smsrelay senders add|list|remove`` through the real command line against a real SQLite
database: registrations of pool numbers included."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smsrelay.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "200")  # the list's table on one line per sender
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    return CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_senders_carry_their_registration(runner: CliRunner) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    add = ["senders", "add", "--account", "acme"]
    long_code = ["--type", "long_code", "--value", "+14155550100", "--countries", "US"]
    r = runner.invoke(app, [*add, *long_code, "--registration", "10dlc:C1A2B3C"])
    assert r.exit_code == 0, r.output
    assert "sender +14155550100 (long_code, US, 10dlc:C1A2B3C) added to acme" in _flat(r.output)
    r = runner.invoke(app, [*add, "--type", "toll_free", "--value", "+18885550100"])
    assert r.exit_code == 0, r.output  # the contract's form, without a registration
    r = runner.invoke(app, [*add, "--type", "short_code", "--value", "12345"])
    assert r.exit_code == 0, r.output

    for registration, type, value, words in [
        ("10dlc", "long_code", "+14155550101", "--registration: TYPE:ID"),
        ("10dlc:C1", "toll_free", "+18885550101", "a 10dlc registration belongs to a long code"),
        ("tcr:C1", "long_code", "+14155550101", "unknown registration type 'tcr'"),
        ("toll_free:", "toll_free", "+18885550101", "1 to 64 printable characters"),
        ("10dlc:C1", "short_code", "54321", "being provisioned registers it"),
    ]:
        r = runner.invoke(
            app, [*add, "--type", type, "--value", value, "--registration", registration]
        )
        assert r.exit_code != 0 and words in _flat(r.output), (registration, r.output)

    listed = runner.invoke(app, ["senders", "list", "--account", "acme"])
    assert listed.exit_code == 0, listed.output
    rows = [_flat(line) for line in listed.output.splitlines() if "+1" in line or "12345" in line]
    assert len(rows) == 3
    assert "long_code │ +14155550100 │ US │ 10dlc:C1A2B3C" in rows[0]
    assert "toll_free │ +18885550100 │ any │ -" in rows[1]
    assert "short_code │ 12345 │ any │ -" in rows[2]


def test_a_pool_numbers_registration_is_changed_and_cleared(runner: CliRunner) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    r = runner.invoke(
        app,
        ["senders", "add", "--account", "acme", "--type", "long_code", "--value", "+14155550100"],
    )
    assert r.exit_code == 0, r.output
    sender_id = r.output.split()[-1]
    register = ["senders", "register", sender_id, "--account", "acme", "--registration"]
    r = runner.invoke(app, [*register, "10dlc:C1A2B3C"])
    assert r.exit_code == 0 and "10dlc:C1A2B3C" in r.output, r.output
    r = runner.invoke(app, [*register, "toll_free:V1"])
    assert r.exit_code == 1 and "toll_free" in r.output, r.output
    r = runner.invoke(app, [*register, "none"])
    assert r.exit_code == 0 and "not registered" in r.output, r.output
    r = runner.invoke(
        app, ["senders", "register", "snd_nope", "--account", "acme", "--registration", "none"]
    )
    assert r.exit_code == 1 and "no sender" in r.output, r.output
