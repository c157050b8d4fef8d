"""Plivo: our connector against the local Plivo, callbacks checked by Plivo's own SDK."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from plivo.utils.signature_v3 import (
    construct_get_url,
    construct_post_url,
    get_signature_v3,
    validate_v3_signature,
)

from smsrelay.connectors.http.provider import Callback, SendContext
from smsrelay.connectors.http.providers.plivo import Plivo, plivo_signature_v3
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Encoding, OutboundMessage, ReceiptStatus
from smsrelay.httpclient import HttpResponse
from smsrelay.simulator.providers.plivo import sign
from tests.connectors.http import journeys
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import wait_for

AUTH_ID, TOKEN = "MAXXXXXXXXXXXXXXXXXX", "plivo-test-token"

# The attributes of a status callback as documented
# (https://www.plivo.com/docs/messaging/api/message/message-status-callbacks): every one the
# page lists for an SMS, with the example values of Plivo's pages; tests put their message's
# id in.
DOCUMENTED_REPORT: dict[str, str] = {
    "MessageUUID": "db3ce55a-7f1d-11e1-8ea7-1231380bc196",
    "To": "14155550101",
    "From": "14155550100",
    "Type": "sms",
    "Status": "delivered",
    "Units": "1",
    "TotalRate": "0.0050",
    "TotalAmount": "0.0050",
    "MCC": "310",
    "MNC": "260",
    "ErrorCode": "000",
    "ParentMessageUUID": "db3ce55a-7f1d-11e1-8ea7-1231380bc196",
    "PartInfo": "1 of 1",
    "Sequence": "3",
    "MessageTime": "2024-01-23 18:10:02.574000",
    "QueuedTime": "2024-01-23 18:10:02.600000",
    "SentTime": "2024-01-23 18:10:03.100000",
    "DeliveryReportTime": "2024-01-23 18:10:05.400000",
    "PowerpackUUID": "",
    "requester_ip": "203.0.113.7",
}


def _options(base_url: str) -> HttpOptions:
    return HttpOptions(
        name="plivo-us",
        provider="plivo",
        base_url=base_url,
        credentials={"auth_id": AUTH_ID, "auth_token": TOKEN},
        default_sender="+14155550100",
    )


def _sdk_signature(method: str, url: str, params: dict[str, str], nonce: str) -> str:
    """The signature as Plivo's SDK computes it."""
    signed = (
        construct_get_url(url, dict(params))
        if method == "GET"
        else construct_post_url(url, dict(params))
    )
    raw = get_signature_v3(TOKEN.encode(), signed.decode(), nonce.encode())
    return raw.decode() if isinstance(raw, bytes) else str(raw)


URLS = [
    ("POST", "https://gw.example.com/v1/providers/plivo-us/status", DOCUMENTED_REPORT),
    ("POST", "https://gw.example.com:8443/v1/providers/plivo-us/status?b=2&a=1&a=0", {"Z": "é"}),
    ("POST", "http://127.0.0.1:8080/v1/providers/plivo-us/inbound", {}),
    ("POST", "http://127.0.0.1:8080/v1/providers/plivo-us/inbound?x=1", {}),
    ("GET", "https://gw.example.com/v1/providers/plivo-us/status?Status=sent&MessageUUID=a", {}),
]


@pytest.mark.parametrize(("method", "url", "params"), URLS)
def test_our_signature_is_plivos_and_the_fakes_too(
    method: str, url: str, params: dict[str, str]
) -> None:
    nonce = "05429567804466091622"
    ours = plivo_signature_v3(TOKEN, method, url, params, nonce)
    assert ours == _sdk_signature(method, url, params, nonce)
    assert ours == sign(TOKEN, method, url, params, nonce)
    sdk_params = dict(params) if method == "POST" else None
    assert validate_v3_signature(method, url, nonce, TOKEN, ours, sdk_params)
    assert validate_v3_signature(method, url, nonce, TOKEN, f"rotated,{ours}", sdk_params)


def _callback(url: str, params: dict[str, str], signature: str, nonce: str = "123") -> Callback:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature:
        headers["x-plivo-signature-v3"] = signature
    if nonce:
        headers["x-plivo-signature-v3-nonce"] = nonce
    return Callback("POST", url, headers, urlencode(params).encode())


def test_signature_checks_accept_any_of_several_and_nothing_else() -> None:
    plivo, options = Plivo(), _options("http://x")
    url = "https://gw.example.com/v1/providers/plivo-us/status"
    params = {"MessageUUID": "u1", "Status": "delivered"}
    good = sign(TOKEN, "POST", url, params, "123")
    assert plivo.signs(options)
    assert plivo.authentic(_callback(url, params, good), options)
    assert plivo.authentic(_callback(url, params, f"c29tZXRoaW5nIGVsc2U=,{good}"), options)
    assert not plivo.authentic(_callback(url, {**params, "Status": "failed"}, good), options)
    assert not plivo.authentic(_callback(url, params, good, nonce="124"), options)
    assert not plivo.authentic(_callback(url + "?x=1", params, good), options)
    assert not plivo.authentic(_callback(url, params, ""), options)
    assert not plivo.authentic(_callback(url, params, good, nonce=""), options)
    other = sign("another-token", "POST", url, params, "123")
    assert not plivo.authentic(_callback(url, params, other), options)


def test_the_send_request_is_plivos() -> None:
    options = _options("https://api.plivo.com")
    context = SendContext(options, "https://gw/status", "https://gw/inbound", now=1000.0)
    message = OutboundMessage(
        "msg_1", "+14155550101", "héllo", Encoding.UCS2, 1, expires_at=1000.0 + 600.9
    )
    call = Plivo().send(message, context)
    assert (call.method, call.url) == (
        "POST",
        f"https://api.plivo.com/v1/Account/{AUTH_ID}/Message/",
    )
    assert call.headers["Authorization"].startswith("Basic ")
    assert json.loads(call.body) == {
        "src": "+14155550100",
        "dst": "14155550101",
        "text": "héllo",
        "type": "sms",
        "url": "https://gw/status",
        "method": "POST",
        "message_expiry": 600,
    }


def _error(error: str) -> bytes:
    return json.dumps({"api_id": "97ceeb52-58b6-11e1-86da-77300b68f8bb", "error": error}).encode()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, _error("invalid dst parameter"), ErrorCode.INVALID_DESTINATION),
        (400, _error("dst: 123 is not a valid phone number"), ErrorCode.INVALID_DESTINATION),
        (400, _error("src parameter not valid"), ErrorCode.CARRIER_REJECTED),
        (401, _error("authentication failed"), ErrorCode.CARRIER_AUTH_FAILED),
        (404, _error("not found"), ErrorCode.CARRIER_REJECTED),
        (429, _error("too many requests"), ErrorCode.CARRIER_THROTTLED),
        (500, _error("internal server error"), ErrorCode.CARRIER_SYSTEM_ERROR),
        (502, b"<html>bad gateway</html>", ErrorCode.CARRIER_SYSTEM_ERROR),
        (202, b'{"api_id": "x", "message": "message(s) queued"}', ErrorCode.CARRIER_SYSTEM_ERROR),
    ],
)
def test_answers_map_to_the_catalogue(status: int, body: bytes, error: ErrorCode) -> None:
    outcome = Plivo().sent(HttpResponse(status, {}, body))
    assert outcome.error is error and outcome.detail


def test_an_accepted_message_has_its_uuid() -> None:
    # the documented answer (https://www.plivo.com/docs/messaging/api/response)
    body = (
        b'{"api_id": "db342550-7f1d-11e1-8ea7-1231380bc196", "message": "message(s) queued",'
        b' "message_uuid": ["db3ce55a-7f1d-11e1-8ea7-1231380bc196"]}'
    )
    outcome = Plivo().sent(HttpResponse(202, {}, body))
    assert outcome.carrier_ids == ("db3ce55a-7f1d-11e1-8ea7-1231380bc196",)


def test_status_words_map_to_ours() -> None:
    plivo = Plivo()
    words = {
        "queued": (ReceiptStatus.ACCEPTED, ""),
        "sent": (ReceiptStatus.ACCEPTED, ""),
        "delivered": (ReceiptStatus.DELIVERED, "000"),
        "undelivered": (ReceiptStatus.UNDELIVERED, "80"),
        "failed": (ReceiptStatus.REJECTED, "100"),
        "rejected": (ReceiptStatus.REJECTED, "30"),
    }
    for word, (ours, code) in words.items():
        params = {"MessageUUID": "u9", "Status": word, "ErrorCode": code}
        [report] = plivo.reports(_callback("https://x/status", params, ""), "p", 1.0)
        assert (report.carrier_id, report.status) == ("u9", ours)
        assert report.error == (f"plivo {code}" if code not in ("", "000") else None)
    expired = {"MessageUUID": "u9", "Status": "failed", "ErrorCode": "420"}
    [report] = plivo.reports(_callback("https://x/status", expired, ""), "p", 1.0)
    assert report.status is ReceiptStatus.EXPIRED
    # a GET callback carries the same in its query
    get = Callback("GET", "https://x/status?MessageUUID=u8&Status=delivered", {})
    [report] = plivo.reports(get, "p", 1.0)
    assert (report.carrier_id, report.status) == ("u8", ReceiptStatus.DELIVERED)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_send_status_and_stop_through_the_local_plivo(tmp_path: Path, backend: str) -> None:
    async with provider_fake(
        "plivo", credentials={"auth_id": AUTH_ID, "auth_token": TOKEN}, dlr_delay_ms=10
    ) as (fake, fake_url):
        async with gateway_with(tmp_path, backend, [_options(fake_url)]) as gw:
            fake.config.inbound_url = f"{gw.base_url}/v1/providers/plivo-us/inbound"
            status_url = f"{gw.base_url}/v1/providers/plivo-us/status"

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
            words = [dict(_form(o.body))["Status"] for o, _ in fake.callbacks]
            assert words == ["queued", "sent", "delivered"]
            assert all(answer == 200 for _, answer in fake.callbacks)

            # reports that are not Plivo's own change nothing: forged, unsigned, or signed
            # for another body
            failed = {"MessageUUID": sent.id, "Status": "failed", "ErrorCode": "100"}
            nonce = "11111111111111111111"
            genuine = sign(TOKEN, "POST", status_url, {**failed, "Status": "sent"}, nonce)
            for headers in [
                {"X-Plivo-Signature-V3": "AAAA", "X-Plivo-Signature-V3-Nonce": nonce},
                {},
                {"X-Plivo-Signature-V3": genuine, "X-Plivo-Signature-V3-Nonce": nonce},
            ]:
                refused = await gw.client.post(
                    "/v1/providers/plivo-us/status", data=failed, headers=headers
                )
                assert refused.status_code == 403, refused.text
                assert refused.json()["error"]["code"] == "forbidden"
            assert await status(first) == "delivered"

            # the documented callback, signed by Plivo's SDK, for a message not yet final
            fake.config.dlr_delay_ms = 600_000
            second = await journeys.send(gw, "+14155550101", "Second")
            await wait_for(lambda: len(fake.callbacks) == 5)
            assert await status(second) == "sent"
            documented = {**DOCUMENTED_REPORT, "MessageUUID": fake.sent[1].id}
            documented["ParentMessageUUID"] = fake.sent[1].id
            signature = _sdk_signature("POST", status_url, documented, nonce)
            replayed = await gw.client.post(
                "/v1/providers/plivo-us/status",
                data=documented,
                headers={"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce},
            )
            assert replayed.status_code == 200, replayed.text
            await journeys.reaches(gw, second, "delivered")

            # STOP from the phone reaches the suppression list of the number's account
            answer = await journeys.stop_is_suppressed(gw, fake_url, "+14155550101", "+14155550100")
            assert answer == 200


def _form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode())


async def test_status_callbacks_by_get_are_signed_and_read(tmp_path: Path) -> None:
    async with gateway_with(tmp_path, "sqlite", [_options("http://127.0.0.1:9")]) as gw:
        url = f"{gw.base_url}/v1/providers/plivo-us/status?MessageUUID=nope&Status=delivered"
        nonce = "22222222222222222222"
        signature = _sdk_signature("GET", url, {}, nonce)
        path = url[len(gw.base_url) :]
        taken = await gw.client.get(
            path,
            headers={"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce},
        )
        assert taken.status_code == 200, taken.text
        assert gw.relay.connectors["plivo-us"].stats["reports"] == 1
        refused = await gw.client.get(path + "x")
        assert refused.status_code == 403
