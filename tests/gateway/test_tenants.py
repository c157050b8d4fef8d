"""A tenant reads and changes only its own account's data; global configuration is the
operator's. One test per router, on both databases."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsrelay.domain.ids import new_id
from smsrelay.gateway.http.auth import forget_cached_keys
from smsrelay.store import accounts as account_store
from smsrelay.store import inbound as inbound_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.inbound import StoredInbound
from tests.support.gateway import RunningGateway, running_gateway, webhook_receiver
from tests.support.servers import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

ALL_SCOPES = ["send", "read", "admin"]


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, backend) as gateway:
        yield gateway


async def _account(gw: RunningGateway, name: str, role: str = account_store.TENANT) -> str:
    """A new account with an all-scopes key; returns the key."""
    async with gw.relay.db.transaction() as conn:
        account = await account_store.create_account(conn, name, time.time(), role=role)
        _, key = await account_store.create_api_key(conn, account.id, ALL_SCOPES, time.time())
    return key


async def _account_id(gw: RunningGateway, name: str) -> str:
    async with gw.relay.db.read() as conn:
        account = await account_store.get_account_by_name(conn, name)
    assert account is not None
    return account.id


async def test_global_configuration_needs_an_operator_admin_key(gw: RunningGateway) -> None:
    async with gw.relay.db.read() as conn:
        first = await account_store.get_account_by_name(conn, "default")
    assert first is not None and first.is_operator  # the account made on an empty database
    tenant = await _account(gw, "acme")
    second_operator = await _account(gw, "ops", account_store.OPERATOR)
    table = {"routes": [{"name": "default", "connectors": ["simulator"]}]}
    calls: list[tuple[str, str, object]] = [
        ("GET", "/v1/admin/routes", None),
        ("PUT", "/v1/admin/routes", table),
        ("POST", "/v1/admin/routes/test", {"to": "+14155552671"}),
        ("GET", "/v1/admin/connectors", None),
        ("POST", "/v1/admin/connectors", {"name": "late", "type": "simulator"}),
        ("DELETE", "/v1/admin/connectors/simulator", None),
    ]
    for method, path, body in calls:
        r = await gw.client.request(method, path, headers=gw.auth(tenant), json=body)
        assert r.status_code == 403, (method, path, r.text)
        error = r.json()["error"]
        assert error["code"] == "forbidden" and "operator" in error["message"]
    connectors = await gw.client.get("/v1/admin/connectors", headers=gw.auth())
    assert [c["name"] for c in connectors.json()["data"]] == ["simulator"]  # nothing added
    routes = (await gw.client.get("/v1/admin/routes", headers=gw.auth())).json()["routes"]
    assert [r["connectors"] for r in routes] == [["simulator"]]
    # the role decides, not the name: a second operator account may do it too
    for who in (gw.key, second_operator):
        put = await gw.client.put("/v1/admin/routes", headers=gw.auth(who), json=table)
        assert put.status_code == 200, put.text
        test = await gw.client.post(
            "/v1/admin/routes/test", headers=gw.auth(who), json={"to": "+14155552671"}
        )
        assert test.status_code == 200 and test.json()["route"] == "default"


async def test_messages_are_the_tenants_own(gw: RunningGateway) -> None:
    tenant = await _account(gw, "acme")
    mine = await gw.client.post(
        "/v1/messages",
        headers=gw.auth(tenant),
        json={"to": "+14155552671", "message": "tenant's", "send_at": time.time() + 3600},
    )
    theirs = await gw.client.post(
        "/v1/messages",
        headers=gw.auth(),
        json={"to": "+14155552672", "message": "operator's", "send_at": time.time() + 3600},
    )
    batch = await gw.client.post(
        "/v1/messages/batch",
        headers=gw.auth(tenant),
        json={"messages": [{"to": "+14155552673", "message": "batch"}]},
    )
    assert mine.status_code == theirs.status_code == batch.status_code == 202
    mine_id, theirs_id = mine.json()["message_id"], theirs.json()["message_id"]
    batch_id = batch.json()["results"][0]["message_id"]

    own = await gw.client.get(f"/v1/messages/{mine_id}", headers=gw.auth(tenant))
    assert own.status_code == 200 and own.json()["message"] == "tenant's"
    other = await gw.client.get(f"/v1/messages/{theirs_id}", headers=gw.auth(tenant))
    assert other.status_code == 404  # existence is not revealed
    listed = (await gw.client.get("/v1/messages", headers=gw.auth(tenant))).json()["data"]
    assert {m["message_id"] for m in listed} == {mine_id, batch_id}
    operators = (await gw.client.get("/v1/messages", headers=gw.auth())).json()["data"]
    assert {m["message_id"] for m in operators} == {theirs_id}

    refused = await gw.client.post(f"/v1/messages/{theirs_id}/cancel", headers=gw.auth(tenant))
    assert refused.status_code == 404
    still = (await gw.client.get(f"/v1/messages/{theirs_id}", headers=gw.auth())).json()
    assert still["status"] == "scheduled"
    cancelled = await gw.client.post(f"/v1/messages/{mine_id}/cancel", headers=gw.auth(tenant))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "canceled"


async def test_suppressions_are_the_tenants_own(gw: RunningGateway) -> None:
    tenant = await _account(gw, "acme")
    add = await gw.client.post(
        "/v1/suppressions", headers=gw.auth(), json={"number": "+14155552671"}
    )
    assert add.status_code == 201
    assert (await gw.client.get("/v1/suppressions", headers=gw.auth(tenant))).json()["data"] == []
    gone = await gw.client.delete("/v1/suppressions/+14155552671", headers=gw.auth(tenant))
    assert gone.status_code == 404
    own = await gw.client.post(
        "/v1/suppressions", headers=gw.auth(tenant), json={"number": "+14155552672"}
    )
    assert own.status_code == 201
    tenants = (await gw.client.get("/v1/suppressions", headers=gw.auth(tenant))).json()["data"]
    assert [s["number"] for s in tenants] == ["+14155552672"]
    operators = (await gw.client.get("/v1/suppressions", headers=gw.auth())).json()["data"]
    assert [s["number"] for s in operators] == ["+14155552671"]
    # the tenant's list screens only the tenant's sends
    sent = await gw.client.post(
        "/v1/messages", headers=gw.auth(tenant), json={"to": "+14155552671", "message": "hi"}
    )
    assert sent.status_code == 202
    removed = await gw.client.delete("/v1/suppressions/+14155552672", headers=gw.auth(tenant))
    assert removed.status_code == 204


async def test_inbound_is_the_tenants_own(gw: RunningGateway) -> None:
    tenant = await _account(gw, "acme")
    now = time.time()
    rows = [
        StoredInbound(
            id=new_id("mo", now + i),
            account_id=await _account_id(gw, owner),
            connector="simulator",
            from_number="+14155550100",
            to_number="12345",
            body=f"to {owner}",
            carrier_id=None,
            keyword=None,
            received_at=now,
            created_at=now,
        )
        for i, owner in enumerate(("acme", "default"))
    ]
    async with gw.relay.db.transaction() as conn:
        await inbound_store.insert_inbound(conn, rows)
    tenants = (await gw.client.get("/v1/inbound", headers=gw.auth(tenant))).json()["data"]
    assert [i["message"] for i in tenants] == ["to acme"]
    operators = (await gw.client.get("/v1/inbound", headers=gw.auth())).json()["data"]
    assert [i["message"] for i in operators] == ["to default"]


async def test_numbers_are_the_tenants_own(gw: RunningGateway) -> None:
    tenant = await _account(gw, "acme")
    acme_id, default_id = await _account_id(gw, "acme"), await _account_id(gw, "default")

    async def add(key: str, number: str, account: str | None = None) -> int:
        body = {"number": number} | ({"account": account} if account else {})
        r = await gw.client.post("/v1/admin/numbers", headers=gw.auth(key), json=body)
        return r.status_code

    async def listed(key: str, account: str | None = None) -> list[tuple[str, str]]:
        params = {"account": account} if account else {}
        r = await gw.client.get("/v1/admin/numbers", headers=gw.auth(key), params=params)
        assert r.status_code == 200, r.text
        return [(n["number"], n["account_id"]) for n in r.json()["data"]]

    assert await add(gw.key, "11111") == 201  # the operator's own
    assert await add(gw.key, "22222", "acme") == 201  # the operator assigns to a tenant
    assert await add(tenant, "33333") == 201  # a tenant assigns to itself
    assert await add(tenant, "33334", "acme") == 201  # naming itself is fine
    assert await add(tenant, "44444", "default") == 403  # but not to another account
    assert await add(tenant, "55555", "no-such-account") == 403  # nor to a guessed name

    assert await listed(tenant) == [("22222", acme_id), ("33333", acme_id), ("33334", acme_id)]
    assert await listed(tenant, "acme") == await listed(tenant)
    denied = await gw.client.get(
        "/v1/admin/numbers", headers=gw.auth(tenant), params={"account": "default"}
    )
    assert denied.status_code == 403
    assert await listed(gw.key, "default") == [("11111", default_id)]
    assert len(await listed(gw.key)) == 4  # the operator sees every account's

    other = await gw.client.delete("/v1/admin/numbers/11111", headers=gw.auth(tenant))
    assert other.status_code == 404  # as if nobody owned it
    assert await listed(gw.key, "default") == [("11111", default_id)]
    own = await gw.client.delete("/v1/admin/numbers/33333", headers=gw.auth(tenant))
    assert own.status_code == 204
    by_operator = await gw.client.delete("/v1/admin/numbers/22222", headers=gw.auth())
    assert by_operator.status_code == 204
    assert await listed(tenant) == [("33334", acme_id)]


async def test_webhook_replay_of_another_account_is_the_operators(gw: RunningGateway) -> None:
    tenant = await _account(gw, "acme")
    async with gw.relay.db.transaction() as conn:
        acme = await account_store.update_account(conn, "acme", allow_private_callbacks=True)
    forget_cached_keys()
    async with webhook_receiver(acme.webhook_secret) as (url, callbacks):
        r = await gw.client.post(
            "/send",
            headers=gw.auth(tenant),
            json={"to": "+14155552671", "message": "hi", "callback_url": url},
        )
        assert r.status_code == 202, r.text
        message_id = r.json()["message_id"]

        async def recorded(count: int) -> bool:
            async with gw.relay.db.read() as conn:
                deliveries = await webhook_store.list_webhook_deliveries(conn, message_id)
            return [d.state for d in deliveries] == ["delivered"] * count

        await wait_for(lambda: recorded(2))

        async def replay(key: str, body: dict[str, str]) -> tuple[int, int | None]:
            r = await gw.client.post("/v1/admin/webhooks/replay", headers=gw.auth(key), json=body)
            return r.status_code, r.json().get("replayed")

        by_id = {"message_id": message_id}
        assert await replay(gw.key, by_id) == (200, 0)  # the operator's own account has none
        assert await replay(gw.key, by_id | {"account": "nobody"}) == (404, None)
        assert await replay(tenant, by_id | {"account": "default"}) == (403, None)
        assert await replay(gw.key, by_id | {"account": "acme"}) == (200, 2)
        await wait_for(lambda: recorded(4))  # a replay sends every finished callback again
        assert await replay(tenant, by_id) == (200, 4)
        await wait_for(lambda: recorded(8))
        assert callbacks.for_message(message_id)[:2] == ["sent", "delivered"]


async def test_a_tenants_callbacks_may_not_reach_private_addresses(gw: RunningGateway) -> None:
    tenant = await _account(gw, "acme")
    refused = [
        "http://127.0.0.1:9/cb",
        "http://localhost/cb",
        "http://[::1]/cb",
        "http://10.0.0.1/cb",
        "http://169.254.169.254/latest",
        "http://[fd00::1]/cb",
        "http://nowhere.invalid/cb",  # a name that never resolves (RFC 6761)
    ]

    async def send(key: str, url: str) -> tuple[int, dict[str, object]]:
        r = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(key),
            json={"to": "+14155552671", "message": "hi", "callback_url": url},
        )
        return r.status_code, r.json()

    for url in refused:
        status, body = await send(tenant, url)
        assert status == 422, (url, body)
        error = body["error"]
        assert isinstance(error, dict) and error["code"] == "invalid_callback_url"
        assert error["field"] == "callback_url"
        assert "not allowed for this account" in error["message"] or "resolve" in error["message"]
    public, _ = await send(tenant, "https://93.184.216.34/cb")  # stored; never called here
    assert public == 202
    batch = await gw.client.post(
        "/v1/messages/batch",
        headers=gw.auth(tenant),
        json={
            "messages": [
                {"to": "+14155552671", "message": "a", "callback_url": "http://127.0.0.1/x"},
                {"to": "+14155552672", "message": "b"},
                {"to": "+14155552673", "message": "c", "callback_url": "http://nowhere.invalid/"},
            ]
        },
    )
    results = batch.json()["results"]
    assert batch.status_code == 202 and batch.json()["accepted"] == 1
    assert [r.get("error", {}).get("code") for r in results] == [
        "invalid_callback_url",
        None,
        "invalid_callback_url",
    ]
    # the operator's own callbacks are not restricted
    own, _ = await send(gw.key, "http://127.0.0.1:9/cb")
    assert own == 202
    # and the operator may allow a tenant (a key's account is remembered for a few seconds)
    async with gw.relay.db.transaction() as conn:
        await account_store.update_account(conn, "acme", allow_private_callbacks=True)
    forget_cached_keys()
    for url in refused[:-1]:
        allowed, body = await send(tenant, url)
        assert allowed == 202, (url, body)
