"""The destination's segment and UCS-2 rules over HTTP: a message beyond them is refused with
the rule and its source, nothing is stored, and an operator's override lifts the bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

THAI = "+66812345678"
KOREAN = "+821012345678"


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, backend, countries={"DE": {"ucs2": False}}) as gateway:
        yield gateway


async def _send(gw: RunningGateway, to: str, text: str, **more: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = await gw.client.post("/send", headers=gw.auth(), json={"to": to, "message": text, **more})
    return r.status_code, r.json()


async def _stored(gw: RunningGateway) -> int:
    r = await gw.client.get("/v1/messages", headers=gw.auth())
    assert r.status_code == 200, r.text
    return len(r.json()["data"])


async def test_beyond_the_segments_a_destination_delivers(gw: RunningGateway) -> None:
    status, body = await _send(gw, THAI, "x" * 460)
    assert status == 422, body
    assert body["error"]["code"] == "message_too_long" and body["error"]["field"] == "message"
    assert "TH delivers at most 3 segments" in body["error"]["message"]
    assert "https://" in body["error"]["message"]
    status, body = await _send(gw, KOREAN, "y" * 161)
    assert status == 422 and "KR does not join concatenated parts" in body["error"]["message"]
    assert await _stored(gw) == 0
    status, body = await _send(gw, THAI, "x" * 459)
    assert status == 202 and body["segments"] == 3, body


async def test_russia_is_bounded_only_once_the_operator_decides(gw: RunningGateway) -> None:
    russian = "+79161234567"
    status, body = await _send(gw, russian, "z" * 300)
    assert status == 202 and body["segments"] == 2, body  # its sources disagree
    r = await gw.client.put(
        "/v1/admin/countries/RU", headers=gw.auth(), json={"concatenation": False}
    )
    assert r.status_code == 200, r.text
    status, body = await _send(gw, russian, "z" * 300)
    assert status == 422 and "RU does not join" in body["error"]["message"], body


async def test_an_operator_override_lifts_the_bound(gw: RunningGateway) -> None:
    r = await gw.client.put("/v1/admin/countries/TH", headers=gw.auth(), json={"max_segments": 5})
    assert r.status_code == 200, r.text
    status, body = await _send(gw, THAI, "x" * 460)
    assert status == 202 and body["segments"] == 4, body


async def test_a_destination_without_ucs2(gw: RunningGateway) -> None:
    status, body = await _send(gw, "+4915123456789", "Привет")
    assert status == 400 and body["error"]["code"] == "invalid_encoding", body
    assert "DE does not deliver UCS-2" in body["error"]["message"]
    status, body = await _send(gw, "+4915123456789", "Olá, ação!", encoding="transliterate")
    assert status == 202 and body["encoding"] == "gsm7", body
    assert await _stored(gw) == 1
