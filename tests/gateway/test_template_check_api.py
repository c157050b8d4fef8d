"""Content templates on the send path: a message to India gets the DLT template id its text
matches, a text no template matches is refused before anything is stored or billed, and an
account that keeps no templates is left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

IN = "+919812345678"
DE = "+4915112345678"
OTP_TEMPLATE = "1107161000000000001"
ALERT_TEMPLATE = "1107161000000000002"
PE = "1101000000000000001"


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, backend) as gateway:
        yield gateway


async def _send(gw: RunningGateway, to: str, text: str, **body: Any) -> tuple[int, Any]:
    r = await gw.client.post("/send", json={"to": to, "message": text, **body}, headers=gw.auth())
    return r.status_code, r.json()


async def _stored(gw: RunningGateway) -> int:
    return len((await gw.client.get("/v1/messages", headers=gw.auth())).json()["data"])


async def _keep(gw: RunningGateway, template_id: str, text: str, **more: Any) -> None:
    r = await gw.client.post(
        "/v1/templates",
        json={"template_id": template_id, "text": text, **more},
        headers=gw.auth(),
    )
    assert r.status_code == 201, r.text


async def test_an_account_without_templates_is_left_alone(gw: RunningGateway) -> None:
    status, body = await _send(gw, IN, "anything at all")
    assert status == 202 and body["registration"] is None, body


async def test_the_matching_template_fills_the_ids(gw: RunningGateway) -> None:
    await _keep(gw, OTP_TEMPLATE, "Your OTP is {#var#}. - ACME", entity_id=PE)
    await _keep(gw, ALERT_TEMPLATE, "Your order {#var#} has shipped. - ACME")
    status, body = await _send(gw, IN, "Your OTP is 4821. - ACME")
    assert status == 202, body
    assert body["registration"] == {
        "entity_id": PE,
        "template_id": OTP_TEMPLATE,
        "telemarketer_id": None,
    }
    got = await gw.client.get(f"/v1/messages/{body['message_id']}", headers=gw.auth())
    assert got.json()["registration"]["template_id"] == OTP_TEMPLATE

    status, body = await _send(
        gw, IN, "Your order A-17 has shipped. - ACME", registration={"entity_id": "PE-OWN"}
    )
    assert status == 202, body
    assert body["registration"]["template_id"] == ALERT_TEMPLATE
    assert body["registration"]["entity_id"] == "PE-OWN"  # the message's own id wins

    status, body = await _send(gw, DE, "not a template at all")
    assert status == 202 and body["registration"] is None, body


async def test_a_text_no_template_matches_is_refused_unstored(gw: RunningGateway) -> None:
    await _keep(gw, OTP_TEMPLATE, "Your OTP is {#var#}. - ACME")
    before = await _stored(gw)
    status, body = await _send(gw, IN, "Your  OTP is 4821. - ACME")  # two spaces
    assert status == 422, body
    assert body["error"]["code"] == "template_not_matched"
    assert body["error"]["field"] == "message"
    assert "none of the account's 1 DLT content templates" in body["error"]["message"]
    assert await _stored(gw) == before


async def test_a_named_template_must_match_its_text(gw: RunningGateway) -> None:
    await _keep(gw, OTP_TEMPLATE, "Your OTP is {#var#}. - ACME")
    status, body = await _send(gw, IN, "Something else", registration={"template_id": OTP_TEMPLATE})
    assert status == 422 and body["error"]["code"] == "template_not_matched", body
    assert OTP_TEMPLATE in body["error"]["message"]
    # an id the account does not keep is trusted as given
    status, body = await _send(gw, IN, "Something else", registration={"template_id": "1107999"})
    assert status == 202 and body["registration"]["template_id"] == "1107999", body
