"""Opt-out texts over HTTP: set on the account, added to marketing bound for a country that
requires them (counted in segments, stored, reported), never to other kinds or countries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smsrelay.engine.clock import ManualClock
from smsrelay.store import accounts as account_store
from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

# a Wednesday at 11:00 in Paris: inside France's marketing hours, nothing is held
WEDNESDAY_11H = 1796205600.0
FRENCH = "+33612345678"


async def _send(gw: RunningGateway, to: str, text: str, kind: str) -> dict:  # type: ignore[type-arg]
    r = await gw.client.post(
        "/send", headers=gw.auth(), json={"to": to, "message": text, "kind": kind}
    )
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_marketing_gets_the_accounts_opt_out_text(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend, clock=ManualClock(WEDNESDAY_11H)) as gw:
        before = await _send(gw, FRENCH, "Soldes -50% ce week-end", "marketing")
        assert "opt_out_added" not in before  # nothing named: nothing invented
        r = await gw.client.patch(
            "/v1/admin/accounts/default",
            headers=gw.auth(),
            json={"opt_out_texts": {"fr": "STOP au 36111", "default": "Reply STOP to opt out"}},
        )
        assert r.status_code == 200, r.text
        assert r.json()["opt_out_texts"] == {
            "FR": "STOP au 36111",
            "default": "Reply STOP to opt out",
        }

        sent = await _send(gw, FRENCH, "Soldes -50% ce week-end", "marketing")
        assert sent["opt_out_added"] == "STOP au 36111"
        stored = await gw.client.get(f"/v1/messages/{sent['message_id']}", headers=gw.auth())
        assert stored.json()["message"] == "Soldes -50% ce week-end\nSTOP au 36111"

        long = await _send(gw, FRENCH, "x" * 150, "marketing")
        assert long["segments"] == 2  # the added line is counted

        kept = await _send(gw, FRENCH, "Promo! STOP au 36111", "marketing")
        assert "opt_out_added" not in kept
        for to, kind in ((FRENCH, "transactional"), ("+4915112345678", "marketing")):
            other = await _send(gw, to, "Hello", kind)
            assert "opt_out_added" not in other


async def test_bad_texts_are_refused_and_a_tenant_sets_only_its_own(
    tmp_path: Path, backend: str
) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        r = await gw.client.patch(
            "/v1/admin/accounts/default",
            headers=gw.auth(),
            json={"opt_out_texts": {"FRA": "STOP"}},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "opt_out_texts"
        async with gw.relay.db.transaction() as conn:
            tenant = await account_store.create_account(conn, "acme", time.time())
            _, key = await account_store.create_api_key(conn, tenant.id, ["admin"], time.time())
        r = await gw.client.patch(
            "/v1/admin/accounts/default",
            headers=gw.auth(key),
            json={"opt_out_texts": {"FR": "STOP"}},
        )
        assert r.status_code in (403, 404), r.text
        r = await gw.client.patch(
            "/v1/admin/accounts/acme", headers=gw.auth(key), json={"opt_out_texts": None}
        )
        assert r.status_code == 200 and r.json()["opt_out_texts"] == {}
