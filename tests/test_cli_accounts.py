"""``smsrelay accounts``: roles and the private-callback rule, through the real command line
against a real SQLite database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smsrelay.cli import app
from smsrelay.store import accounts as store
from smsrelay.store.db import Database, sqlite_url


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    return CliRunner()


def _account(tmp_path: Path, name: str) -> store.Account:
    async def read() -> store.Account:
        db = await Database.open(sqlite_url(tmp_path / "data"))
        try:
            async with db.read() as conn:
                found = await store.get_account_by_name(conn, name)
        finally:
            await db.close()
        assert found is not None
        return found

    return asyncio.run(read())


def test_accounts_are_tenants_unless_told(runner: CliRunner, tmp_path: Path) -> None:
    made = runner.invoke(app, ["accounts", "create", "acme"])
    assert made.exit_code == 0, made.output
    assert "tenant" in made.output
    ops = runner.invoke(app, ["accounts", "create", "ops", "--operator"])
    assert ops.exit_code == 0 and "operator" in ops.output
    assert _account(tmp_path, "acme").role == "tenant"
    assert _account(tmp_path, "ops").is_operator
    listed = runner.invoke(app, ["accounts", "list"])
    assert "acme" in listed.output and "operator" in listed.output


def test_a_tenants_webhooks_refuse_private_addresses_until_allowed(
    runner: CliRunner, tmp_path: Path
) -> None:
    refused = runner.invoke(
        app, ["accounts", "create", "acme", "--webhook-url", "http://127.0.0.1:9/cb"]
    )
    assert refused.exit_code == 1
    assert "not allowed for this account" in " ".join(refused.output.split())
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    for option in ("--webhook-url", "--inbound-webhook-url"):
        for url in ("http://localhost/cb", "http://192.168.1.5/cb", "http://nowhere.invalid/"):
            r = runner.invoke(app, ["accounts", "update", "acme", option, url])
            assert r.exit_code == 1, (option, url, r.output)
    assert _account(tmp_path, "acme").webhook_url is None
    public = runner.invoke(
        app, ["accounts", "update", "acme", "--webhook-url", "https://93.184.216.34/cb"]
    )
    assert public.exit_code == 0, public.output
    allowed = runner.invoke(
        app,
        [
            "accounts",
            "update",
            "acme",
            "--allow-private-callbacks",
            "--inbound-webhook-url",
            "http://10.0.0.5/mo",
        ],
    )
    assert allowed.exit_code == 0, allowed.output
    account = _account(tmp_path, "acme")
    assert account.allow_private_callbacks and account.inbound_webhook_url == "http://10.0.0.5/mo"
    ops = runner.invoke(
        app, ["accounts", "create", "ops", "--operator", "--webhook-url", "http://127.0.0.1/cb"]
    )
    assert ops.exit_code == 0, ops.output


def test_transliteration_is_off_until_turned_on(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    assert not _account(tmp_path, "acme").transliterate
    on = runner.invoke(app, ["accounts", "update", "acme", "--transliterate"])
    assert on.exit_code == 0, on.output
    assert _account(tmp_path, "acme").transliterate
    off = runner.invoke(app, ["accounts", "update", "acme", "--no-transliterate"])
    assert off.exit_code == 0, off.output
    assert not _account(tmp_path, "acme").transliterate


def test_national_language_is_set_checked_and_cleared(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    set_ = runner.invoke(app, ["accounts", "update", "acme", "--national-language", "tr"])
    assert set_.exit_code == 0, set_.output
    assert _account(tmp_path, "acme").national_language == "tr"
    bad = runner.invoke(app, ["accounts", "update", "acme", "--national-language", "xx"])
    assert bad.exit_code == 1 and "unknown national language" in bad.output
    cleared = runner.invoke(app, ["accounts", "update", "acme", "--national-language", "none"])
    assert cleared.exit_code == 0, cleared.output
    assert _account(tmp_path, "acme").national_language is None


def test_opt_out_texts_are_set_checked_and_cleared(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    set_ = runner.invoke(
        app,
        [
            "accounts",
            "update",
            "acme",
            "--opt-out-text",
            "fr=STOP au 36111",
            "--opt-out-text",
            "default=Reply STOP to opt out",
        ],
    )
    assert set_.exit_code == 0, set_.output
    assert _account(tmp_path, "acme").opt_out_texts == {
        "FR": "STOP au 36111",
        "default": "Reply STOP to opt out",
    }
    for bad, why in (("FR", "ISO=TEXT"), ("FRA=STOP", "keys are ISO")):
        refused = runner.invoke(app, ["accounts", "update", "acme", "--opt-out-text", bad])
        assert refused.exit_code == 1 and why in refused.output, refused.output
    cleared = runner.invoke(app, ["accounts", "update", "acme", "--opt-out-text", "none"])
    assert cleared.exit_code == 0, cleared.output
    assert _account(tmp_path, "acme").opt_out_texts == {}


def test_dlt_entity_id_is_set_checked_and_cleared(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    pe = "1101456780000012345"
    set_ = runner.invoke(app, ["accounts", "update", "acme", "--dlt-entity-id", pe])
    assert set_.exit_code == 0, set_.output
    assert _account(tmp_path, "acme").dlt_entity_id == pe
    bad = runner.invoke(app, ["accounts", "update", "acme", "--dlt-entity-id", "x" * 65])
    assert bad.exit_code == 1 and "dlt_entity_id must be 1 to 64" in bad.output
    cleared = runner.invoke(app, ["accounts", "update", "acme", "--dlt-entity-id", "none"])
    assert cleared.exit_code == 0, cleared.output
    assert _account(tmp_path, "acme").dlt_entity_id is None
