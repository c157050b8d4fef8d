"""The seed's promise over real sockets: POST /send → stored → simulator → webhook, verified.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store import webhooks as webhook_store
from tests.support.gateway import running_gateway, webhook_receiver
from tests.support.servers import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


async def _set_webhook(gw, url: str) -> str:  # type: ignore[no-untyped-def]
    async with gw.relay.db.transaction() as conn:
        account = await account_store.update_account(conn, "default", webhook_url=url)
    return account.webhook_secret


async def _secret(gw) -> str:  # type: ignore[no-untyped-def]
    async with gw.relay.db.read() as conn:
        account = await account_store.get_account_by_name(conn, "default")
    assert account is not None
    return account.webhook_secret


async def test_send_is_delivered_and_the_signed_webhook_arrives(
    tmp_path: Path, backend: str
) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        secret = await _secret(gw)
        async with webhook_receiver(secret) as (hook_url, callbacks):
            await _set_webhook(gw, hook_url)
            r = await gw.client.post(
                "/send",
                headers=gw.auth(),
                json={"to": "+1234567890", "message": "Your verification code is 1234"},
            )
            assert r.status_code == 202, r.text
            body = r.json()
            assert body["status"] == "queued"
            assert body["segments"] == 1 and body["encoding"] == "gsm7"
            message_id = body["message_id"]

            async def delivered() -> bool:
                got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
                return got.json()["status"] == "delivered"

            try:
                await wait_for(delivered)
            except AssertionError:
                got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
                raise AssertionError(f"{got.json()} {gw.relay.dispatcher.stats}") from None
            await wait_for(lambda: "delivered" in callbacks.for_message(message_id))
            assert callbacks.for_message(message_id) == ["sent", "delivered"]
            assert all(verified for _, verified in callbacks.received)
            first = callbacks.received[-1][0]
            assert list(first)[:3] == ["message_id", "status", "timestamp"]
            assert first["to"] == "+1234567890" and first["segments"] == 1

            got = (await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())).json()
            assert [e["status"] for e in got["events"]] == [
                "queued",
                "sending",
                "sent",
                "delivered",
            ]
            assert len(got["carrier_ids"]) == 1


async def test_webhook_signed_with_another_secret_is_not_verified(
    tmp_path: Path, backend: str
) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        async with webhook_receiver("whsec_wrong") as (hook_url, callbacks):
            await _set_webhook(gw, hook_url)
            r = await gw.client.post(
                "/send", headers=gw.auth(), json={"to": "+14155552671", "message": "hi"}
            )
            assert r.status_code == 202
            await wait_for(lambda: len(callbacks.received) >= 1)
            assert callbacks.received[0][1] is False
            # a 401 from the receiver is a failed attempt: recorded, and retried later
            message_id = r.json()["message_id"]

            async def attempt_recorded() -> bool:
                async with gw.relay.db.read() as conn:
                    deliveries = await webhook_store.list_webhook_deliveries(conn, message_id)
                return (
                    bool(deliveries)
                    and deliveries[0].last_status_code == 401
                    and deliveries[0].state == "pending"
                    and deliveries[0].attempts >= 1
                )

            await wait_for(attempt_recorded)


async def test_idempotent_replay_sends_nothing_new(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        headers = {**gw.auth(), "Idempotency-Key": "order-42"}
        payload = {"to": "+14155552671", "message": "Your code is 9999"}
        first = await gw.client.post("/v1/messages", headers=headers, json=payload)
        again = await gw.client.post(
            "/v1/messages",
            headers=headers,
            content=b'{"message": "Your code is 9999", "to": "+14155552671"}',
        )
        assert first.status_code == again.status_code == 202
        assert again.json()["message_id"] == first.json()["message_id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = await gw.client.post(
            "/v1/messages", headers=headers, json={**payload, "message": "another text"}
        )
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_conflict"
        listed = (await gw.client.get("/v1/messages", headers=gw.auth())).json()
        assert len(listed["data"]) == 1


async def test_batch_with_valid_and_invalid_items(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        r = await gw.client.post(
            "/v1/messages/batch",
            headers=gw.auth(),
            json={
                "messages": [
                    {"to": "+14155552671", "message": "one"},
                    {"to": "not a number", "message": "two"},
                    {"to": "+4915112345678", "message": "three", "client_ref": "c3"},
                    {"to": "+4915112345678", "message": ""},
                    {"to": "+4915112345678", "message": 12},
                    {"to": "+33612345678", "message": "ж" * 71},
                ]
            },
        )
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["accepted"] == 3 and body["rejected"] == 3
        results = body["results"]
        assert [x["index"] for x in results] == list(range(6))
        assert results[1]["error"]["code"] == "invalid_number"
        assert results[3]["error"]["code"] == "empty_message"
        assert results[4]["error"]["code"] == "validation_error"
        assert results[5]["encoding"] == "ucs2" and results[5]["segments"] == 2
        for index in (0, 2, 5):
            got = await gw.client.get(
                f"/v1/messages/{results[index]['message_id']}", headers=gw.auth()
            )
            assert got.status_code == 200
        too_many = await gw.client.post(
            "/v1/messages/batch",
            headers=gw.auth(),
            json={"messages": [{"to": "+14155552671", "message": "x"}] * 1001},
        )
        assert too_many.status_code == 422
        assert too_many.json()["error"]["code"] == "batch_too_large"


async def test_other_accounts_cannot_see_a_message(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        async with gw.relay.db.transaction() as conn:
            other = await account_store.create_account(conn, "other", time.time())
            _, other_key = await account_store.create_api_key(
                conn, other.id, ["send", "read"], time.time()
            )
            _, read_only = await account_store.create_api_key(conn, other.id, ["read"], time.time())
        sent = await gw.client.post(
            "/send", headers=gw.auth(), json={"to": "+14155552671", "message": "mine"}
        )
        message_id = sent.json()["message_id"]
        peek = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth(other_key))
        assert peek.status_code == 404
        assert peek.json()["error"]["code"] == "not_found"
        cancel = await gw.client.post(
            f"/v1/messages/{message_id}/cancel", headers=gw.auth(other_key)
        )
        assert cancel.status_code == 404
        listing = await gw.client.get("/v1/messages", headers=gw.auth(other_key))
        assert listing.json()["data"] == []
        forbidden = await gw.client.post(
            "/send", headers=gw.auth(read_only), json={"to": "+14155552671", "message": "x"}
        )
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "forbidden"
        for headers in (
            {},
            {"Authorization": "Bearer sr_nope_nope"},
            {"Authorization": "Basic abc"},
        ):
            denied = await gw.client.post(
                "/send", headers=headers, json={"to": "+14155552671", "message": "x"}
            )
            assert denied.status_code == 401
            assert denied.json()["error"]["code"] == "unauthorized"


async def test_spintax_variant_is_recorded(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        r = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(),
            json={"to": "+14155552671", "message": "{Hello|Hi|Hey} your code is {1234|5678}"},
        )
        assert r.status_code == 202
        variant = r.json()["variant"]
        assert variant
        got = (
            await gw.client.get(f"/v1/messages/{r.json()['message_id']}", headers=gw.auth())
        ).json()
        assert got["variant"] == variant
        greeting, _, rest = got["message"].partition(" ")
        assert greeting in {"Hello", "Hi", "Hey"}
        assert rest in {"your code is 1234", "your code is 5678"}
        bad = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(),
            json={"to": "+14155552671", "message": "{Hello|Hi your code", "spintax": True},
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "spintax_syntax"
        literal = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(),
            json={"to": "+14155552671", "message": "{Hello|Hi}", "spintax": False},
        )
        assert literal.json()["variant"] is None


async def test_cancel_scheduled_message(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        r = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(),
            json={"to": "+14155552671", "message": "later", "send_at": "2099-01-01T00:00:00Z"},
        )
        assert r.status_code == 422  # more than 90 days ahead
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        r = await gw.client.post(
            "/v1/messages",
            headers=gw.auth(),
            json={"to": "+14155552671", "message": "later", "send_at": soon},
        )
        assert r.status_code == 202 and r.json()["status"] == "scheduled"
        message_id = r.json()["message_id"]
        canceled = await gw.client.post(f"/v1/messages/{message_id}/cancel", headers=gw.auth())
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        again = await gw.client.post(f"/v1/messages/{message_id}/cancel", headers=gw.auth())
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "not_cancelable"
        async with gw.relay.db.read() as conn:
            stored = await message_store.get_message(conn, message_id)
        assert stored is not None and stored.status == "canceled"
