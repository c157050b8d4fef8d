"""Telnyx: our connector against the local Telnyx, webhooks checked by Ed25519 signature."""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from telnyx.lib.webhook_verification import WebhookVerificationError, verify_webhook_signature

from smsrelay.connectors.http.provider import Callback, SendContext
from smsrelay.connectors.http.providers.telnyx import Telnyx
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Encoding as TextEncoding
from smsrelay.domain.messages import OutboundMessage, ReceiptStatus
from smsrelay.httpclient import HttpResponse
from smsrelay.simulator.providers import FakeConfig
from smsrelay.simulator.providers.base import Sent
from smsrelay.simulator.providers.telnyx import TelnyxFake, sign
from tests.connectors.http import journeys
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import wait_for

API_KEY = "KEY0123456789"
PRIVATE = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = base64.b64encode(
    PRIVATE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
).decode()

# The documented delivery webhook (https://developers.telnyx.com/api-reference/callbacks/
# delivery-update), as Telnyx shows it, but ``message.finalized`` and ``delivered`` (the
# receiving-webhooks guide's delivery receipt); tests put their message's id and numbers in.
DOCUMENTED_REPORT: dict[str, Any] = {
    "data": {
        "record_type": "event",
        "id": "86f58db9-0fe3-4adc-9d1f-46e66e6e9323",
        "event_type": "message.finalized",
        "occurred_at": "2019-01-23T18:10:02.574Z",
        "payload": {
            "record_type": "message",
            "direction": "outbound",
            "id": "40385f64-5717-4562-b3fc-2c963f66afa6",
            "type": "SMS",
            "messaging_profile_id": "4000eba1-a0c0-4563-9925-b25e842a7cb6",
            "organization_id": "b448f9cc-a842-4784-98e9-03c1a5872950",
            "from": {
                "phone_number": "+18445550001",
                "carrier": "TELNYX LLC",
                "line_type": "VoIP",
            },
            "to": [
                {
                    "phone_number": "+18665550001",
                    "status": "delivered",
                    "carrier": "T-MOBILE USA, INC.",
                    "line_type": "Wireless",
                }
            ],
            "cc": [],
            "text": "Hello, World!",
            "media": [],
            "webhook_url": "https://www.example.com/hooks",
            "webhook_failover_url": "https://backup.example.com/hooks",
            "encoding": "GSM-7",
            "parts": 1,
            "tags": ["Greetings"],
            "cost": {"amount": 0.0051, "currency": "USD"},
            "cost_breakdown": {
                "carrier_fee": {"amount": 0.00305, "currency": "USD"},
                "rate": {"amount": 0.00205, "currency": "USD"},
            },
            "tcr_campaign_id": "TCPA3X7",
            "tcr_campaign_billable": True,
            "tcr_campaign_registered": "REGISTERED",
            "received_at": "2019-01-23T18:10:02.574Z",
            "sent_at": "2019-01-23T18:10:02.810Z",
            "completed_at": "2019-01-23T18:10:03.104Z",
            "valid_until": None,
            "errors": [],
        },
    },
    "meta": {"attempt": 1, "delivered_to": "https://www.example.com/hooks"},
}

# The documented inbound webhook (https://apispec.telnyx.com/inboundmessageevent-7390268d0).
DOCUMENTED_INBOUND: dict[str, Any] = {
    "data": {
        "event_type": "message.received",
        "id": "bf6307bd-884d-4c1f-b6ea-c62b8c495d3c",
        "occurred_at": "2019-01-23T18:10:02.574Z",
        "payload": {
            "cc": [],
            "completed_at": None,
            "direction": "inbound",
            "encoding": "GSM-7",
            "errors": [],
            "from": {
                "carrier": "T-MOBILE USA, INC.",
                "line_type": "Wireless",
                "phone_number": "+18665550001",
            },
            "id": "7ee4241c-f127-47e5-9c34-3aac291f8058",
            "media": [],
            "messaging_profile_id": "0f512bda-ae1e-4597-8e11-e5f5686b97d3",
            "parts": 1,
            "received_at": "2019-01-23T18:10:02.574Z",
            "record_type": "message",
            "text": "Hello, World!",
            "to": [
                {
                    "carrier": "TELNYX LLC",
                    "line_type": "VoIP",
                    "phone_number": "+18445550001",
                    "status": "delivered",
                }
            ],
            "type": "SMS",
        },
        "record_type": "event",
    }
}


def _options(base_url: str, public_key: str = PUBLIC) -> HttpOptions:
    return HttpOptions(
        name="telnyx-us",
        provider="telnyx",
        base_url=base_url,
        credentials={"api_key": API_KEY, "public_key": public_key},
        default_sender="+14155550100",
    )


def _signed(body: bytes, at: int, key: Ed25519PrivateKey = PRIVATE) -> dict[str, str]:
    timestamp = str(at)
    return {
        "content-type": "application/json",
        "telnyx-timestamp": timestamp,
        "telnyx-signature-ed25519": sign(key, timestamp, body),
    }


def _report(carrier_id: str, status: str, errors: list[dict[str, str]] | None = None) -> bytes:
    event = copy.deepcopy(DOCUMENTED_REPORT)
    event["data"]["payload"]["id"] = carrier_id
    event["data"]["payload"]["to"][0]["status"] = status
    event["data"]["payload"]["errors"] = errors or []
    return json.dumps(event).encode()


def test_signatures_are_checked_with_the_public_key_and_the_clock() -> None:
    now = 1_700_000_000.0
    telnyx, options = Telnyx(now=lambda: now), _options("http://x")
    body = _report("m1", "delivered")
    url = "https://gw.example.com/v1/providers/telnyx-us/status"
    assert telnyx.signs(options)
    assert telnyx.authentic(Callback("POST", url, _signed(body, int(now))), options) is False
    assert telnyx.authentic(Callback("POST", url, _signed(body, int(now)), body), options)
    # within the tolerance either way, then not
    assert telnyx.authentic(Callback("POST", url, _signed(body, int(now) - 299), body), options)
    assert not telnyx.authentic(Callback("POST", url, _signed(body, int(now) - 301), body), options)
    assert not telnyx.authentic(Callback("POST", url, _signed(body, int(now) + 301), body), options)
    # tampered body, timestamp moved, another key, no headers, a key that is not one
    tampered = body.replace(b'"delivered"', b'"delivery_failed"')
    assert not telnyx.authentic(Callback("POST", url, _signed(body, int(now)), tampered), options)
    moved = {**_signed(body, int(now)), "telnyx-timestamp": str(int(now) - 1)}
    assert not telnyx.authentic(Callback("POST", url, moved, body), options)
    other = Ed25519PrivateKey.generate()
    assert not telnyx.authentic(
        Callback("POST", url, _signed(body, int(now), other), body), options
    )
    assert not telnyx.authentic(Callback("POST", url, {}, body), options)
    garbled = {**_signed(body, int(now)), "telnyx-signature-ed25519": "not base64!"}
    assert not telnyx.authentic(Callback("POST", url, garbled, body), options)
    assert not telnyx.authentic(
        Callback("POST", url, _signed(body, int(now)), body), _options("http://x", "AAAA")
    )


def test_the_fakes_webhooks_pass_telnyxs_own_verification_and_ours() -> None:
    fake = TelnyxFake(
        FakeConfig(credentials={"private_key": base64.b64encode(bytes(range(32))).decode()})
    )
    assert fake.public_key == PUBLIC == fake.config.credentials["public_key"]
    message = Sent(
        "m1", "+14155550101", "+14155550100", "hi", "https://gw/status", 0.0, "delivered"
    )
    outbound = fake.status_callback(message, "delivered")
    headers = {k.lower(): v for k, v in outbound.headers.items()}
    verify_webhook_signature(outbound.body, headers, PUBLIC)  # Telnyx's SDK: raises if not
    callback = Callback("POST", outbound.url, headers, outbound.body)
    assert Telnyx().authentic(callback, _options("http://x"))
    tampered = outbound.body.replace(b"delivered", b"delivery_failed")
    with pytest.raises(WebhookVerificationError):
        verify_webhook_signature(tampered, headers, PUBLIC)
    assert not Telnyx().authentic(
        Callback("POST", outbound.url, headers, tampered), _options("http://x")
    )


def test_without_a_public_key_the_urls_carry_a_token() -> None:
    options = HttpOptions(name="telnyx-us", provider="telnyx", credentials={"api_key": API_KEY})
    assert not Telnyx().signs(options)


def test_the_send_request_is_telnyxs() -> None:
    options = _options("https://api.telnyx.com")
    context = SendContext(options, "https://gw/status", "https://gw/inbound", now=1000.0)
    message = OutboundMessage(
        "msg_1", "+14155550101", "héllo", TextEncoding.UCS2, 1, expires_at=1000.0 + 3600.5
    )
    call = Telnyx().send(message, context)
    assert (call.method, call.url) == ("POST", "https://api.telnyx.com/v2/messages")
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert json.loads(call.body) == {
        "from": "+14155550100",
        "to": "+14155550101",
        "text": "héllo",
        "webhook_url": "https://gw/status",
        "use_profile_webhooks": False,
        "validity_period": 3600,
    }
    profile = "4000eba1-a0c0-4563-9925-b25e842a7cb6"
    pooled = OutboundMessage("msg_2", "+14155550101", "hi", TextEncoding.GSM7, 1, profile)
    body = json.loads(Telnyx().send(pooled, context).body)
    assert body["messaging_profile_id"] == profile and "from" not in body


def _errors(code: str, title: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "title": title, "detail": title}]}).encode()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, _errors("40310", "Invalid 'to' address"), ErrorCode.INVALID_DESTINATION),
        (
            422,
            _errors("10016", "Phone number must be in +E.164 format"),
            ErrorCode.INVALID_DESTINATION,
        ),
        (400, _errors("40001", "Not routable"), ErrorCode.INVALID_DESTINATION),
        (403, _errors("40300", "Blocked due to STOP message"), ErrorCode.RECIPIENT_OPTED_OUT),
        (401, _errors("10009", "Authentication failed"), ErrorCode.CARRIER_AUTH_FAILED),
        (403, _errors("10010", "Authorization failed"), ErrorCode.CARRIER_AUTH_FAILED),
        (429, _errors("10011", "Too many requests"), ErrorCode.CARRIER_THROTTLED),
        (500, _errors("10007", "Unexpected error"), ErrorCode.CARRIER_SYSTEM_ERROR),
        (503, b"<html>down</html>", ErrorCode.CARRIER_SYSTEM_ERROR),
        (400, _errors("40305", "Invalid 'from' address"), ErrorCode.CARRIER_REJECTED),
        (200, b'{"data": {"record_type": "message"}}', ErrorCode.CARRIER_SYSTEM_ERROR),
    ],
)
def test_answers_map_to_the_catalogue(status: int, body: bytes, error: ErrorCode) -> None:
    outcome = Telnyx().sent(HttpResponse(status, {}, body))
    assert outcome.error is error and outcome.detail


def test_an_accepted_message_has_its_one_id() -> None:
    body = b'{"data": {"id": "4031938d", "record_type": "message", "parts": 3}}'
    assert Telnyx().sent(HttpResponse(200, {}, body)).carrier_ids == ("4031938d",)


def test_status_words_map_to_ours() -> None:
    telnyx = Telnyx()
    words = {
        "queued": ReceiptStatus.ACCEPTED,
        "sending": ReceiptStatus.ACCEPTED,
        "sent": ReceiptStatus.ACCEPTED,
        "delivered": ReceiptStatus.DELIVERED,
        "delivery_failed": ReceiptStatus.UNDELIVERED,
        "sending_failed": ReceiptStatus.REJECTED,
        "delivery_unconfirmed": ReceiptStatus.UNKNOWN,
        "expired": ReceiptStatus.EXPIRED,
    }
    for word, ours in words.items():
        callback = Callback("POST", "https://x/status", {}, _report("m9", word))
        [report] = telnyx.reports(callback, "t", 1.0)
        assert (report.carrier_id, report.status) == ("m9", ours)
    expired = _report("m9", "delivery_failed", [{"code": "40005", "title": "Message expired"}])
    [report] = telnyx.reports(Callback("POST", "https://x/status", {}, expired), "t", 1.0)
    assert (report.status, report.error) == (ReceiptStatus.EXPIRED, "telnyx 40005")
    inbound = Callback("POST", "https://x/status", {}, json.dumps(DOCUMENTED_INBOUND).encode())
    assert telnyx.reports(inbound, "t", 1.0) == []
    [mo] = telnyx.inbound(inbound, "t", 1.0)
    assert (mo.sender, mo.to, mo.body) == ("+18665550001", "+18445550001", "Hello, World!")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_send_status_and_stop_through_the_local_telnyx(tmp_path: Path, backend: str) -> None:
    async with provider_fake("telnyx", credentials={"api_key": API_KEY}, dlr_delay_ms=10) as (
        fake,
        fake_url,
    ):
        async with httpx.AsyncClient() as client:
            public_key = (await client.get(f"{fake_url}/_fake/public_key")).json()["public_key"]
        assert public_key == fake.config.credentials["public_key"]
        async with gateway_with(tmp_path, backend, [_options(fake_url, public_key)]) as gw:
            fake.config.inbound_url = f"{gw.base_url}/v1/providers/telnyx-us/inbound"

            async def status(message_id: str) -> str:
                return str((await journeys.message(gw, message_id))["status"])

            first = await journeys.send(gw, "+14155550101", "Your code is 1234")
            await journeys.reaches(gw, first, "delivered")
            [sent] = fake.sent
            assert (sent.to, sent.sender, sent.text) == (
                "+14155550101",
                "+14155550100",
                "Your code is 1234",
            )
            got = await journeys.message(gw, first)
            assert got["carrier_ids"] == [sent.id]
            events = [json.loads(o.body)["data"]["event_type"] for o, _ in fake.callbacks]
            assert events == ["message.sent", "message.finalized"]
            assert all(answer == 200 for _, answer in fake.callbacks)

            # reports that are not Telnyx's own change nothing: a forged signature, none,
            # a valid one of another body, and a valid one too old (a replay)
            url = "/v1/providers/telnyx-us/status"
            failed = _report(sent.id, "delivery_failed")
            now = int(time.time())
            other = Ed25519PrivateKey.generate()
            for headers, body in [
                (_signed(failed, now, other), failed),
                ({"content-type": "application/json"}, failed),
                (_signed(_report(sent.id, "delivered"), now, fake.private_key), failed),
                (_signed(failed, now - 3600, fake.private_key), failed),
            ]:
                refused = await gw.client.post(url, content=body, headers=headers)
                assert refused.status_code == 403, refused.text
                assert refused.json()["error"]["code"] == "forbidden"
            assert await status(first) == "delivered"

            # the documented webhook, for a message Telnyx has sent but not yet finalized
            fake.config.dlr_delay_ms = 600_000
            second = await journeys.send(gw, "+14155550101", "Second")
            await wait_for(lambda: len(fake.callbacks) == 3)
            assert await status(second) == "sent"
            second_id = fake.sent[1].id
            documented = _report(second_id, "delivered")
            replayed = await gw.client.post(
                url, content=documented, headers=_signed(documented, now, fake.private_key)
            )
            assert replayed.status_code == 200, replayed.text
            await journeys.reaches(gw, second, "delivered")

            # STOP from the phone reaches the suppression list of the number's account
            answer = await journeys.stop_is_suppressed(gw, fake_url, "+14155550101", "+14155550100")
            assert answer == 200


async def test_the_documented_inbound_webhook_is_taken(tmp_path: Path) -> None:
    async with gateway_with(tmp_path, "sqlite", [_options("http://127.0.0.1:9")]) as gw:
        await gw.client.post(
            "/v1/admin/numbers", headers=gw.auth(), json={"number": "+18445550001"}
        )
        body = json.dumps(DOCUMENTED_INBOUND).encode()
        url = "/v1/providers/telnyx-us/inbound"
        unsigned = await gw.client.post(url, content=body)
        assert unsigned.status_code == 403
        taken = await gw.client.post(url, content=body, headers=_signed(body, int(time.time())))
        assert taken.status_code == 200, taken.text

        async def received() -> bool:
            page = (await gw.client.get("/v1/inbound", headers=gw.auth())).json()
            return [(m["from"], m["message"]) for m in page["data"]] == [
                ("+18665550001", "Hello, World!")
            ]

        await wait_for(received)
