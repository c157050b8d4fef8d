"""India's DLT ids in each HTTP provider's send request: their own field names, the
connector's telemarketer id added, and providers without per-message fields left alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from smsrelay.connectors.http.provider import SendContext
from smsrelay.connectors.http.providers import provider_for
from smsrelay.connectors.http.providers.generic import Generic
from smsrelay.connectors.options import GenericHttp, HttpOptions
from smsrelay.domain.messages import Encoding, OutboundMessage
from smsrelay.domain.registration import Registration
from tests.connectors.http.support import gateway_with, provider_fake
from tests.support.servers import wait_for

PE = "1101456780000012345"
TEMPLATE = "1107161234567890123"
TM = "1702158123456789012"
CREDENTIALS = {
    "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "t"},
    "vonage": {"api_key": "k", "api_secret": "s"},
    "infobip": {"api_key": "k"},
    "telnyx": {"api_key": "k"},
    "plivo": {"auth_id": "MA0000", "auth_token": "t"},
    "sinch": {"service_plan_id": "p", "api_token": "t"},
}


def _options(provider: str, **extra: Any) -> HttpOptions:
    return HttpOptions(
        name=provider,
        provider=provider,  # type: ignore[arg-type]
        base_url="http://x",
        credentials=CREDENTIALS[provider],
        default_sender="+14155550100",
        **extra,
    )


def _message(registration: Registration | None) -> OutboundMessage:
    return OutboundMessage(
        "msg_1", "+919812345678", "Hi", Encoding.GSM7, 1, "ACMEIN", registration=registration
    )


def _request(provider: str, registration: Registration | None, **extra: Any) -> dict[str, Any]:
    options = _options(provider, **extra)
    context = SendContext(options, "http://gw/status", "http://gw/inbound", now=0.0)
    call = provider_for(options).send(_message(registration), context)
    if call.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
    body: dict[str, Any] = json.loads(call.body)
    return body


def test_infobip_takes_regional_india_dlt() -> None:
    [entry] = _request("infobip", Registration(PE, TEMPLATE), telemarketer_id=TM)["messages"]
    assert entry["regional"] == {
        "indiaDlt": {
            "principalEntityId": PE,
            "contentTemplateId": TEMPLATE,
            "telemarketerId": TM,
        }
    }
    [plain] = _request("infobip", None, telemarketer_id=TM)["messages"]
    assert "regional" not in plain


def test_plivo_takes_dlt_entity_and_template_ids() -> None:
    body = _request("plivo", Registration(PE, TEMPLATE, "OWN"))
    assert (body["dlt_entity_id"], body["dlt_template_id"]) == (PE, TEMPLATE)
    assert not {k for k in body if k.startswith("dlt_")} - {"dlt_entity_id", "dlt_template_id"}
    assert "dlt_entity_id" not in _request("plivo", None)


def test_vonage_takes_entity_id_and_content_id() -> None:
    form = _request("vonage", Registration(PE, TEMPLATE))
    assert (form["entity-id"], form["content-id"]) == (PE, TEMPLATE)
    assert "entity-id" not in _request("vonage", None)


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "sinch"])
def test_providers_without_per_message_fields_get_none(provider: str) -> None:
    sent = json.dumps(_request(provider, Registration(PE, TEMPLATE, TM)))
    assert PE not in sent and TEMPLATE not in sent and TM not in sent


def test_generic_templates_have_the_ids_as_placeholders() -> None:
    spec = GenericHttp(
        url="/send?pe={entity_id}",
        content_type="json",
        body='{"to": "{to}", "pe": "{entity_id}", "tpl": "{template_id}", '
        '"tm": "{telemarketer_id}"}',
    )
    options = HttpOptions(name="g", provider="generic", generic=spec, telemarketer_id=TM)
    context = SendContext(options, "http://gw/status", "http://gw/inbound", now=0.0)
    call = Generic(spec).send(_message(Registration(PE, TEMPLATE)), context)
    assert call.url == f"/send?pe={PE}"
    assert json.loads(call.body) == {"to": "+919812345678", "pe": PE, "tpl": TEMPLATE, "tm": TM}
    bare = Generic(spec).send(_message(None), context)
    assert json.loads(bare.body) == {"to": "+919812345678", "pe": "", "tpl": "", "tm": ""}


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("infobip", {"principalEntityId": PE, "contentTemplateId": TEMPLATE, "telemarketerId": TM}),
        ("plivo", {"dlt_entity_id": PE, "dlt_template_id": TEMPLATE}),
        ("vonage", {"entity-id": PE, "content-id": TEMPLATE}),
    ],
)
async def test_the_ids_reach_each_providers_fake_over_http(
    tmp_path: Path, provider: str, expected: dict[str, str]
) -> None:
    credentials = CREDENTIALS[provider]
    async with provider_fake(provider, credentials=credentials, dlr_delay_ms=5) as (fake, url):
        options = HttpOptions(
            name="carrier",
            provider=provider,  # type: ignore[arg-type]
            base_url=url,
            credentials=credentials,
            default_sender="919812300000",
            telemarketer_id=TM,
        )
        async with gateway_with(tmp_path, "sqlite", [options]) as gw:
            r = await gw.client.patch(
                "/v1/admin/accounts/default", json={"dlt_entity_id": PE}, headers=gw.auth()
            )
            assert r.status_code == 200
            r = await gw.client.post(
                "/send",
                json={"to": "+919812345678", "message": "Your code is 1234"}
                | {"registration": {"template_id": TEMPLATE}},
                headers=gw.auth(),
            )
            assert r.status_code == 202, r.text
            await wait_for(lambda: fake.sent)
            assert dict(fake.sent[0].dlt) == expected
