"""Marketing senders marked for the destination over HTTP: the answer and the message record
show the sender used and why; transactional messages and other countries are untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

UAE = "+971501234567"
SAUDI = "+966501234567"


async def _send(gw: RunningGateway, to: str, sender: str, kind: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = await gw.client.post(
        "/send",
        headers=gw.auth(),
        json={"to": to, "message": "Sale today", "from": sender, "kind": kind},
    )
    return r.status_code, r.json()


async def test_marketing_senders_carry_the_destinations_mark(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        status, body = await _send(gw, UAE, "ACME", "marketing")
        assert status == 202, body
        assert body["from"] == "AD-ACME"
        assert body["sender_adapted"]["requested"] == "ACME"
        assert "AE requires marketing sender ids marked AD-" in body["sender_adapted"]["reason"]
        stored = await gw.client.get(f"/v1/messages/{body['message_id']}", headers=gw.auth())
        assert stored.json()["from"] == "AD-ACME"
        assert stored.json()["sender_adapted"] == body["sender_adapted"]

        status, body = await _send(gw, SAUDI, "ACME", "marketing")
        assert status == 202 and body["from"] == "ACME-AD", body

        for to, sender, kind in (
            (UAE, "ACME", "transactional"),
            (UAE, "AD-ACME", "marketing"),
            ("+4915112345678", "ACME", "marketing"),
        ):
            status, body = await _send(gw, to, sender, kind)
            assert status == 202, body
            assert body["from"] == sender and body["sender_adapted"] is None

        status, body = await _send(gw, UAE, "BRANDNAMES", "marketing")
        assert status == 422 and body["error"]["code"] == "sender_not_allowed", body
        assert "'AD-BRANDNAMES' has 13" in body["error"]["message"]


async def test_an_operator_override_changes_the_mark(tmp_path: Path, backend: str) -> None:
    async with running_gateway(
        tmp_path, backend, countries={"SA": {"marketing_sender_tag": {"suffix": " AD"}}}
    ) as gw:
        status, body = await _send(gw, SAUDI, "ACME", "marketing")
        assert status == 202 and body["from"] == "ACME AD", body
        country = (await gw.client.get("/v1/countries/SA", headers=gw.auth())).json()
        rule = country["marketing_sender_tag"]
        assert rule["value"] == {"suffix": " AD"}
        assert rule["alternatives"][0]["value"]["suffix"] == "-AD"
