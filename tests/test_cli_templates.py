"""``smsrelay templates add|list|remove|import`` through the real command line against a real
SQLite database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smsrelay.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    return CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_add_list_and_remove(runner: CliRunner) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    add = [
        "templates",
        "add",
        "--account",
        "acme",
        "--template-id",
        "1107161000000000001",
        "--text",
        "Your OTP is {#var#}. - ACME",
        "--entity-id",
        "1101000",
    ]
    r = runner.invoke(app, add)
    assert r.exit_code == 0, r.output
    assert "template 1107161000000000001 (transactional) added to acme" in _flat(r.output)
    entry = re.search(r"tpl_\w+", r.output)
    assert entry is not None
    again = runner.invoke(app, add)
    assert again.exit_code == 1
    assert "template 1107161000000000001 already exists" in _flat(again.output)

    r = runner.invoke(app, ["templates", "list", "--account", "acme"])
    assert r.exit_code == 0 and entry.group() in r.output and "1101000" in r.output
    r = runner.invoke(app, ["templates", "remove", entry.group()])
    assert r.exit_code == 0 and f"removed {entry.group()}" in r.output
    r = runner.invoke(app, ["templates", "remove", entry.group()])
    assert r.exit_code == 1 and "no template" in _flat(r.output)


def test_bad_input_is_refused_with_its_reason(runner: CliRunner) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    base = ["templates", "add", "--account", "acme", "--template-id", "1"]
    for extra, says in [
        (["--text", "Your OTP is {#VAR#}"], "written {#var#} exactly"),
        (["--text", "{#var#}"], "no fixed text"),
        (["--text", "Hi {#var#}", "--category", "urgent"], "category 'urgent'"),
    ]:
        r = runner.invoke(app, [*base, *extra])
        assert r.exit_code == 1 and says in _flat(r.output), r.output
    r = runner.invoke(
        app, ["templates", "add", "--account", "nobody", "--template-id", "1", "--text", "Hi"]
    )
    assert r.exit_code == 1 and "no account named 'nobody'" in _flat(r.output)


def test_import_adds_good_rows_and_lists_the_refused(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["accounts", "create", "acme"]).exit_code == 0
    listing = tmp_path / "templates.csv"
    listing.write_text(
        "template_id,text,category,entity_id\n"
        "1107161,Your OTP is {#var#}. - ACME,Transactional,1101000\n"
        '1107162,"Dear {#var#},\nyour order shipped. - ACME",Service Implicit,1101000\n'
        "1107163,Hi {var},,\n"
        "1107161,Duplicate {#var#},,\n"
        "1107164,Sale {#var#},urgent,\n"
    )
    r = runner.invoke(app, ["templates", "import", str(listing), "--account", "acme"])
    assert r.exit_code == 1, r.output
    out = _flat(r.output)
    assert "2 template(s) added to acme, 3 row(s) refused" in out
    assert f"{listing}:5: refused: '{{var}}' at character 4" in out
    assert f"{listing}:6: refused: template 1107161 already exists" in out
    assert f"{listing}:7: refused: category 'urgent'" in out
    r = runner.invoke(app, ["templates", "list", "--account", "acme"])
    assert "1107162" in r.output and "service_implicit" in r.output

    bad = tmp_path / "bad.csv"
    bad.write_text("id,body\n1,Hi\n")
    r = runner.invoke(app, ["templates", "import", str(bad), "--account", "acme"])
    assert r.exit_code == 1 and "the header must name the columns" in _flat(r.output)
    r = runner.invoke(app, ["templates", "import", str(tmp_path / "none.csv"), "--account", "a"])
    assert r.exit_code == 1 and "none.csv" in _flat(r.output)
