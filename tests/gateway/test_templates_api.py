"""Registered content templates over the API: add, list, remove, match; bad input; tenants."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smsrelay.domain.content_templates import Template
from smsrelay.engine.content_templates import add_template
from smsrelay.store import accounts as account_store
from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

OTP = "Your OTP for ACME login is {#var#}. Do not share it. - ACME"
ORDER = "Dear {#var#}, your order {#var#} has shipped. - ACME"


async def _tenant_key(gw: RunningGateway, name: str, scopes: list[str]) -> str:
    async with gw.relay.db.transaction() as conn:
        account = await account_store.create_account(conn, name, time.time())
        _, key = await account_store.create_api_key(conn, account.id, scopes, time.time())
    return key


async def _add(gw: RunningGateway, key: str | None = None, **body: object) -> dict[str, object]:
    r = await gw.client.post("/v1/templates", headers=gw.auth(key), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_add_list_match_and_remove(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        otp = await _add(gw, template_id="1107161000000000001", text=OTP, entity_id="1101000")
        assert otp["category"] == "transactional" and otp["scheme"] == "india_dlt"
        assert str(otp["id"]).startswith("tpl_")
        loose = await _add(
            gw, template_id="1107161000000000002", text="Dear {#var#}", category="promotional"
        )
        await _add(gw, template_id="1107161000000000003", text=ORDER, category="service_implicit")
        listed = (await gw.client.get("/v1/templates", headers=gw.auth())).json()["data"]
        assert [t["template_id"] for t in listed] == [
            "1107161000000000001",
            "1107161000000000002",
            "1107161000000000003",
        ]

        found = await gw.client.post(
            "/v1/templates/match",
            headers=gw.auth(),
            json={"text": "Your OTP for ACME login is 482913. Do not share it. - ACME"},
        )
        assert found.status_code == 200, found.text
        assert found.json() == {
            "template_id": "1107161000000000001",
            "category": "transactional",
            "entity_id": "1101000",
            "id": otp["id"],
        }
        # both "Dear {#var#}" and ORDER match: the one with more fixed text wins
        order = await gw.client.post(
            "/v1/templates/match",
            headers=gw.auth(),
            json={"text": "Dear Asha, your order 42 has shipped. - ACME"},
        )
        assert order.json()["template_id"] == "1107161000000000003"

        missed = await gw.client.post(
            "/v1/templates/match",
            headers=gw.auth(),
            json={"text": "Your OTP for ACME login is 482913.  Do not share it. - ACME"},
        )
        assert missed.status_code == 404
        error = missed.json()["error"]
        assert error["code"] == "not_found" and error["field"] == "text"
        assert "would block it" in error["message"] and "1 to 30 characters" in error["message"]

        gone = await gw.client.delete(f"/v1/templates/{loose['id']}", headers=gw.auth())
        assert gone.status_code == 200 and gone.json() == {"removed": loose["id"]}
        again = await gw.client.delete(f"/v1/templates/{loose['id']}", headers=gw.auth())
        assert again.status_code == 404
        short = await gw.client.post(
            "/v1/templates/match", headers=gw.auth(), json={"text": "Dear Asha"}
        )
        assert short.status_code == 404  # the book let the removed template go at once
        paths = (await gw.client.get("/openapi.json")).json()["paths"]
        assert {"get", "post"} <= set(paths["/v1/templates"])
        assert "post" in paths["/v1/templates/match"]
        assert "delete" in paths["/v1/templates/{entry_id}"]


async def test_bad_templates_and_duplicates_are_refused(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        for body, field, says in [
            ({"template_id": "1", "text": ""}, "text", "empty"),
            ({"template_id": "1", "text": "Hi {#VAR#}"}, "text", "written {#var#} exactly"),
            ({"template_id": "1", "text": "{#var#}{#var#}"}, "text", "no fixed text"),
            ({"template_id": "", "text": "Hi {#var#}"}, "template_id", "template_id is empty"),
            ({"template_id": "1", "text": "x" * 2001}, "text", ""),
            ({"template_id": "1", "text": "Hi {#var#}", "category": "urgent"}, "category", ""),
        ]:
            r = await gw.client.post("/v1/templates", headers=gw.auth(), json=body)
            assert r.status_code == 422, r.text
            assert r.json()["error"]["field"] == field, r.text
            assert says in r.json()["error"]["message"]
        await _add(gw, template_id="1107", text="Hi {#var#}")
        twice = await gw.client.post(
            "/v1/templates", headers=gw.auth(), json={"template_id": "1107", "text": "Other"}
        )
        assert twice.status_code == 409
        assert twice.json()["error"]["code"] == "already_exists"
        assert len((await gw.client.get("/v1/templates", headers=gw.auth())).json()["data"]) == 1


async def test_tenants_see_and_match_only_their_own(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        mine = await _add(gw, template_id="1107", text=OTP)
        tenant = await _tenant_key(gw, "acme", ["send", "read", "admin"])
        sender = await _tenant_key(gw, "beta", ["send"])

        listed = await gw.client.get("/v1/templates", headers=gw.auth(tenant))
        assert listed.status_code == 200 and listed.json()["data"] == []
        named = await gw.client.get("/v1/templates?account=default", headers=gw.auth(tenant))
        assert named.status_code == 403
        foreign = await gw.client.delete(f"/v1/templates/{mine['id']}", headers=gw.auth(tenant))
        assert foreign.status_code == 404
        text = "Your OTP for ACME login is 1. Do not share it. - ACME"
        nomatch = await gw.client.post(
            "/v1/templates/match", headers=gw.auth(tenant), json={"text": text}
        )
        assert nomatch.status_code == 404
        assert (await gw.client.get("/v1/templates", headers=gw.auth(sender))).status_code == 403

        # the operator manages a tenant's list by naming it; the tenant then matches its text
        theirs = await _add(gw, template_id="1107", text=OTP, account="acme")
        match = await gw.client.post(
            "/v1/templates/match", headers=gw.auth(tenant), json={"text": text}
        )
        assert match.status_code == 200 and match.json()["id"] == theirs["id"]
        unknown = await gw.client.get("/v1/templates?account=nobody", headers=gw.auth())
        assert unknown.status_code == 404
        still = await gw.client.get("/v1/templates", headers=gw.auth())
        assert [t["id"] for t in still.json()["data"]] == [mine["id"]]


async def test_a_change_made_elsewhere_is_seen_on_refresh(tmp_path: Path, backend: str) -> None:
    """Another process (the CLI, a second gateway) writes to the database; this gateway's
    book holds what it read until its refresh sees the change."""
    async with running_gateway(tmp_path, backend) as gw:
        text = "Your OTP for ACME login is 7. Do not share it. - ACME"
        first = await gw.client.post("/v1/templates/match", headers=gw.auth(), json={"text": text})
        assert first.status_code == 404  # the account's (empty) list is now held
        async with gw.relay.db.transaction() as conn:
            account = await account_store.get_account_by_name(conn, "default")
            assert account is not None
            await add_template(conn, time.time(), account.id, Template("1107", OTP))
        book = gw.relay.templates
        assert await book.find(account.id, text) is None  # not re-read yet
        await book.refresh()
        found = await book.find(account.id, text)
        assert found is not None and found.template_id == "1107"
        r = await gw.client.post("/v1/templates/match", headers=gw.auth(), json={"text": text})
        assert r.status_code == 200
