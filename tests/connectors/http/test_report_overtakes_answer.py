"""A delivery report that arrives before the provider's answer to the send is kept, then
matched when the answer is recorded (as for SMPP)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smsrelay.connectors.options import GenericHttp, HttpOptions
from tests.connectors.http.support import gateway_with
from tests.support.servers import serve_app, wait_for


def _provider_that_reports_first() -> Starlette:
    """A provider that calls back with the final report before it answers the send."""
    counter = iter(range(1, 1_000_000))

    async def send(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        message_id = f"p-{next(counter)}"
        async with httpx.AsyncClient(timeout=10) as client:
            report = await client.post(
                body["report_url"], json={"id": message_id, "state": "DELIVRD"}
            )
        assert report.status_code == 200, report.text
        return JSONResponse({"message": {"id": message_id}})

    return Starlette(routes=[Route("/send", send, methods=["POST"])])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_report_ahead_of_the_answer_is_matched_later(tmp_path: Path, backend: str) -> None:
    async with serve_app(_provider_that_reports_first(), lifespan="off") as provider_url:
        options = HttpOptions(
            name="early",
            provider="generic",
            base_url=provider_url,
            default_sender="ACME",
            generic=GenericHttp(
                url="/send",
                body='{"to": "{to}", "text": "{text}", "report_url": "{status_url}"}',
                id_path="message.id",
                status_field="state",
                status_map={"DELIVRD": "delivered"},
            ),
        )
        async with gateway_with(tmp_path, backend, [options]) as gw:
            r = await gw.client.post(
                "/send", headers=gw.auth(), json={"to": "+14155550101", "message": "early"}
            )
            message_id = r.json()["message_id"]

            async def delivered() -> bool:
                got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
                return bool(got.json()["status"] == "delivered")

            await wait_for(delivered)
            got = (await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())).json()
            assert got["carrier_ids"] == ["p-1"]
            assert [e["status"] for e in got["events"]][-2:] == ["sent", "delivered"]
