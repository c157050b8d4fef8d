"""Vonage: our connector against the local Vonage, signatures checked by Vonage's own SDK."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from vonage_http_client.auth import Auth

from smsrelay.connectors.http.provider import Callback, SendContext
from smsrelay.connectors.http.providers.vonage import Vonage, vonage_signature
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Encoding, OutboundMessage, ReceiptStatus
from smsrelay.httpclient import HttpResponse
from smsrelay.simulator.providers.vonage import sign
from tests.connectors.http.journeys import message, reaches, send, stop_is_suppressed
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import wait_for

KEY, SECRET, SIGNING = "abcd1234", "vonage-api-secret", "vonage-signature-secret"
STATUS_URL = "https://gw.example.com/v1/providers/vonage-eu/status"

# Vonage's delivery receipt as its SMS API reference shows it
# (https://developer.vonage.com/en/api/sms#delivery-receipt): every value a string, signed
# with timestamp, nonce and sig when the account has a signature secret.
DOC_RECEIPT = {
    "msisdn": "447700900000",
    "to": "AcmeInc",
    "network-code": "12345",
    "messageId": "0A0000001234567B",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2001011400",
    "err-code": "0",
    "api-key": "abcd1234",
    "client-ref": "my-personal-reference",
    "message-timestamp": "2020-01-01 12:00:00 +0000",
    "timestamp": "1582650446",
    "nonce": "ec11dd3e-1e7f-4db5-9467-82b02cd223b9",
}
# its inbound message (https://developer.vonage.com/en/messaging/sms/guides/inbound-sms)
DOC_INBOUND = {
    "api-key": "abcd1234",
    "msisdn": "447700900001",
    "to": "447700900000",
    "messageId": "0A0000000123ABCD1",
    "text": "Hello world",
    "type": "text",
    "keyword": "HELLO",
    "message-timestamp": "2020-01-01 12:00:00 +0000",
    "timestamp": "1578787200",
    "nonce": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
}


def _options(base_url: str = "http://x", **credentials: str) -> HttpOptions:
    return HttpOptions(
        name="vonage-eu",
        provider="vonage",
        base_url=base_url,
        credentials={"api_key": KEY, "api_secret": SECRET, **credentials},
        default_sender="+447700900000",
    )


def _signed(method: str = "sha256") -> HttpOptions:
    return _options(signature_secret=SIGNING, signature_method=method)


def _json(url: str, params: dict[str, str]) -> Callback:
    return Callback("POST", url, {"content-type": "application/json"}, json.dumps(params).encode())


def _form(url: str, params: dict[str, str]) -> Callback:
    return Callback(
        "POST",
        url,
        {"content-type": "application/x-www-form-urlencoded"},
        urlencode(params).encode(),
    )


def _get(url: str, params: dict[str, str]) -> Callback:
    return Callback("GET", f"{url}?{urlencode(params)}", {})


def test_our_signatures_are_vonages_and_the_fakes_too() -> None:
    # md5hash: the vector of Vonage's Python SDK's own tests (secret "secret")
    params = {"a": "1", "b": "2", "timestamp": "1461605396"}
    assert vonage_signature(params, "secret") == "6af838ef94998832dbfc29020b564830"
    assert sign(params, "secret").lower() == "6af838ef94998832dbfc29020b564830"
    tricky = {**DOC_RECEIPT, "client-ref": "a=b&c=d", "text": "50% & more"}
    for method in ("md5", "sha1", "sha256", "sha512"):
        auth = Auth(api_key=KEY, signature_secret=SIGNING, signature_method=method)  # type: ignore[arg-type]
        assert vonage_signature(tricky, SIGNING, method) == auth.sign_params(dict(tricky))
        # the fake signs as Vonage's servers do (upper-case hex); the SDK accepts it
        assert auth.check_signature({**tricky, "sig": sign(tricky, SIGNING, method)})


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("1", ErrorCode.CARRIER_THROTTLED),
        ("2", ErrorCode.CARRIER_REJECTED),
        ("3", ErrorCode.CARRIER_REJECTED),
        ("4", ErrorCode.CARRIER_AUTH_FAILED),
        ("5", ErrorCode.CARRIER_SYSTEM_ERROR),
        ("6", ErrorCode.INVALID_DESTINATION),
        ("7", ErrorCode.CARRIER_REJECTED),
        ("8", ErrorCode.CARRIER_AUTH_FAILED),
        ("9", ErrorCode.CARRIER_AUTH_FAILED),
        ("14", ErrorCode.CARRIER_AUTH_FAILED),
        ("15", ErrorCode.INVALID_SENDER),
        ("29", ErrorCode.CARRIER_REJECTED),
        ("99", ErrorCode.CARRIER_REJECTED),
    ],
)
def test_answer_statuses_map_to_the_catalogue(status: str, error: ErrorCode) -> None:
    body = {"message-count": "1", "messages": [{"status": status, "error-text": "no"}]}
    outcome = Vonage().sent(HttpResponse(200, {}, json.dumps(body).encode()))
    assert outcome.error is error and outcome.detail and status in outcome.detail


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, b"", ErrorCode.CARRIER_AUTH_FAILED),
        (429, b"", ErrorCode.CARRIER_THROTTLED),
        (503, b"<html>down</html>", ErrorCode.CARRIER_SYSTEM_ERROR),
        (200, b'{"message-count": "0", "messages": []}', ErrorCode.CARRIER_SYSTEM_ERROR),
        (200, b'{"messages": [{"status": "0"}]}', ErrorCode.CARRIER_SYSTEM_ERROR),
    ],
)
def test_http_failures_map_to_the_catalogue(status: int, body: bytes, error: ErrorCode) -> None:
    outcome = Vonage().sent(HttpResponse(status, {}, body))
    assert outcome.error is error and outcome.detail


def test_every_parts_message_id_is_a_carrier_id() -> None:
    body = {
        "message-count": "2",
        "messages": [
            {"to": "447700900000", "message-id": "0A01", "status": "0"},
            {"to": "447700900000", "message-id": "0A02", "status": "0"},
        ],
    }
    outcome = Vonage().sent(HttpResponse(200, {}, json.dumps(body).encode()))
    assert outcome.ok and outcome.carrier_ids == ("0A01", "0A02")


def test_the_send_request_is_vonages_form() -> None:
    context = SendContext(_options(), STATUS_URL, "https://gw/inbound", now=1000.0)
    unicode = OutboundMessage(
        "msg_1", "+447700900001", "Привет", Encoding.UCS2, 1, None, expires_at=1600.0
    )
    call = Vonage().send(unicode, context)
    assert (call.method, call.url) == ("POST", "http://x/sms/json")
    form = dict(parse_qsl(call.body.decode()))
    assert form == {
        "api_key": KEY,
        "api_secret": SECRET,
        "from": "447700900000",
        "to": "447700900001",
        "text": "Привет",
        "type": "unicode",
        "callback": STATUS_URL,
        "client-ref": "msg_1",
        "ttl": "600000",
    }
    plain = OutboundMessage("msg_2", "+447700900001", "hi", Encoding.GSM7, 1, "Acme")
    form = dict(parse_qsl(Vonage().send(plain, context).body.decode()))
    assert form["from"] == "Acme" and "type" not in form and "ttl" not in form


def test_receipt_words_map_to_ours() -> None:
    words = {
        "accepted": ReceiptStatus.ACCEPTED,
        "buffered": ReceiptStatus.ACCEPTED,
        "delivered": ReceiptStatus.DELIVERED,
        "expired": ReceiptStatus.EXPIRED,
        "failed": ReceiptStatus.UNDELIVERED,
        "rejected": ReceiptStatus.REJECTED,
        "unknown": ReceiptStatus.UNKNOWN,
    }
    for word, ours in words.items():
        params = {"messageId": "0A9", "status": word, "err-code": "6"}
        for callback in (_get(STATUS_URL, params), _form(STATUS_URL, params)):
            [report] = Vonage().reports(callback, "v", 1.0)
            assert (report.carrier_id, report.status, report.error) == (
                "0A9",
                ours,
                "vonage err-code 6",
            )


def test_the_signature_check() -> None:
    stamp = 1_700_000_000.0
    vonage = Vonage(wall=lambda: stamp)
    params = {**DOC_RECEIPT, "timestamp": str(int(stamp))}
    for method in ("md5hash", "md5", "sha1", "sha256", "sha512"):
        options = _signed(method)
        good = {**params, "sig": sign(params, SIGNING, method)}
        for make in (_json, _form, _get):
            assert vonage.authentic(make(STATUS_URL, good), options), (method, make)
            tampered = {**good, "status": "failed"}
            assert not vonage.authentic(make(STATUS_URL, tampered), options)
            assert not vonage.authentic(make(STATUS_URL, params), options)  # no sig
    options = _signed("sha256")
    good = {**params, "sig": sign(params, SIGNING, "sha256")}
    assert vonage.authentic(_json(STATUS_URL, {**good, "sig": good["sig"].lower()}), options)
    # a captured callback replayed later than five minutes is refused
    late = Vonage(wall=lambda: stamp + 301)
    assert not late.authentic(_json(STATUS_URL, good), options)
    # signed with another method than the one configured
    assert not vonage.authentic(_json(STATUS_URL, good), _signed("sha512"))
    # without a signature secret Vonage signs nothing: the connector checks its token
    assert not Vonage().signs(_options()) and Vonage().signs(options)
    with pytest.raises(ValueError, match="signature_method"):
        _signed("sha384")


def test_the_documented_callbacks_read_and_verify() -> None:
    doc_now = float(DOC_RECEIPT["timestamp"])
    vonage = Vonage(wall=lambda: doc_now)
    options = _signed("md5hash")  # Vonage's default signing method
    receipt = {**DOC_RECEIPT, "sig": sign(DOC_RECEIPT, SIGNING, "md5hash")}
    callback = _json(STATUS_URL, receipt)
    assert vonage.authentic(callback, options)
    [report] = vonage.reports(callback, "vonage-eu", 5.0)
    assert (report.carrier_id, report.status, report.error) == (
        "0A0000001234567B",
        ReceiptStatus.DELIVERED,
        None,
    )
    inbound_vonage = Vonage(wall=lambda: float(DOC_INBOUND["timestamp"]))
    inbound = {**DOC_INBOUND, "sig": sign(DOC_INBOUND, SIGNING, "md5hash")}
    callback = _get("https://gw.example.com/v1/providers/vonage-eu/inbound", inbound)
    assert inbound_vonage.authentic(callback, options)
    [mo] = inbound_vonage.inbound(callback, "vonage-eu", 5.0)
    assert (mo.sender, mo.to, mo.body, mo.carrier_id) == (
        "+447700900001",
        "+447700900000",
        "Hello world",
        "0A0000000123ABCD1",
    )


def test_concatenated_inbound_parts_are_joined() -> None:
    vonage = Vonage()
    parts = {3: "world", 1: "Hello", 2: ", "}
    got = []
    for number, text in parts.items():
        params = {
            "msisdn": "447700900001",
            "to": "447700900000",
            "messageId": f"0A{number}",
            "text": text,
            "concat": "true",
            "concat-ref": "7",
            "concat-total": "3",
            "concat-part": str(number),
        }
        got.append(vonage.inbound(_get("https://gw/inbound", params), "v", 1.0))
    assert got[0] == [] and got[1] == []
    assert [m.body for m in got[2]] == ["Hello, world"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_send_receipt_and_stop_through_the_local_vonage(tmp_path: Path, backend: str) -> None:
    credentials = {
        "api_key": KEY,
        "api_secret": SECRET,
        "signature_secret": SIGNING,
        "signature_method": "sha256",
    }
    async with provider_fake("vonage", credentials=dict(credentials), dlr_delay_ms=10) as (
        fake,
        fake_url,
    ):
        options = _signed("sha256").model_copy(update={"base_url": fake_url})
        async with gateway_with(tmp_path, backend, [options]) as gw:
            connector = gw.relay.connectors["vonage-eu"]
            assert "token=" not in connector.status_url  # signed: no token needed
            fake.config.inbound_url = connector.inbound_url
            long_text = "Your code is 1234. " * 10  # two parts: two ids, two receipts
            message_id = await send(gw, "+447700900001", long_text)
            got = await reaches(gw, message_id, "delivered")
            assert len(fake.sent) == 2 and all(s.to == "447700900001" for s in fake.sent)
            assert got["carrier_ids"] == [s.id for s in fake.sent]
            assert all(answer == 204 for _, answer in fake.callbacks)
            assert {json.loads(o.body)["status"] for o, _ in fake.callbacks} == {
                "accepted",
                "delivered",
            }

            # reports that are forged, unsigned or stale change nothing
            params = {"messageId": fake.sent[0].id, "status": "failed", "err-code": "1"}
            stamp = str(int(time.time()))
            forged = {**params, "timestamp": stamp, "sig": "00" * 32}
            stale = {**params, "timestamp": str(int(time.time()) - 3600)}
            stale["sig"] = sign(stale, SIGNING, "sha256")
            for body in (forged, params, stale):
                r = await gw.client.post("/v1/providers/vonage-eu/status", json=body)
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
                r = await gw.client.get("/v1/providers/vonage-eu/status", params=body)
                assert r.status_code == 403
            assert (await message(gw, message_id))["status"] == "delivered"

            # the documented receipt, signed now, replayed for a message whose own
            # receipts are still to come
            fake.config.dlr_delay_ms = 600_000
            second = await send(gw, "+447700900001", "hello")
            await wait_for(lambda: len(fake.sent) == 3)
            await reaches(gw, second, "sent")
            replay = {
                **DOC_RECEIPT,
                "messageId": fake.sent[2].id,
                "timestamp": str(int(time.time())),
            }
            replay["sig"] = sign(replay, SIGNING, "sha256")
            r = await gw.client.get("/v1/providers/vonage-eu/status", params=replay)
            assert r.status_code == 204, r.text
            await reaches(gw, second, "delivered")

            await stop_is_suppressed(gw, fake_url, "+447700900001", "+447700900000")


async def test_unsigned_vonage_callbacks_carry_the_token(tmp_path: Path) -> None:
    credentials = {"api_key": KEY, "api_secret": SECRET, "callback_method": "GET"}
    async with provider_fake("vonage", credentials=credentials, dlr_delay_ms=10) as (
        fake,
        fake_url,
    ):
        async with gateway_with(tmp_path, "sqlite", [_options(fake_url)]) as gw:
            connector = gw.relay.connectors["vonage-eu"]
            assert "?token=" in connector.status_url
            message_id = await send(gw, "+447700900001", "hi")
            await reaches(gw, message_id, "delivered")
            assert all(o.method == "GET" and a == 204 for o, a in fake.callbacks)
            r = await gw.client.get(
                "/v1/providers/vonage-eu/status",
                params={"messageId": fake.sent[0].id, "status": "failed"},
            )
            assert r.status_code == 403
            assert (await message(gw, message_id))["status"] == "delivered"
