"""The steps every provider's end-to-end test takes through a running gateway."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.gateway import RunningGateway
from tests.support.servers import wait_for


async def send(gw: RunningGateway, to: str, text: str, **extra: Any) -> str:
    """Send through the API; the message id."""
    r = await gw.client.post("/send", headers=gw.auth(), json={"to": to, "message": text, **extra})
    assert r.status_code == 202, r.text
    return str(r.json()["message_id"])


async def message(gw: RunningGateway, message_id: str) -> dict[str, Any]:
    got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def reaches(gw: RunningGateway, message_id: str, status: str) -> dict[str, Any]:
    """Wait until the message has ``status``; the message."""

    async def there() -> bool:
        return (await message(gw, message_id))["status"] == status

    await wait_for(there)
    return await message(gw, message_id)


async def stop_is_suppressed(gw: RunningGateway, fake_url: str, phone: str, ours: str) -> Any:
    """A STOP from ``phone`` to our number, through the fake's inbound injection, reaches the
    suppression list of the number's account; what our endpoint answered the fake."""
    r = await gw.client.post("/v1/admin/numbers", headers=gw.auth(), json={"number": ours})
    assert r.status_code in (200, 201), r.text
    async with httpx.AsyncClient(timeout=10) as client:
        injected = await client.post(
            f"{fake_url}/_fake/inbound", json={"from": phone, "to": ours, "text": "STOP"}
        )
    assert injected.status_code == 200, injected.text
    assert injected.json()["answer"] in (200, 204), injected.text

    async def suppressed() -> bool:
        page = (await gw.client.get("/v1/suppressions", headers=gw.auth())).json()
        return any(s["number"] == phone for s in page["data"])

    await wait_for(suppressed)
    return injected.json()["answer"]
