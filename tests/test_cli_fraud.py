"""``smsrelay fraud blocks`` and ``fraud lift``, through the real command line against a real
SQLite database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smsrelay.cli import app
from smsrelay.store import accounts as account_store
from smsrelay.store import fraud as store
from smsrelay.store.db import Database, sqlite_url, upgrade


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    return CliRunner()


def _block(tmp_path: Path, key: str) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    url = sqlite_url(tmp_path / "data")
    upgrade(url)

    async def write() -> None:
        db = await Database.open(url)
        try:
            async with db.transaction() as conn:
                account = await account_store.create_account(conn, "acme", time.time())
                now = time.time()
                await store.add_block(conn, account.id, "prefix", key, "a surge", now, now + 60)
        finally:
            await db.close()

    asyncio.run(write())


def test_blocks_are_listed_and_lifted(runner: CliRunner, tmp_path: Path) -> None:
    _block(tmp_path, "+232760")
    listed = runner.invoke(app, ["fraud", "blocks"])
    assert listed.exit_code == 0, listed.output
    assert "+232760" in listed.output and "acme" in listed.output and "a surge" in listed.output
    lifted = runner.invoke(app, ["fraud", "lift", "+232760", "--account", "acme"])
    assert lifted.exit_code == 0 and "lifted 1" in lifted.output
    assert "+232760" not in runner.invoke(app, ["fraud", "blocks"]).output
    again = runner.invoke(app, ["fraud", "lift", "+232760"])
    assert again.exit_code == 1 and "no block" in again.output
    unknown = runner.invoke(app, ["fraud", "blocks", "--account", "nobody"])
    assert unknown.exit_code == 1 and "no account" in unknown.output
