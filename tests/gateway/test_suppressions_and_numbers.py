"""/v1/suppressions and /v1/admin/numbers over a running gateway."""

from __future__ import annotations

import time
from pathlib import Path

from smsrelay.store import accounts as account_store
from tests.support.gateway import running_gateway


async def test_suppressions_api(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        for number in ("+14155552671", "+4915112345678", "+33612345678"):
            r = await gw.client.post("/v1/suppressions", headers=gw.auth(), json={"number": number})
            assert r.status_code == 201
        again = await gw.client.post(
            "/v1/suppressions", headers=gw.auth(), json={"number": "+14155552671"}
        )
        assert again.status_code == 200
        page = (await gw.client.get("/v1/suppressions?limit=2", headers=gw.auth())).json()
        assert [s["number"] for s in page["data"]] == ["+14155552671", "+33612345678"]
        rest = (
            await gw.client.get(
                "/v1/suppressions", params={"cursor": page["next_cursor"]}, headers=gw.auth()
            )
        ).json()
        assert [s["number"] for s in rest["data"]] == ["+4915112345678"]
        assert rest["next_cursor"] is None
        gone = await gw.client.delete("/v1/suppressions/+33612345678", headers=gw.auth())
        assert gone.status_code == 204
        missing = await gw.client.delete("/v1/suppressions/+33612345678", headers=gw.auth())
        assert missing.status_code == 404
        bad = await gw.client.post("/v1/suppressions", headers=gw.auth(), json={"number": "nope"})
        assert bad.status_code == 422


async def test_admin_numbers_api(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        r = await gw.client.post("/v1/admin/numbers", headers=gw.auth(), json={"number": "12345"})
        assert r.status_code == 201 and r.json()["number"] == "12345"
        dup = await gw.client.post("/v1/admin/numbers", headers=gw.auth(), json={"number": "12345"})
        assert dup.status_code == 409
        listed = (await gw.client.get("/v1/admin/numbers", headers=gw.auth())).json()
        assert [n["number"] for n in listed["data"]] == ["12345"]
        assert (
            await gw.client.delete("/v1/admin/numbers/12345", headers=gw.auth())
        ).status_code == 204
        assert gw.relay.db is not None
        async with gw.relay.db.transaction() as conn:
            account = await account_store.get_account_by_name(conn, "default")
            assert account is not None
            _, reader = await account_store.create_api_key(conn, account.id, ["read"], time.time())
        denied = await gw.client.get("/v1/admin/numbers", headers=gw.auth(reader))
        assert denied.status_code == 403
