"""``registration`` on the send API: checked, stored apart, shown, and the account's DLT entity
id filled in for destinations in India only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

IN = "+919812345678"
UK = "+447700900123"
PE = "1101456780000012345"
TEMPLATE = "1107161234567890123"


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, backend) as gateway:
        yield gateway


async def send(gw: RunningGateway, to: str, **body: Any) -> dict[str, Any]:
    r = await gw.client.post("/send", json={"to": to, "message": "Hi", **body}, headers=gw.auth())
    assert r.status_code == 202, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def shown(gw: RunningGateway, message_id: str) -> Any:
    r = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
    assert r.status_code == 200
    return r.json()["registration"]


async def test_the_ids_given_are_answered_stored_and_shown(gw: RunningGateway) -> None:
    ids = {"entity_id": PE, "template_id": TEMPLATE}
    answer = await send(gw, IN, registration=ids)
    expected = {**ids, "telemarketer_id": None}
    assert answer["registration"] == expected
    assert await shown(gw, answer["message_id"]) == expected
    r = await gw.client.post(
        "/v1/messages", json={"to": IN, "message": "Hi", "registration": ids}, headers=gw.auth()
    )
    assert r.json()["registration"] == expected


async def test_no_ids_no_registration(gw: RunningGateway) -> None:
    for body in ({}, {"registration": None}, {"registration": {}}):
        answer = await send(gw, IN, **body)
        assert answer["registration"] is None
        assert await shown(gw, answer["message_id"]) is None


@pytest.mark.parametrize(
    ("registration", "field", "says"),
    [
        ({"entity_id": ""}, "registration.entity_id", "1 to 64"),
        ({"template_id": "x" * 65}, "registration.template_id", "1 to 64"),
        ({"template_id": "tpl\u00e9"}, "registration.template_id", "printable ASCII"),
        ({"telemarketer_id": "a\nb"}, "registration.telemarketer_id", "printable ASCII"),
        ({"entity_id": 1101456780000012345}, "registration.entity_id", "string"),
        ({"pe_hash": "ab12"}, "registration.pe_hash", "Extra inputs"),
        ("1101456780000012345", "registration", "dictionary"),
    ],
)
async def test_bad_ids_are_a_422_naming_the_field(
    gw: RunningGateway, registration: Any, field: str, says: str
) -> None:
    for path in ("/send", "/v1/messages"):
        r = await gw.client.post(
            path,
            json={"to": IN, "message": "Hi", "registration": registration},
            headers=gw.auth(),
        )
        error = r.json()["error"]
        assert (r.status_code, error["code"], error["field"]) == (422, "validation_error", field)
        assert says in error["message"]


async def test_the_accounts_entity_id_goes_to_india_only(gw: RunningGateway) -> None:
    r = await gw.client.patch(
        "/v1/admin/accounts/default", json={"dlt_entity_id": PE}, headers=gw.auth()
    )
    assert r.status_code == 200 and r.json()["dlt_entity_id"] == PE

    india = await send(gw, IN, registration={"template_id": TEMPLATE})
    assert india["registration"] == {
        "entity_id": PE,
        "template_id": TEMPLATE,
        "telemarketer_id": None,
    }
    bare = await send(gw, IN)
    assert bare["registration"] == {"entity_id": PE, "template_id": None, "telemarketer_id": None}
    own = await send(gw, IN, registration={"entity_id": "OWN-PE"})
    assert own["registration"]["entity_id"] == "OWN-PE"
    # a UK message does not grow Indian ids, but ids the client gives are carried
    assert (await send(gw, UK))["registration"] is None
    explicit = await send(gw, UK, registration={"template_id": TEMPLATE})
    assert explicit["registration"] == {
        "entity_id": None,
        "template_id": TEMPLATE,
        "telemarketer_id": None,
    }

    cleared = await gw.client.patch(
        "/v1/admin/accounts/default", json={"dlt_entity_id": None}, headers=gw.auth()
    )
    assert cleared.json()["dlt_entity_id"] is None
    assert (await send(gw, IN))["registration"] is None


async def test_a_bad_account_entity_id_is_refused(gw: RunningGateway) -> None:
    r = await gw.client.patch(
        "/v1/admin/accounts/default", json={"dlt_entity_id": "PE\u00e9"}, headers=gw.auth()
    )
    error = r.json()["error"]
    assert (r.status_code, error["field"]) == (422, "dlt_entity_id")


async def test_batch_items_carry_their_own_ids(gw: RunningGateway) -> None:
    r = await gw.client.post(
        "/v1/messages/batch",
        json={
            "messages": [
                {"to": IN, "message": "a", "registration": {"template_id": TEMPLATE}},
                {"to": IN, "message": "b"},
                {"to": IN, "message": "c", "registration": {"template_id": "\u0000"}},
            ]
        },
        headers=gw.auth(),
    )
    assert r.status_code == 202, r.text
    first, second, third = r.json()["results"]
    assert first["registration"]["template_id"] == TEMPLATE
    assert second["registration"] is None
    assert third["error"]["field"] == "registration.template_id"
    assert await shown(gw, first["message_id"]) == first["registration"]
