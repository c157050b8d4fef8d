"""Sender pools over the API, and the sender each message leaves with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gateway import running_gateway
from tests.support.servers import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


async def test_a_destination_gets_a_sender_it_allows(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        # the shipped country rules: US takes no alphanumeric id and wants a number, Germany
        # takes any, Brazil no alphanumeric id
        added = await gw.client.post(
            "/v1/senders",
            headers=gw.auth(),
            json={"type": "long_code", "value": "+14155550100", "countries": ["us", "CA"]},
        )
        assert added.status_code == 201, added.text
        assert added.json()["countries"] == ["CA", "US"]
        listed = (await gw.client.get("/v1/senders", headers=gw.auth())).json()["data"]
        assert [s["value"] for s in listed] == ["+14155550100"]

        to_us = await gw.client.post(
            "/send", headers=gw.auth(), json={"to": "+14155552671", "message": "hi", "from": "ACME"}
        )
        assert to_us.status_code == 202, to_us.text
        body = to_us.json()
        assert body["from"] == "+14155550100"
        assert body["sender_adapted"]["requested"] == "ACME"
        assert "US" in body["sender_adapted"]["reason"]
        got = await gw.client.get(f"/v1/messages/{body['message_id']}", headers=gw.auth())
        assert got.json()["from"] == "+14155550100"
        assert got.json()["sender_adapted"] == body["sender_adapted"]

        to_de = await gw.client.post(
            "/send",
            headers=gw.auth(),
            json={"to": "+4915112345678", "message": "hi", "from": "ACME"},
        )
        assert to_de.json()["from"] == "ACME" and to_de.json()["sender_adapted"] is None

        to_br = await gw.client.post(
            "/send",
            headers=gw.auth(),
            json={"to": "+5511987654321", "message": "hi", "from": "ACME"},
        )
        assert to_br.status_code == 422
        assert to_br.json()["error"]["code"] == "sender_not_allowed"
        assert to_br.json()["error"]["field"] == "from"

        batch = await gw.client.post(
            "/v1/messages/batch",
            headers=gw.auth(),
            json={
                "messages": [
                    {"to": "+5511987654321", "message": "a", "from": "ACME"},
                    {"to": "+4915112345678", "message": "b", "from": "ACME"},
                ]
            },
        )
        results = batch.json()["results"]
        assert results[0]["error"]["code"] == "sender_not_allowed"
        assert results[1]["status"] == "queued"

        # the pool number also receives the account's replies
        carrier = gw.relay.embedded_carrier
        assert carrier is not None
        carrier.inject_mo("smsrelay", "14155552671", "14155550100", "thanks")

        async def replied() -> bool:
            page = (await gw.client.get("/v1/inbound", headers=gw.auth())).json()
            return any(m["message"] == "thanks" for m in page["data"])

        await wait_for(replied)

        gone = await gw.client.delete(f"/v1/senders/{listed[0]['sender_id']}", headers=gw.auth())
        assert gone.status_code == 200
        again = await gw.client.delete(f"/v1/senders/{listed[0]['sender_id']}", headers=gw.auth())
        assert again.status_code == 404
        numbers = (await gw.client.get("/v1/admin/numbers", headers=gw.auth())).json()["data"]
        assert numbers == []


async def test_bad_pool_entries_are_refused(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        for body, field in [
            ({"type": "long_code", "value": "ACME"}, "value"),
            ({"type": "alphanumeric", "value": "ACME", "countries": ["XX"]}, "countries"),
            ({"type": "pigeon", "value": "ACME"}, "type"),
        ]:
            r = await gw.client.post("/v1/senders", headers=gw.auth(), json=body)
            assert r.status_code == 422, r.text
            assert r.json()["error"]["field"] == field
        ok = await gw.client.post(
            "/v1/senders", headers=gw.auth(), json={"type": "alphanumeric", "value": "ACME"}
        )
        assert ok.status_code == 201
        twice = await gw.client.post(
            "/v1/senders", headers=gw.auth(), json={"type": "alphanumeric", "value": "ACME"}
        )
        assert twice.status_code == 409
