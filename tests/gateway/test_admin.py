"""The admin API: connector health, the route table, route explanations, webhook replay."""

from __future__ import annotations

import time
from pathlib import Path

from smsrelay.connectors.options import SimulatorOptions
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from tests.support.gateway import running_gateway, webhook_receiver
from tests.support.servers import wait_for

TWO = [
    SimulatorOptions(name="a", latency_ms=1, dlr_delay_ms=10, throughput=50),
    SimulatorOptions(name="b", latency_ms=1, dlr_delay_ms=10),
]


async def test_connectors_routes_and_explanations(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, connectors=TWO) as gw:
        r = await gw.client.get("/v1/admin/connectors", headers=gw.auth())
        assert r.status_code == 200, r.text
        rows = {c["name"]: c for c in r.json()["data"]}
        assert rows["a"]["up"] and rows["a"]["circuit"] == "closed" and rows["a"]["rate"] == 50

        routes = (await gw.client.get("/v1/admin/routes", headers=gw.auth())).json()["routes"]
        assert routes[0]["connectors"] == ["a", "b"]

        table = {
            "routes": [
                {"name": "default", "connectors": ["a", "b"]},
                {"name": "de-otp", "countries": ["de"], "kinds": ["otp"], "connectors": ["b", "a"]},
            ]
        }
        put = await gw.client.put("/v1/admin/routes", headers=gw.auth(), json=table)
        assert put.status_code == 200, put.text
        test = await gw.client.post(
            "/v1/admin/routes/test", headers=gw.auth(), json={"to": "+4915112345678", "kind": "otp"}
        )
        body = test.json()
        assert body["route"] == "de-otp" and body["connectors"] == ["b", "a"]
        assert any("de-otp" in line for line in body["explanation"])

        sent = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(),
            json={"to": "+4915112345678", "message": "code 1", "kind": "otp"},
        )
        message_id = sent.json()["message_id"]

        async def via_b() -> bool:
            got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
            return got.json()["connector"] == "b"

        await wait_for(via_b)

        bad = await gw.client.put(
            "/v1/admin/routes",
            headers=gw.auth(),
            json={"routes": [{"name": "x", "connectors": ["nope"]}]},
        )
        assert bad.status_code == 422 and "nope" in bad.json()["error"]["message"]
        empty = await gw.client.put("/v1/admin/routes", headers=gw.auth(), json={"routes": []})
        assert empty.status_code == 422
        for weights in ({"a": 1e999}, {"a": -1}):
            bad_weight = await gw.client.put(
                "/v1/admin/routes",
                headers=gw.auth(),
                content=(
                    b'{"routes": [{"name": "w", "strategy": "weighted", "connectors": ["a", "b"],'
                    b' "weights": {"a": '
                    + str(weights["a"]).encode().replace(b"inf", b"1e999")
                    + b"}}]}"
                ),
            )
            assert bad_weight.status_code == 422, bad_weight.text


async def test_admin_needs_the_admin_scope(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        async with gw.relay.db.transaction() as conn:
            account = await account_store.get_account_by_name(conn, "default")
            assert account is not None
            _, key = await account_store.create_api_key(
                conn, account.id, ["send", "read"], time.time()
            )
        for method, path in (
            ("GET", "/v1/admin/connectors"),
            ("GET", "/v1/admin/routes"),
            ("POST", "/v1/admin/webhooks/replay"),
        ):
            r = await gw.client.request(method, path, headers=gw.auth(key), json={})
            assert r.status_code == 403, (path, r.text)


async def test_webhook_replay_sends_callbacks_again(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        async with gw.relay.db.read() as conn:
            account = await account_store.get_account_by_name(conn, "default")
        assert account is not None
        async with webhook_receiver(account.webhook_secret) as (url, callbacks):
            r = await gw.client.post(
                "/send",
                headers=gw.auth(),
                json={"to": "+14155552671", "message": "hi", "callback_url": url},
            )
            message_id = r.json()["message_id"]
            await wait_for(lambda: callbacks.for_message(message_id) == ["sent", "delivered"])

            async def recorded(count: int) -> bool:
                async with gw.relay.db.read() as conn:
                    deliveries = await webhook_store.list_webhook_deliveries(conn, message_id)
                return [d.state for d in deliveries] == ["delivered"] * count

            # an attempt is recorded in the turn after its answer: replay what is on record
            await wait_for(lambda: recorded(2))
            replay = await gw.client.post(
                "/v1/admin/webhooks/replay", headers=gw.auth(), json={"message_id": message_id}
            )
            assert replay.status_code == 200 and replay.json()["replayed"] == 2
            await wait_for(
                lambda: (
                    callbacks.for_message(message_id) == ["sent", "delivered", "sent", "delivered"]
                )
            )
            await wait_for(lambda: recorded(4))


async def test_route_table_set_by_the_admin_api_survives_a_restart(tmp_path: Path) -> None:
    table = {"routes": [{"name": "only-b", "connectors": ["b"]}]}
    async with running_gateway(tmp_path, connectors=TWO) as gw:
        put = await gw.client.put("/v1/admin/routes", headers=gw.auth(), json=table)
        assert put.status_code == 200
    async with running_gateway(tmp_path, connectors=TWO) as gw:
        routes = (await gw.client.get("/v1/admin/routes", headers=gw.auth())).json()["routes"]
        assert [(r["name"], r["connectors"]) for r in routes] == [("only-b", ["b"])]
    # a stored table naming a connector that no longer exists falls back to the config
    async with running_gateway(tmp_path, connectors=TWO[:1]) as gw:
        routes = (await gw.client.get("/v1/admin/routes", headers=gw.auth())).json()["routes"]
        assert [r["connectors"] for r in routes] == [["a"]]


async def test_connectors_added_and_removed_at_run_time(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, connectors=TWO[:1]) as gw:
        added = await gw.client.post(
            "/v1/admin/connectors",
            headers=gw.auth(),
            json={
                "name": "late",
                "type": "simulator",
                "latency_ms": 1,
                "dlr_delay_ms": 10,
                "throughput": 20,
            },
        )
        assert added.status_code == 201, added.text
        assert added.json()["rate"] == 20 and added.json()["up"]
        again = await gw.client.post(
            "/v1/admin/connectors", headers=gw.auth(), json={"name": "late", "type": "simulator"}
        )
        assert again.status_code == 409
        bad = await gw.client.post(
            "/v1/admin/connectors", headers=gw.auth(), json={"name": "x", "type": "carrier-pigeon"}
        )
        assert bad.status_code == 422
        assert "unknown type 'carrier-pigeon'" in bad.json()["error"]["message"]
        http = await gw.client.post(
            "/v1/admin/connectors",
            headers=gw.auth(),
            json={"name": "t", "type": "http", "provider": "twilio"},
        )
        assert http.status_code == 422
        error = http.json()["error"]
        assert error["code"] == "validation_error"
        assert error["message"] == (
            "Value error, provider twilio needs credentials account_sid, auth_token"
        )
        provider = await gw.client.post(
            "/v1/admin/connectors",
            headers=gw.auth(),
            json={
                "name": "t",
                "type": "http",
                "provider": "twilio",
                "credentials": {"account_sid": "AC1", "auth_token": "never shown"},
            },
        )
        assert provider.status_code == 201, provider.text
        listed = await gw.client.get("/v1/admin/connectors", headers=gw.auth())
        assert "never shown" not in listed.text and "t" in [
            c["name"] for c in listed.json()["data"]
        ]
        removed = await gw.client.delete("/v1/admin/connectors/t", headers=gw.auth())
        assert removed.status_code == 200, removed.text
        wrong = await gw.client.post(
            "/v1/admin/connectors",
            headers=gw.auth(),
            json={"name": "w", "type": "smpp", "port": -1},
        )
        assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "port"
        put = await gw.client.put(
            "/v1/admin/routes",
            headers=gw.auth(),
            json={"routes": [{"name": "default", "connectors": ["late"]}]},
        )
        assert put.status_code == 200, put.text
        sent = await gw.client.post(
            "/send", headers=gw.auth(), json={"to": "+14155552671", "message": "via late"}
        )
        message_id = sent.json()["message_id"]

        async def delivered_via_late() -> bool:
            got = (await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())).json()
            return got["status"] == "delivered" and got["connector"] == "late"

        await wait_for(delivered_via_late)
        in_use = await gw.client.delete("/v1/admin/connectors/late", headers=gw.auth())
        assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "in_use"
        from_file = await gw.client.delete("/v1/admin/connectors/a", headers=gw.auth())
        assert from_file.status_code == 409
    async with running_gateway(tmp_path, connectors=TWO[:1]) as gw:  # kept across a restart
        names = [
            c["name"]
            for c in (await gw.client.get("/v1/admin/connectors", headers=gw.auth())).json()["data"]
        ]
        assert names == ["a", "late"]
        await gw.client.put(
            "/v1/admin/routes",
            headers=gw.auth(),
            json={"routes": [{"name": "default", "connectors": ["a"]}]},
        )
        gone = await gw.client.delete("/v1/admin/connectors/late", headers=gw.auth())
        assert gone.status_code == 200
        missing = await gw.client.delete("/v1/admin/connectors/late", headers=gw.auth())
        assert missing.status_code == 404
