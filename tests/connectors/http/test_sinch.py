"""Sinch: our connector against the local Sinch SMS REST API; callbacks guarded by the token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsrelay.connectors.http.provider import Callback, SendContext
from smsrelay.connectors.http.providers.sinch import Sinch
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Encoding, OutboundMessage, ReceiptStatus
from smsrelay.httpclient import HttpResponse
from tests.connectors.http.journeys import message, reaches, send, stop_is_suppressed
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import wait_for

PLAN, TOKEN = "sinchplan00000000000000000000001", "sinch-test-token"
STATUS_URL = "https://gw.example.com/v1/providers/sinch-us/status?token=t"

# Sinch's recipient delivery report as its SMS API reference shows it (Webhooks, "Delivery
# report", https://developers.sinch.com/docs/sms/api-reference/sms/tag/Webhooks/)
DOC_REPORT: dict[str, Any] = {
    "at": "2022-08-30T08:16:08.930Z",
    "batch_id": "01FC66621XXXXX119Z8PMV1QPQ",
    "client_reference": "a client reference",
    "code": 0,
    "operator_status_at": "2022-08-30T08:16:00Z",
    "recipient": "12345678910",
    "status": "Delivered",
    "type": "recipient_delivery_report_sms",
}
# its inbound message (Webhooks, "Incoming SMS", same reference)
DOC_INBOUND: dict[str, Any] = {
    "body": "This is a test message.",
    "from": "12015555555",
    "id": "01FC66621VHDBN119Z8PMV1AHY",
    "operator_id": "35000",
    "received_at": "2022-08-30T08:16:08.930Z",
    "sent_at": "2022-08-30T08:16:08.930Z",
    "to": "12345",
    "type": "mo_text",
}


def _options(base_url: str = "http://x") -> HttpOptions:
    return HttpOptions(
        name="sinch-us",
        provider="sinch",
        base_url=base_url,
        credentials={"service_plan_id": PLAN, "api_token": TOKEN},
        default_sender="+12015550100",
    )


def _json(url: str, payload: Any) -> Callback:
    return Callback("POST", url, {"content-type": "application/json"}, json.dumps(payload).encode())


def _error(code: str, text: str) -> bytes:
    return json.dumps({"code": code, "text": text}).encode()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, _error("unauthorized", "Unauthorized"), ErrorCode.CARRIER_AUTH_FAILED),
        (403, _error("forbidden", "Forbidden"), ErrorCode.CARRIER_AUTH_FAILED),
        (429, _error("too_many_requests", "Slow down"), ErrorCode.CARRIER_THROTTLED),
        (
            400,
            _error("syntax_constraint_violation", "Recipient '+1' is not a valid MSISDN"),
            ErrorCode.INVALID_DESTINATION,
        ),
        (
            400,
            _error("syntax_invalid_json", "Failed to parse the body"),
            ErrorCode.CARRIER_REJECTED,
        ),
        (404, _error("not_found", "No such service plan"), ErrorCode.CARRIER_REJECTED),
        (500, _error("internal_error", "Internal error"), ErrorCode.CARRIER_SYSTEM_ERROR),
        (503, b"<html>down</html>", ErrorCode.CARRIER_SYSTEM_ERROR),
        (201, b'{"to": ["12015550101"]}', ErrorCode.CARRIER_SYSTEM_ERROR),
    ],
)
def test_answers_map_to_the_catalogue(status: int, body: bytes, error: ErrorCode) -> None:
    outcome = Sinch().sent(HttpResponse(status, {}, body))
    assert outcome.error is error and outcome.detail


def test_the_batch_id_is_the_carrier_id() -> None:
    outcome = Sinch().sent(HttpResponse(201, {}, b'{"id": "01FC6662", "to": ["12015550101"]}'))
    assert outcome.ok and outcome.carrier_ids == ("01FC6662",)


def test_the_send_request_is_sinchs_batch() -> None:
    context = SendContext(_options(), STATUS_URL, "https://gw/inbound", now=1_700_000_000.0)
    text = "Hej " * 60  # long: Sinch splits it
    call = Sinch().send(
        OutboundMessage(
            "msg_1", "+12015550101", text, Encoding.GSM7, 2, None, expires_at=1_700_003_600.0
        ),
        context,
    )
    assert (call.method, call.url) == ("POST", f"http://x/xms/v1/{PLAN}/batches")
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(call.body) == {
        "from": "+12015550100",
        "to": ["+12015550101"],
        "body": text,
        "delivery_report": "per_recipient",
        "callback_url": STATUS_URL,
        "client_reference": "msg_1",
        "expire_at": "2023-11-14T23:13:20.000Z",
    }


def test_status_words_map_to_ours() -> None:
    words = {
        "Queued": ReceiptStatus.ACCEPTED,
        "Dispatched": ReceiptStatus.ACCEPTED,
        "Delivered": ReceiptStatus.DELIVERED,
        "Failed": ReceiptStatus.UNDELIVERED,
        "Deleted": ReceiptStatus.UNDELIVERED,
        "Expired": ReceiptStatus.EXPIRED,
        "Rejected": ReceiptStatus.REJECTED,
        "Aborted": ReceiptStatus.REJECTED,
        "Cancelled": ReceiptStatus.REJECTED,
        "Unknown": ReceiptStatus.UNKNOWN,
    }
    sinch = Sinch()
    for word, ours in words.items():
        payload = {**DOC_REPORT, "batch_id": "B9", "status": word, "code": 402}
        [report] = sinch.reports(_json(STATUS_URL, payload), "s", 1.0)
        assert (report.carrier_id, report.status) == ("B9", ours)
        final_failure = ours not in (ReceiptStatus.DELIVERED, ReceiptStatus.ACCEPTED)
        assert report.error == ("sinch 402" if final_failure else None)


def test_the_documented_callbacks_read() -> None:
    sinch = Sinch()
    [report] = sinch.reports(_json(STATUS_URL, DOC_REPORT), "sinch-us", 5.0)
    assert (report.carrier_id, report.status, report.error) == (
        "01FC66621XXXXX119Z8PMV1QPQ",
        ReceiptStatus.DELIVERED,
        None,
    )
    [mo] = sinch.inbound(_json(STATUS_URL, DOC_INBOUND), "sinch-us", 5.0)
    assert (mo.sender, mo.to, mo.body, mo.carrier_id) == (
        "+12015555555",
        "12345",  # a short code stays as it is
        "This is a test message.",
        "01FC66621VHDBN119Z8PMV1AHY",
    )
    summary = {
        "type": "delivery_report_sms",
        "batch_id": "B1",
        "statuses": [{"code": 0, "count": 1, "status": "Delivered"}],
        "total_message_count": 1,
    }
    [report] = sinch.reports(_json(STATUS_URL, summary), "sinch-us", 5.0)
    assert (report.carrier_id, report.status) == ("B1", ReceiptStatus.DELIVERED)
    assert not sinch.signs(_options())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_send_report_and_stop_through_the_local_sinch(tmp_path: Path, backend: str) -> None:
    credentials = {"service_plan_id": PLAN, "api_token": TOKEN}
    async with provider_fake("sinch", credentials=credentials, dlr_delay_ms=10) as (
        fake,
        fake_url,
    ):
        async with gateway_with(tmp_path, backend, [_options(fake_url)]) as gw:
            connector = gw.relay.connectors["sinch-us"]
            assert "?token=" in connector.status_url
            fake.config.inbound_url = connector.inbound_url
            message_id = await send(gw, "+12015550101", "Your code is 1234")
            got = await reaches(gw, message_id, "delivered")
            [sent] = fake.sent
            assert (sent.to, sent.sender, sent.text) == (
                "12015550101",
                "+12015550100",
                "Your code is 1234",
            )
            assert got["carrier_ids"] == [sent.id]
            statuses = [json.loads(o.body)["status"] for o, _ in fake.callbacks]
            assert statuses == ["Dispatched", "Delivered"]
            assert all(answer == 200 for _, answer in fake.callbacks)

            # a report without the token, or with a wrong one, changes nothing
            failed = {**DOC_REPORT, "batch_id": sent.id, "status": "Failed", "code": 402}
            path = "/v1/providers/sinch-us/status"
            for url in (path, f"{path}?token=wrong"):
                r = await gw.client.post(url, json=failed)
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
            assert (await message(gw, message_id))["status"] == "delivered"

            # the documented report replayed for a message whose own is still to come
            fake.config.dlr_delay_ms = 600_000
            second = await send(gw, "+12015550102", "hello")
            await wait_for(lambda: len(fake.sent) == 2)
            await reaches(gw, second, "sent")
            replay = {**DOC_REPORT, "batch_id": fake.sent[1].id, "recipient": "12015550102"}
            async with httpx.AsyncClient(timeout=10) as client:
                r = await client.post(connector.status_url, json=replay)
            assert r.status_code == 200, r.text
            await reaches(gw, second, "delivered")

            await stop_is_suppressed(gw, fake_url, "+12015550101", "+12015550100")
