"""Infobip: our connector against the local Infobip; unsigned callbacks guarded by the token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsrelay.connectors.http.provider import Callback, SendContext
from smsrelay.connectors.http.providers.infobip import Infobip
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Encoding, OutboundMessage, ReceiptStatus
from smsrelay.httpclient import HttpResponse
from smsrelay.simulator.providers import FakeConfig
from smsrelay.simulator.providers.infobip import InfobipFake
from tests.connectors.http.journeys import message, reaches, send, stop_is_suppressed
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import serve_app, wait_for

API_KEY = "infobip-test-key"
STATUS_URL = "https://gw.example.com/v1/providers/infobip-eu/status?token=t"

# Infobip's delivery report as its API reference shows it ("Receive outbound SMS message
# report", https://www.infobip.com/docs/api/channels/sms/sms-messaging/logs-and-status-reports/
# receive-outbound-sms-message-report): a "results" list, one report per message.
DOC_REPORT: dict[str, Any] = {
    "results": [
        {
            "bulkId": "BULK-ID-123-xyz",
            "messageId": "MESSAGE-ID-123-xyz",
            "to": "41793026727",
            "sentAt": "2019-11-09T16:00:00.000+0000",
            "doneAt": "2019-11-09T16:00:00.000+0000",
            "smsCount": 1,
            "mccMnc": "22801",
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "callbackData": "DLR callback data",
            "status": {
                "groupId": 3,
                "groupName": "DELIVERED",
                "id": 5,
                "name": "DELIVERED_TO_HANDSET",
                "description": "Message delivered to handset",
            },
            "error": {
                "groupId": 0,
                "groupName": "OK",
                "id": 0,
                "name": "NO_ERROR",
                "description": "No Error",
                "permanent": False,
            },
        }
    ]
}
# its inbound message ("Receive inbound SMS messages", same reference)
DOC_INBOUND: dict[str, Any] = {
    "results": [
        {
            "messageId": "817790313235066447",
            "from": "385916242493",
            "to": "385921004026",
            "text": "QUIZ Correct answer is Paris",
            "cleanText": "Correct answer is Paris",
            "keyword": "QUIZ",
            "receivedAt": "2016-10-06T09:28:39.220+0000",
            "smsCount": 1,
            "price": {"pricePerMessage": 0, "currency": "EUR"},
            "callbackData": "callbackData",
        }
    ],
    "messageCount": 1,
    "pendingMessageCount": 0,
}


def _options(base_url: str = "http://x") -> HttpOptions:
    return HttpOptions(
        name="infobip-eu",
        provider="infobip",
        base_url=base_url,
        credentials={"api_key": API_KEY},
        default_sender="InfoSMS",
    )


def _json(url: str, payload: Any) -> Callback:
    return Callback("POST", url, {"content-type": "application/json"}, json.dumps(payload).encode())


def _error(name: str, text: str) -> bytes:
    return json.dumps(
        {"requestError": {"serviceException": {"messageId": name, "text": text}}}
    ).encode()


def _answer(status: dict[str, Any]) -> bytes:
    return json.dumps(
        {"bulkId": "b1", "messages": [{"to": "41793026727", "messageId": "m1", "status": status}]}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, _error("UNAUTHORIZED", "Invalid login details"), ErrorCode.CARRIER_AUTH_FAILED),
        (400, _error("UNAUTHORIZED", "Invalid login details"), ErrorCode.CARRIER_AUTH_FAILED),
        (429, _error("TOO_MANY_REQUESTS", "Too many requests"), ErrorCode.CARRIER_THROTTLED),
        (400, _error("BAD_REQUEST", "Bad request"), ErrorCode.CARRIER_REJECTED),
        (500, _error("GENERAL_ERROR", "Something went wrong"), ErrorCode.CARRIER_SYSTEM_ERROR),
        (502, b"<html>bad gateway</html>", ErrorCode.CARRIER_SYSTEM_ERROR),
        (
            200,
            _answer(
                {"groupId": 5, "groupName": "REJECTED", "id": 52, "name": "REJECTED_DESTINATION"}
            ),
            ErrorCode.INVALID_DESTINATION,
        ),
        (
            200,
            _answer({"groupId": 5, "id": 12, "name": "REJECTED_NOT_ENOUGH_CREDITS"}),
            ErrorCode.CARRIER_AUTH_FAILED,
        ),
        (
            200,
            _answer({"groupId": 5, "groupName": "REJECTED", "id": 13, "name": "REJECTED_SENDER"}),
            ErrorCode.INVALID_SENDER,
        ),
        (
            200,
            _answer({"groupId": 5, "groupName": "REJECTED", "id": 99, "name": "REJECTED_OTHER"}),
            ErrorCode.CARRIER_REJECTED,
        ),
        (200, b'{"bulkId": "b1", "messages": []}', ErrorCode.CARRIER_SYSTEM_ERROR),
    ],
)
def test_answers_map_to_the_catalogue(status: int, body: bytes, error: ErrorCode) -> None:
    outcome = Infobip().sent(HttpResponse(status, {}, body))
    assert outcome.error is error and outcome.detail


def test_an_accepted_message_is_its_message_id() -> None:
    pending = {"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED"}
    outcome = Infobip().sent(HttpResponse(200, {}, _answer(pending)))
    assert outcome.ok and outcome.carrier_ids == ("m1",)


def test_the_send_request_is_infobips() -> None:
    context = SendContext(_options(), STATUS_URL, "https://gw/inbound", now=1000.0)
    text = "Привет " * 40  # long and outside GSM-7: Infobip takes the whole text
    call = Infobip().send(
        OutboundMessage("msg_1", "+41793026727", text, Encoding.UCS2, 5, None, expires_at=4600.0),
        context,
    )
    assert (call.method, call.url) == ("POST", "http://x/sms/2/text/advanced")
    assert call.headers["Authorization"] == f"App {API_KEY}"
    assert json.loads(call.body) == {
        "messages": [
            {
                "destinations": [{"to": "41793026727"}],
                "from": "InfoSMS",
                "text": text,
                "notifyUrl": STATUS_URL,
                "notifyContentType": "application/json",
                "callbackData": "msg_1",
                "validityPeriod": 60,
            }
        ]
    }


def test_status_groups_map_to_ours() -> None:
    groups = {
        (1, "PENDING"): ReceiptStatus.ACCEPTED,
        (2, "UNDELIVERABLE"): ReceiptStatus.UNDELIVERED,
        (3, "DELIVERED"): ReceiptStatus.DELIVERED,
        (4, "EXPIRED"): ReceiptStatus.EXPIRED,
        (5, "REJECTED"): ReceiptStatus.REJECTED,
    }
    infobip = Infobip()
    for (group_id, name), ours in groups.items():
        for status in ({"groupId": group_id, "groupName": name}, {"groupId": group_id}):
            payload = {"results": [{"messageId": "m9", "status": status}]}
            [report] = infobip.reports(_json(STATUS_URL, payload), "i", 1.0)
            assert (report.carrier_id, report.status) == ("m9", ours)


def test_the_documented_callbacks_read() -> None:
    infobip = Infobip()
    [report] = infobip.reports(_json(STATUS_URL, DOC_REPORT), "infobip-eu", 5.0)
    assert (report.carrier_id, report.status, report.error) == (
        "MESSAGE-ID-123-xyz",
        ReceiptStatus.DELIVERED,
        None,
    )
    failed = json.loads(json.dumps(DOC_REPORT))
    failed["results"][0]["status"] = {"groupId": 2, "groupName": "UNDELIVERABLE"}
    failed["results"][0]["error"] = {"groupId": 1, "id": 27, "name": "EC_ABSENT_SUBSCRIBER"}
    [report] = infobip.reports(_json(STATUS_URL, failed), "infobip-eu", 5.0)
    assert report.status is ReceiptStatus.UNDELIVERED
    assert report.error == "infobip 27 EC_ABSENT_SUBSCRIBER"
    [mo] = infobip.inbound(_json(STATUS_URL, DOC_INBOUND), "infobip-eu", 5.0)
    assert (mo.sender, mo.to, mo.body, mo.carrier_id) == (
        "+385916242493",
        "+385921004026",
        "QUIZ Correct answer is Paris",
        "817790313235066447",
    )
    assert not infobip.signs(_options())


async def test_the_fake_batches_reports_that_fall_due_together() -> None:
    bodies: list[dict[str, Any]] = []

    async def receive(request: Request) -> Response:
        bodies.append(json.loads(await request.body()))
        return Response(status_code=200)

    async with serve_app(Starlette(routes=[Route("/dlr", receive, methods=["POST"])])) as url:
        fake = InfobipFake(FakeConfig(dlr_delay_ms=0))
        for n in range(3):
            fake.accept(f"4179302672{n}", "InfoSMS", "hi", f"{url}/dlr")
        await fake.settle()
        await fake.aclose()
    assert len(bodies) == 1
    assert [r["messageId"] for r in bodies[0]["results"]] == [s.id for s in fake.sent]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_send_report_and_stop_through_the_local_infobip(tmp_path: Path, backend: str) -> None:
    async with provider_fake("infobip", credentials={"api_key": API_KEY}, dlr_delay_ms=10) as (
        fake,
        fake_url,
    ):
        async with gateway_with(tmp_path, backend, [_options(fake_url)]) as gw:
            connector = gw.relay.connectors["infobip-eu"]
            assert "?token=" in connector.status_url and "?token=" in connector.inbound_url
            fake.config.inbound_url = connector.inbound_url
            message_id = await send(gw, "+41793026727", "Your code is 1234")
            got = await reaches(gw, message_id, "delivered")
            [sent] = fake.sent
            assert (sent.to, sent.sender, sent.text) == (
                "41793026727",
                "InfoSMS",
                "Your code is 1234",
            )
            assert got["carrier_ids"] == [sent.id]
            assert fake.callbacks and all(answer == 200 for _, answer in fake.callbacks)

            # a report without the token, or with a wrong one, changes nothing
            undelivered = {"results": [{"messageId": sent.id, "status": {"groupId": 2}}]}
            path = "/v1/providers/infobip-eu/status"
            for url in (path, f"{path}?token=wrong"):
                r = await gw.client.post(url, json=undelivered)
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
            assert (await message(gw, message_id))["status"] == "delivered"

            # the documented report, for two messages in one callback (Infobip batches)
            fake.config.dlr_delay_ms = 600_000
            first = await send(gw, "+41793026727", "one")
            second = await send(gw, "+41793026728", "two")
            await wait_for(lambda: len(fake.sent) == 3)
            await reaches(gw, first, "sent")
            await reaches(gw, second, "sent")
            batch = json.loads(json.dumps(DOC_REPORT))
            result = batch["results"][0]
            batch["results"] = [
                {**result, "messageId": fake.sent[1].id, "to": fake.sent[1].to},
                {
                    **result,
                    "messageId": fake.sent[2].id,
                    "to": fake.sent[2].to,
                    "status": {
                        "groupId": 4,
                        "groupName": "EXPIRED",
                        "id": 15,
                        "name": "EXPIRED_EXPIRED",
                    },
                },
            ]
            async with httpx.AsyncClient(timeout=10) as client:
                r = await client.post(connector.status_url, json=batch)
            assert r.status_code == 200, r.text
            await reaches(gw, first, "delivered")
            await reaches(gw, second, "expired")

            await stop_is_suppressed(gw, fake_url, "+41793026727", "+41793026700")
