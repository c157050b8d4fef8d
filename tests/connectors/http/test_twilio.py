"""Twilio: our connector against the local Twilio, callbacks checked by Twilio's own SDK."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from smsrelay.connectors.http.provider import Callback
from smsrelay.connectors.http.providers.twilio import Twilio, twilio_signature
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import ReceiptStatus
from smsrelay.httpclient import HttpResponse
from smsrelay.simulator.providers.twilio import sign
from tests.connectors.http import journeys
from tests.connectors.http.support import all_in_status, gateway_with, provider_fake
from tests.support.servers import wait_for

SID, TOKEN = "AC00000000000000000000000000000001", "twilio-test-token"


def _options(base_url: str, **extra: object) -> HttpOptions:
    return HttpOptions(
        name="twilio-us",
        provider="twilio",
        base_url=base_url,
        credentials={"account_sid": SID, "auth_token": TOKEN},
        default_sender="+14155550100",
        **extra,  # type: ignore[arg-type]
    )


def test_our_signature_is_twilios_and_the_fakes_too() -> None:
    validator = RequestValidator(TOKEN)
    url = "https://gw.example.com/v1/providers/twilio-us/status?x=1"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+14155550101"}
    assert validator.compute_signature(url, params) == twilio_signature(TOKEN, url, params)
    assert validator.validate(url, params, sign(TOKEN, url, params))
    # Twilio's documented example (webhooks security page): token, URL and parameters
    doc_url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    doc_params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature("12345", doc_url, doc_params) == RequestValidator(
        "12345"
    ).compute_signature(doc_url, doc_params)


def _callback(url: str, params: dict[str, str], signature: str) -> Callback:
    return Callback(
        "POST",
        url,
        {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
        urlencode(params).encode(),
    )


def test_signature_checks_accept_the_default_port_either_way_and_nothing_else() -> None:
    twilio, options = Twilio(), _options("http://x")
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signed_without = sign(TOKEN, "https://gw.example.com/status", params)
    assert twilio.authentic(
        _callback("https://gw.example.com:443/status", params, signed_without), options
    )
    assert twilio.authentic(
        _callback("https://gw.example.com/status", params, signed_without), options
    )
    assert not twilio.authentic(
        _callback(
            "https://gw.example.com/status", {**params, "MessageStatus": "failed"}, signed_without
        ),
        options,
    )
    assert not twilio.authentic(_callback("https://gw.example.com/status", params, ""), options)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            b'{"code": 21211, "message": "invalid To", "status": 400}',
            ErrorCode.INVALID_DESTINATION,
        ),
        (
            400,
            b'{"code": 21610, "message": "unsubscribed", "status": 400}',
            ErrorCode.RECIPIENT_OPTED_OUT,
        ),
        (
            401,
            b'{"code": 20003, "message": "Authenticate", "status": 401}',
            ErrorCode.CARRIER_AUTH_FAILED,
        ),
        (
            429,
            b'{"code": 20429, "message": "Too Many Requests", "status": 429}',
            ErrorCode.CARRIER_THROTTLED,
        ),
        (
            500,
            b'{"code": 20500, "message": "Internal", "status": 500}',
            ErrorCode.CARRIER_SYSTEM_ERROR,
        ),
        (503, b"<html>down</html>", ErrorCode.CARRIER_SYSTEM_ERROR),
        (
            400,
            b'{"code": 21408, "message": "region not enabled", "status": 400}',
            ErrorCode.CARRIER_REJECTED,
        ),
        (201, b'{"status": "queued"}', ErrorCode.CARRIER_SYSTEM_ERROR),
    ],
)
def test_answers_map_to_the_catalogue(status: int, body: bytes, error: ErrorCode) -> None:
    outcome = Twilio().sent(HttpResponse(status, {}, body))
    assert outcome.error is error and outcome.detail


def test_status_words_map_to_ours() -> None:
    twilio = Twilio()
    words = {
        "queued": ReceiptStatus.ACCEPTED,
        "sent": ReceiptStatus.ACCEPTED,
        "delivered": ReceiptStatus.DELIVERED,
        "read": ReceiptStatus.DELIVERED,
        "undelivered": ReceiptStatus.UNDELIVERED,
        "failed": ReceiptStatus.REJECTED,
    }
    for word, ours in words.items():
        params = {"MessageSid": "SM9", "MessageStatus": word, "ErrorCode": "30003"}
        [report] = twilio.reports(_callback("https://x/status", params, ""), "t", 1.0)
        assert (report.carrier_id, report.status) == ("SM9", ours)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_send_status_and_stop_through_the_local_twilio(tmp_path: Path, backend: str) -> None:
    async with provider_fake(
        "twilio", credentials={"account_sid": SID, "auth_token": TOKEN}, dlr_delay_ms=10
    ) as (fake, fake_url):
        async with gateway_with(tmp_path, backend, [_options(fake_url)]) as gw:
            fake.config.inbound_url = f"{gw.base_url}/v1/providers/twilio-us/inbound"
            message_id = await journeys.send(gw, "+14155550101", "Your code is 1234")

            async def status() -> str:
                return str((await journeys.message(gw, message_id))["status"])

            await journeys.reaches(gw, message_id, "delivered")
            [sent] = fake.sent
            assert (sent.to, sent.sender, sent.text) == (
                "+14155550101",
                "+14155550100",
                "Your code is 1234",
            )
            got = await journeys.message(gw, message_id)
            assert got["carrier_ids"] == [sent.id]
            assert all(answer == 204 for _, answer in fake.callbacks)

            # a report with a wrong signature changes nothing
            forged = await gw.client.post(
                "/v1/providers/twilio-us/status",
                data={"MessageSid": sent.id, "MessageStatus": "undelivered"},
                headers={"X-Twilio-Signature": "AAAA"},
            )
            assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
            unsigned = await gw.client.post(
                "/v1/providers/twilio-us/status",
                data={"MessageSid": sent.id, "MessageStatus": "failed"},
            )
            assert unsigned.status_code == 403
            assert await status() == "delivered"

            # STOP from the phone reaches the suppression list of the number's account
            await journeys.stop_is_suppressed(gw, fake_url, "+14155550101", "+14155550100")


async def test_refused_credentials_open_the_circuit_without_a_retry_storm(tmp_path: Path) -> None:
    async with provider_fake("twilio", credentials={"account_sid": SID, "auth_token": "other"}) as (
        fake,
        fake_url,
    ):
        async with gateway_with(tmp_path, "sqlite", [_options(fake_url)]) as gw:
            for n in range(5):
                r = await gw.client.post(
                    "/send", headers=gw.auth(), json={"to": "+14155550101", "message": f"m{n}"}
                )
                assert r.status_code == 202
            connector = gw.relay.connectors["twilio-us"]
            await wait_for(lambda: not connector.health().up)
            assert "credentials" in connector.health().detail
            assert gw.relay.dispatcher.circuits["twilio-us"].state == "open"
            calls = connector.stats["calls"]
            assert calls <= 5  # those already on their way when the first refusal came
            for n in range(20):
                r = await gw.client.post(
                    "/send", headers=gw.auth(), json={"to": "+14155550101", "message": f"n{n}"}
                )
            await wait_for(lambda: gw.relay.dispatcher.stats["retried"] >= 5)
            assert connector.stats["calls"] == calls and fake.sent == []


async def test_a_throttling_provider_slows_the_connector_and_loses_nothing(tmp_path: Path) -> None:
    credentials = {"account_sid": SID, "auth_token": TOKEN}
    async with provider_fake("twilio", credentials=credentials, throttle=20, dlr_delay_ms=5) as (
        fake,
        fake_url,
    ):
        async with gateway_with(
            tmp_path, "sqlite", [_options(fake_url)], retry_base=0.05, retry_cap=0.2
        ) as gw:
            ids = []
            for n in range(60):
                r = await gw.client.post(
                    "/send", headers=gw.auth(), json={"to": "+14155550101", "message": f"t{n}"}
                )
                ids.append(r.json()["message_id"])

            await wait_for(lambda: all_in_status(gw, ids), timeout=30)
            connector = gw.relay.connectors["twilio-us"]
            assert connector.stats["throttled"] > 0
            assert sorted(m.text for m in fake.sent) == sorted(f"t{n}" for n in range(60))
