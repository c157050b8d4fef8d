"""POST /send and /v1/messages: answered below FastAPI's router, with the same answers and
described in the OpenAPI document from the same models."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi.routing import APIRoute

from smsrelay.gateway.http.app import create_app
from smsrelay.gateway.http.schemas import Accepted, SendBody
from smsrelay.store import accounts as account_store
from tests.support.gateway import running_gateway

GOOD = b'{"to": "+14155552671", "message": "hello"}'


async def test_authentication_comes_before_the_body(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        async with gw.relay.db.transaction() as conn:
            account = await account_store.get_account_by_name(conn, "default")
            assert account is not None
            _, read_only = await account_store.create_api_key(
                conn, account.id, ["read"], time.time()
            )
        for path in ("/send", "/v1/messages"):
            r = await gw.client.post(path, content=b"not json")
            assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
            assert r.headers["www-authenticate"] == "Bearer"
            r = await gw.client.post(
                path, content=b"not json", headers={"Authorization": "Bearer sr_nope_nope"}
            )
            assert r.status_code == 401
            r = await gw.client.post(path, content=GOOD, headers=gw.auth(read_only))
            assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_body_shapes_the_routes_would_refuse(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        for body, status, code, field in [
            (b"", 422, "validation_error", None),
            (b"null", 422, "validation_error", None),
            (b"{", 400, "invalid_json", None),
            (b'{"to": "+14155552671"}', 422, "validation_error", "message"),
            (
                b'{"to": "+14155552671", "message": "hi", "priority": "x"}',
                422,
                "validation_error",
                "priority",
            ),
        ]:
            r = await gw.client.post("/send", content=body, headers=gw.auth())
            error = r.json()["error"]
            assert (r.status_code, error["code"]) == (status, code), (body, r.text)
            assert error.get("field") == field, (body, r.text)


async def test_a_body_sent_in_chunks_is_read_whole(tmp_path: Path) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(GOOD), 7):
            yield GOOD[start : start + 7]

    async with running_gateway(tmp_path) as gw:
        r = await gw.client.post("/v1/messages", content=chunks(), headers=gw.auth())
        assert r.status_code == 202, r.text
        message_id = r.json()["message_id"]
        got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
        assert got.json()["to"] == "+14155552671"


async def test_idempotent_replay_through_the_fast_path(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        headers = {**gw.auth(), "Idempotency-Key": "k-1"}
        first = await gw.client.post("/send", content=GOOD, headers=headers)
        again = await gw.client.post("/send", content=GOOD, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["message_id"] == first.json()["message_id"]


def test_openapi_describes_the_send_paths_from_the_models_that_validate_them() -> None:
    app = create_app()
    routes = {(r.path, m) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert ("/send", "POST") not in routes and ("/v1/messages", "POST") not in routes
    document = app.openapi()
    for path in ("/send", "/v1/messages"):
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/SendBody"}
        assert set(operation["responses"]) >= {"202", "401", "422", "429"}
        assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Accepted"
        }
    assert document["paths"]["/v1/messages"]["get"]  # FastAPI's own routes are still there
    schema = document["components"]["schemas"]["SendBody"]
    assert set(schema["required"]) == {
        name for name, field in SendBody.model_fields.items() if field.is_required()
    }
    assert set(document["components"]["schemas"]["Accepted"]["properties"]) == {
        field.serialization_alias or name for name, field in Accepted.model_fields.items()
    }


def test_every_operation_documents_the_errors_the_layers_around_it_answer() -> None:
    document = create_app().openapi()
    assert "ErrorResponse" in document["components"]["schemas"]
    checked = 0
    for path, operations in document["paths"].items():
        if not (path == "/send" or path.startswith("/v1/")):
            continue
        for operation in operations.values():
            listed = set(operation["responses"])
            assert "404" in listed, path
            if not path.startswith("/v1/providers/"):
                assert {"401", "403"} <= listed, path
            if "requestBody" in operation:
                assert {"400", "413"} <= listed, path
            checked += 1
    assert checked > 40
