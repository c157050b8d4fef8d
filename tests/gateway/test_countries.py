"""Country rules over HTTP: reading (any valid key), overriding (an operator's admin key only),
the configuration file's overrides, and the send answer of a marketing message held for quiet
hours. On both databases."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smsrelay.engine.clock import ManualClock
from smsrelay.store import accounts as account_store
from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_23H = datetime(2026, 12, 4, 23, 0, tzinfo=PARIS).timestamp()
SHORT_DAY = {"allowed": [{"days": ["mon"], "start": "09:00", "end": "10:00"}]}


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(
        tmp_path, backend, clock=ManualClock(FRIDAY_23H), countries={"DE": {"two_way": False}}
    ) as gateway:
        yield gateway


async def _key(gw: RunningGateway, name: str, scopes: list[str], role: str) -> str:
    async with gw.relay.db.transaction() as conn:
        account = await account_store.create_account(conn, name, time.time(), role=role)
        _, key = await account_store.create_api_key(conn, account.id, scopes, time.time())
    return key


async def test_read_one_country_and_the_list(gw: RunningGateway) -> None:
    reader = await _key(gw, "reader", ["read"], account_store.TENANT)
    r = await gw.client.get("/v1/countries/fr", headers=gw.auth(reader))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["country"] == "FR" and body["calling_code"] == 33
    quiet = body["quiet_hours"]
    assert {"value", "source", "read_on"} <= set(quiet)
    assert quiet["source"].startswith("https://") and quiet["read_on"] == "2026-12-04"
    assert quiet["alternatives"] and all(a["source"] for a in quiet["alternatives"])
    unknown = (await gw.client.get("/v1/countries/AC", headers=gw.auth(reader))).json()
    assert unknown["two_way"] == {"value": None, "source": "no public source read", "read_on": None}
    listed = (await gw.client.get("/v1/countries", headers=gw.auth(reader))).json()["data"]
    assert len(listed) >= 200 and {"country", "quiet_hours", "sourced_fields"} <= set(listed[0])
    for bad in ("ZZ", "FRA", "1"):
        r = await gw.client.get(f"/v1/countries/{bad}", headers=gw.auth(reader))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await gw.client.get("/v1/countries/FR")).status_code == 401


async def test_overrides_need_an_operator_admin_key(gw: RunningGateway) -> None:
    tenant_admin = await _key(gw, "acme", ["send", "read", "admin"], account_store.TENANT)
    operator_reader = await _key(gw, "ops-read", ["read"], account_store.OPERATOR)
    body = {"quiet_hours": SHORT_DAY}
    for key in (tenant_admin, operator_reader):
        for method in ("PUT", "DELETE"):
            r = await gw.client.request(
                method, "/v1/admin/countries/FR", headers=gw.auth(key), json=body
            )
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "forbidden"
    fr = (await gw.client.get("/v1/countries/FR", headers=gw.auth())).json()
    assert fr["quiet_hours"]["source"].startswith("https://") and fr["api_override"] is None


async def test_operator_overrides_and_removes(gw: RunningGateway) -> None:
    r = await gw.client.put(
        "/v1/admin/countries/fr", headers=gw.auth(), json={"quiet_hours": SHORT_DAY}
    )
    assert r.status_code == 200, r.text
    quiet = r.json()["quiet_hours"]
    assert quiet["source"] == "operator override (admin API)"
    assert quiet["value"]["allowed"][0]["start"] == "09:00"
    assert quiet["alternatives"][0]["source"].startswith("https://")  # the sources stay listed
    got = (await gw.client.get("/v1/countries/FR", headers=gw.auth())).json()
    assert got["quiet_hours"] == quiet and got["api_override"] == {"quiet_hours": SHORT_DAY}
    bad = await gw.client.put(
        "/v1/admin/countries/FR",
        headers=gw.auth(),
        json={"quiet_hours": {"allowed": [{"days": ["mon"], "start": "25:00", "end": "26:00"}]}},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "quiet_hours"
    unknown = await gw.client.put("/v1/admin/countries/FR", headers=gw.auth(), json={"x": 1})
    assert unknown.status_code == 422 and "unknown rule" in unknown.json()["error"]["message"]
    nowhere = await gw.client.put(
        "/v1/admin/countries/ZZ", headers=gw.auth(), json={"two_way": True}
    )
    assert nowhere.status_code == 404
    removed = await gw.client.delete("/v1/admin/countries/FR", headers=gw.auth())
    assert removed.status_code == 200
    assert removed.json()["quiet_hours"]["source"].startswith("https://")
    again = await gw.client.delete("/v1/admin/countries/FR", headers=gw.auth())
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


async def test_the_api_override_wins_over_the_configuration_file(gw: RunningGateway) -> None:
    de = (await gw.client.get("/v1/countries/DE", headers=gw.auth())).json()
    assert de["two_way"]["value"] is False
    assert de["two_way"]["source"] == "operator override (configuration file)"
    r = await gw.client.put("/v1/admin/countries/DE", headers=gw.auth(), json={"two_way": True})
    assert r.json()["two_way"]["value"] is True
    assert r.json()["two_way"]["alternatives"][0]["source"] == (
        "operator override (configuration file)"
    )
    await gw.client.delete("/v1/admin/countries/DE", headers=gw.auth())
    de = (await gw.client.get("/v1/countries/DE", headers=gw.auth())).json()
    assert de["two_way"]["value"] is False  # the file's comes back


async def test_marketing_send_is_held_and_says_so(gw: RunningGateway) -> None:
    message = {"to": "+33612345678", "message": "Sale!", "kind": "marketing"}
    r = await gw.client.post("/v1/messages", headers=gw.auth(), json=message)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "scheduled" and body["held_for_quiet_hours"] is True
    assert body["send_at"].startswith("2026-12-05T07:00:00")  # 08:00 in Paris
    assert body["quiet_hours_source"].startswith("https://")
    otp = await gw.client.post("/send", headers=gw.auth(), json={**message, "kind": "otp"})
    assert otp.json()["status"] == "queued" and otp.json()["held_for_quiet_hours"] is False
    batch = await gw.client.post(
        "/v1/messages/batch", headers=gw.auth(), json={"messages": [message]}
    )
    assert batch.json()["results"][0]["held_for_quiet_hours"] is True
