"""Measured delivery as an operator sees it: the admin API (also after a restart), the
adaptive strategy's explanation, and ``smsrelay connectors stats`` / ``routes test`` on the
same database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smsrelay.cli import app
from smsrelay.config import RouteConfig
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.store import stats as stats_store
from smsrelay.store.db import Database, sqlite_url
from tests.support.gateway import running_gateway
from tests.support.servers import wait_for

TWO = [
    SimulatorOptions(name="a", latency_ms=1, dlr_delay_ms=10, prices={"DE": 0.05}),
    SimulatorOptions(
        name="b", latency_ms=1, dlr_delay_ms=10, outcomes={"delivered": 1, "undelivered": 1}
    ),
]
ADAPTIVE = [
    RouteConfig(
        name="default",
        connectors=["a", "b"],
        strategy="adaptive",
        adaptive={"window": "10m", "min_samples": 5, "exploration": 0.2},
    )
]


async def test_stats_in_the_admin_api_survive_a_restart(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, connectors=TWO, routes=ADAPTIVE) as gw:
        ids = []
        for n in range(30):
            r = await gw.client.post(
                "/send", headers=gw.auth(), json={"to": "+4915112345678", "message": f"m{n}"}
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["message_id"])

        async def all_final() -> bool:
            for message_id in ids:
                got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
                if got.json()["status"] not in ("delivered", "undelivered"):
                    return False
            return True

        await wait_for(all_final, timeout=30)

        async def counted() -> dict[str, list[dict[str, Any]]]:
            r = await gw.client.get("/v1/admin/connectors", headers=gw.auth())
            assert r.status_code == 200, r.text
            return {c["name"]: c["stats"] for c in r.json()["data"]}

        async def finals_counted() -> bool:  # the last receipts' turn may still be under way
            stats = await counted()
            return sum(s["delivered"] + s["failed"] for v in stats.values() for s in v) == 30

        await wait_for(finals_counted, timeout=10)
        before = await counted()
        assert sum(s["submitted"] for v in before.values() for s in v) == 30
        a = before["a"][0]
        assert a["country"] == "DE" and a["window"] == 3600.0  # [routing.adaptive]'s
        assert a["delivery_rate"] == 1.0 and a["latency_p50"] is not None
        assert a["cost"] == pytest.approx(0.05 * a["submitted"])

        other = await gw.client.get(
            "/v1/admin/connectors/stats", params={"window": "1h"}, headers=gw.auth()
        )
        assert other.status_code == 200
        assert {c["connector"] for c in other.json()["data"]} == {"a", "b"}
        bad = await gw.client.get(
            "/v1/admin/connectors/stats", params={"window": "soon"}, headers=gw.auth()
        )
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "window"

        explained = await gw.client.post(
            "/v1/admin/routes/test", headers=gw.auth(), json={"to": "+4915112345678"}
        )
        lines = explained.json()["explanation"]
        assert any("strategy adaptive" in line for line in lines)
        assert any(line.strip().startswith("a: score") for line in lines), lines

        table = {
            "routes": [
                {
                    "name": "r",
                    "strategy": "adaptive",
                    "connectors": ["a", "b"],
                    "adaptive": {"window": "never"},
                }
            ]
        }
        refused = await gw.client.put("/v1/admin/routes", headers=gw.auth(), json=table)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "routes.0"
        table["routes"][0]["adaptive"] = {"window": "5m", "delivery": 2}
        taken = await gw.client.put("/v1/admin/routes", headers=gw.auth(), json=table)
        assert taken.status_code == 200, taken.text
        assert taken.json()["routes"][0]["adaptive"]["window"] == 300.0

    async with running_gateway(tmp_path, connectors=TWO, routes=ADAPTIVE) as gw:
        r = await gw.client.get("/v1/admin/connectors", headers=gw.auth())
        after = {c["name"]: c["stats"] for c in r.json()["data"]}
        assert after == before


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMSRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMSRELAY_CONFIG", str(tmp_path / "smsrelay.toml"))
    monkeypatch.delenv("SMSRELAY_DATABASE_URL", raising=False)
    (tmp_path / "smsrelay.toml").write_text(
        """
[routing.adaptive]
window = "30m"
min_samples = 5

[[connectors]]
name = "a"
type = "simulator"

[[connectors]]
name = "b"
type = "simulator"

[[routes]]
name = "default"
strategy = "adaptive"
connectors = ["b", "a"]
"""
    )
    return CliRunner()


def _count(tmp_path: Path, counts: dict[tuple[str, str], stats_store.Counts]) -> None:
    async def write() -> None:
        db = await Database.open(sqlite_url(tmp_path / "data"))
        try:
            async with db.transaction() as conn:
                bucket = stats_store.bucket_of(time.time())
                await stats_store.add_counts(conn, {(*k, bucket): c for k, c in counts.items()})
        finally:
            await db.close()

    asyncio.run(write())


def test_the_command_line_shows_the_stats_and_why_a_route_chose(
    runner: CliRunner, tmp_path: Path
) -> None:
    empty = runner.invoke(app, ["connectors", "stats"])  # migrates the new data folder
    assert empty.exit_code == 0, empty.output
    assert "last 30m" in empty.output
    unmeasured = runner.invoke(app, ["routes", "test", "+4915112345678"])
    assert "b: unmeasured" in unmeasured.output and "exploring: 5%" in unmeasured.output

    fast = stats_store.Counts(submitted=20, delivered=19, failed=1)
    fast.latency[2] = 20
    slow = stats_store.Counts(submitted=20, submit_errors=5, delivered=12, failed=8)
    slow.latency[6] = 20
    _count(tmp_path, {("a", "DE"): fast, ("b", "DE"): slow})

    shown = runner.invoke(app, ["connectors", "stats", "--window", "1h"])
    assert shown.exit_code == 0, shown.output
    row_a = next(line for line in shown.output.splitlines() if "│ a" in line)
    assert "DE" in row_a and "95.0%" in row_a
    assert "5 (20.0%)" in shown.output  # b's refused submits and their rate
    assert runner.invoke(app, ["connectors", "stats", "--window", "soon"]).exit_code == 2

    chosen = runner.invoke(app, ["routes", "test", "+4915112345678"])
    assert chosen.exit_code == 0, chosen.output
    text = chosen.output
    assert "attempt 1: a" in text and "attempt 2: b" in text
    assert "a: score" in text and "delivery 0.95" in text and "b: score" in text
