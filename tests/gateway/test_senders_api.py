"""Sender pools over the API, and the sender each message leaves with."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsrelay.store import accounts as account_store
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


async def test_a_destination_gets_a_sender_it_allows(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        # the shipped country rules: US takes no alphanumeric id and wants a registered
        # number, Germany takes any, Brazil no alphanumeric id
        added = await gw.client.post(
            "/v1/senders",
            headers=gw.auth(),
            json={
                "type": "long_code",
                "value": "+14155550100",
                "countries": ["us", "CA"],
                "registration": {"type": "10dlc", "id": "C1A2B3C"},
            },
        )
        assert added.status_code == 201, added.text
        assert added.json()["countries"] == ["CA", "US"]
        assert added.json()["registration"] == {"type": "10dlc", "id": "C1A2B3C"}
        listed = (await gw.client.get("/v1/senders", headers=gw.auth())).json()["data"]
        assert [(s["value"], s["registration"]) for s in listed] == [
            ("+14155550100", {"type": "10dlc", "id": "C1A2B3C"})
        ]

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
            (_number("toll_free", "+18885550100", "10dlc", "C1A2B3C"), "registration.type"),
            (_number("long_code", "+14155550100", "toll_free", "V1"), "registration.type"),
            (_number("long_code", "+14155550100", "tcr", "C1A2B3C"), "registration.type"),
            (_number("long_code", "+14155550100", "10dlc", "C" * 65), "registration.id"),
            (_number("long_code", "+14155550100", "10dlc", " "), "registration.id"),
            (_number("short_code", "12345", "10dlc", "C1A2B3C"), "registration"),
            (
                {"type": "long_code", "value": "+14155550100", "registration": "10dlc"},
                "registration",
            ),
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


def _number(type: str, value: str, registration: str, id: str) -> dict[str, Any]:
    return {"type": type, "value": value, "registration": {"type": registration, "id": id}}


async def _send(
    gw: RunningGateway, sender: str, to: str = "+14155552671", key: str | None = None
) -> httpx.Response:
    return await gw.client.post(
        "/send", headers=gw.auth(key), json={"to": to, "message": "hi", "from": sender}
    )


async def test_us_a2p_goes_only_from_registered_numbers(tmp_path: Path, backend: str) -> None:
    a2p = (
        "US takes A2P messages only from registered 10DLC numbers, verified toll-free numbers "
        "or short codes"
    )
    async with running_gateway(tmp_path, backend) as gw:
        ids = {}
        for body in [
            {"type": "long_code", "value": "+14155550100"},  # not registered
            _number("toll_free", "+18885550100", "toll_free", "TFV-0001"),
            _number("long_code", "+14155550101", "10dlc", "C1A2B3C"),
            # registered for Canada only: the pool records registrations, so they are checked
            {**_number("long_code", "+14165550100", "10dlc", "C9Z8Y7X"), "countries": ["CA"]},
        ]:
            added = await gw.client.post("/v1/senders", headers=gw.auth(), json=body)
            assert added.status_code == 201, added.text
            ids[body["value"]] = added.json()["sender_id"]

        # table of (requested, destination) → (sender used, reason)
        for requested, to, used, reason in [
            ("ACME", "+14155552671", "+18885550100", "US requires a numeric sender"),
            ("+14155550100", "+14155552671", "+18885550100", a2p),
            ("+14155550101", "+14155552671", "+14155550101", None),
            ("+18885550100", "+14155552671", "+18885550100", None),
            ("+14155550100", "+4915112345678", "+14155550100", None),  # Germany: kept
        ]:
            sent = await _send(gw, requested, to)
            assert sent.status_code == 202, sent.text
            body = sent.json()
            assert body["from"] == used
            adapted = {"requested": requested, "reason": reason} if reason else None
            assert body["sender_adapted"] == adapted
            stored = await gw.client.get(f"/v1/messages/{body['message_id']}", headers=gw.auth())
            assert (stored.json()["from"], stored.json()["sender_adapted"]) == (used, adapted)

        # without the toll-free number, the 10DLC one; then a short code alone
        await gw.client.delete(f"/v1/senders/{ids['+18885550100']}", headers=gw.auth())
        assert (await _send(gw, "+14155550100")).json()["from"] == "+14155550101"
        await gw.client.delete(f"/v1/senders/{ids['+14155550101']}", headers=gw.auth())
        short = await gw.client.post(
            "/v1/senders", headers=gw.auth(), json={"type": "short_code", "value": "12345"}
        )
        assert short.json()["registration"] is None
        assert (await _send(gw, "+14155550100")).json()["from"] == "12345"

        # nothing registered: refused, saying what the pool needs
        await gw.client.delete(f"/v1/senders/{short.json()['sender_id']}", headers=gw.auth())
        refused = await _send(gw, "+14155550100")
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("sender_not_allowed", "from")
        assert error["message"].startswith(a2p)
        assert "a long code registered with its 10DLC campaign id" in error["message"]

        # a pool that records no number's registration registers with its provider: kept
        await gw.client.delete(f"/v1/senders/{ids['+14165550100']}", headers=gw.auth())
        kept = await _send(gw, "+14155550100")
        assert kept.status_code == 202, kept.text
        assert (kept.json()["from"], kept.json()["sender_adapted"]) == ("+14155550100", None)

        # an account without a pool registers with its provider: its number is kept
        async with gw.relay.db.transaction() as conn:
            tenant = await account_store.create_account(conn, "acme", time.time())
            _, key = await account_store.create_api_key(conn, tenant.id, ["send"], time.time())
        kept = await _send(gw, "+14155550100", key=key)
        assert kept.status_code == 202, kept.text
        assert (kept.json()["from"], kept.json()["sender_adapted"]) == ("+14155550100", None)


async def test_a_number_registered_later_is_used_from_then_on(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        added = await gw.client.post(
            "/v1/senders",
            headers=gw.auth(),
            json={"type": "long_code", "value": "+14155550100", "countries": ["US"]},
        )
        sender_id = added.json()["sender_id"]
        canada = {**_number("long_code", "+14165550100", "10dlc", "C9Z8Y7X"), "countries": ["CA"]}
        assert (await gw.client.post("/v1/senders", headers=gw.auth(), json=canada)).is_success
        send = {"to": "+14155552671", "message": "hi", "from": "+14155550100"}
        before = await gw.client.post("/send", headers=gw.auth(), json=send)
        assert before.status_code == 422, before.text  # unregistered: nothing fits the US
        changed = await gw.client.patch(
            f"/v1/senders/{sender_id}",
            headers=gw.auth(),
            json={"registration": {"type": "10dlc", "id": "C1A2B3C"}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["registration"] == {"type": "10dlc", "id": "C1A2B3C"}
        after = await gw.client.post("/send", headers=gw.auth(), json=send)
        assert after.status_code == 202 and after.json()["from"] == "+14155550100", after.text

        wrong = await gw.client.patch(
            f"/v1/senders/{sender_id}",
            headers=gw.auth(),
            json={"registration": {"type": "toll_free", "id": "V1"}},
        )
        assert wrong.status_code == 422, wrong.text
        missing = await gw.client.patch(
            "/v1/senders/snd_nope", headers=gw.auth(), json={"registration": None}
        )
        assert missing.status_code == 404, missing.text
        cleared = await gw.client.patch(
            f"/v1/senders/{sender_id}", headers=gw.auth(), json={"registration": None}
        )
        assert cleared.status_code == 200 and cleared.json()["registration"] is None
