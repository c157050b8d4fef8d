"""A provider described as data: the generic connector, here describing Twilio's API."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from smsrelay.connectors.http.providers.generic import Generic, find, render
from smsrelay.connectors.options import GenericHttp, HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.httpclient import HttpResponse
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import wait_for

SID, TOKEN = "AC00000000000000000000000000000003", "generic-token"


def _generic(base_url: str) -> HttpOptions:
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    return HttpOptions(
        name="described",
        provider="generic",
        base_url=base_url,
        default_sender="+14155550100",
        generic=GenericHttp(
            url=f"/2010-04-01/Accounts/{SID}/Messages.json",
            headers={"Authorization": f"Basic {basic}"},
            content_type="form",
            body="To={to}&From={from}&Body={text}&StatusCallback={status_url}",
            id_path="sid",
            status_id_field="MessageSid",
            status_field="MessageStatus",
            status_error_field="ErrorCode",
            status_map={"failed": "rejected", "sent": "accepted"},
            inbound_from_field="From",
            inbound_to_field="To",
            inbound_text_field="Body",
            inbound_id_field="MessageSid",
        ),
    )


def test_templates_escape_for_their_format_and_paths_find_ids() -> None:
    values = {"to": "+1 2", "text": 'a "b"&c'}
    assert render("to={to}&t={text}", values, lambda v: v.replace(" ", "+")) == 'to=+1+2&t=a+"b"&c'
    assert find({"messages": [{"id": 7}]}, "messages.0.id") == "7"
    assert find({"messages": []}, "messages.0.id") is None


def test_answers_are_classified_by_the_patterns() -> None:
    spec = GenericHttp(url="/send", id_path="regex:ID: (\\w+)", permanent="BAD NUMBER")
    generic = Generic(spec)
    assert generic.sent(HttpResponse(200, {}, b"OK ID: abc123")).carrier_ids == ("abc123",)
    assert generic.sent(HttpResponse(200, {}, b"BAD NUMBER")).error is ErrorCode.CARRIER_REJECTED
    assert generic.sent(HttpResponse(503, {}, b"busy")).error is ErrorCode.CARRIER_SYSTEM_ERROR
    assert generic.sent(HttpResponse(429, {}, b"slow")).error is ErrorCode.CARRIER_THROTTLED
    assert generic.sent(HttpResponse(200, {}, b"OK")).error is ErrorCode.CARRIER_SYSTEM_ERROR


def test_a_generic_connector_needs_its_table_and_our_status_words() -> None:
    with pytest.raises(ValidationError, match="needs a"):
        HttpOptions(name="g", provider="generic")
    with pytest.raises(ValidationError, match="not ours"):
        GenericHttp(url="/x", status_map={"DELIVRD": "done"})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_described_provider_sends_and_its_token_guards_the_callbacks(
    tmp_path: Path, backend: str
) -> None:
    credentials = {"account_sid": SID, "auth_token": TOKEN}
    async with provider_fake("twilio", credentials=credentials, dlr_delay_ms=5) as (fake, url):
        async with gateway_with(tmp_path, backend, [_generic(url)]) as gw:
            r = await gw.client.post(
                "/send", headers=gw.auth(), json={"to": "+14155550101", "message": "hi there"}
            )
            message_id = r.json()["message_id"]

            async def delivered() -> bool:
                got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
                return bool(got.json()["status"] == "delivered")

            await wait_for(delivered)
            [sent] = fake.sent
            assert sent.text == "hi there" and "?token=" in sent.callback_url
            without = await gw.client.post(
                "/v1/providers/described/status",
                data={"MessageSid": sent.id, "MessageStatus": "failed"},
            )
            wrong = await gw.client.post(
                "/v1/providers/described/status?token=nope",
                data={"MessageSid": sent.id, "MessageStatus": "failed"},
            )
            assert without.status_code == wrong.status_code == 403
            assert await delivered()
            unknown = await gw.client.post("/v1/providers/nobody/status", data={})
            assert unknown.status_code == 404
