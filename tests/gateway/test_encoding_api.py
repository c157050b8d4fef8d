"""Per-message ``encoding`` and ``national_language``, the account's ``transliterate`` setting
(admin API), and what the send answer and the message view report.

The gateway runs the embedded simulator and an SMPP carrier that sends Turkish, Spanish and
Portuguese with their national tables; the default route has both, and numbers in the UK
take a route with the simulator alone, which sends none."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsrelay.config import RouteConfig
from smsrelay.connectors.options import SimulatorOptions, SmppOptions
from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES
from smsrelay.gateway.http.schemas import NationalLanguage
from smsrelay.simulator import CarrierConfig, CarrierSimulator
from smsrelay.store import accounts as account_store
from tests.support.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

TO = "+14155552671"
UK = "+447911123456"  # its route's connector sends no national tables


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with CarrierSimulator(CarrierConfig(dlr_delay=0.02)) as carrier:
        connectors = [
            SimulatorOptions(name="simulator", latency_ms=1, dlr_delay_ms=30),
            SmppOptions(name="national", port=carrier.port, national_languages=("tr", "es", "pt")),
        ]
        routes = [
            RouteConfig(name="default", connectors=["simulator", "national"]),
            RouteConfig(name="uk", prefixes=["+44"], connectors=["simulator"]),
        ]
        async with running_gateway(
            tmp_path, backend, connectors=connectors, routes=routes
        ) as gateway:
            yield gateway


async def send(gw: RunningGateway, key: str | None = None, **body: Any) -> dict[str, Any]:
    r = await gw.client.post("/send", json={"to": TO, **body}, headers=gw.auth(key))
    assert r.status_code == 202, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_ola_acao_with_transliteration_on_and_off(gw: RunningGateway) -> None:
    off = await send(gw, message="Olá, ação!")
    assert (off["encoding"], off["segments"], off["characters_changed"]) == ("ucs2", 1, [])
    assert "national_language" not in off

    r = await gw.client.patch(
        "/v1/admin/accounts/default", json={"transliterate": True}, headers=gw.auth()
    )
    assert r.status_code == 200
    assert r.json() == {
        "name": "default",
        "transliterate": True,
        "national_language": None,
        "opt_out_texts": {},
        "dlt_entity_id": None,
    }

    on = await send(gw, message="Olá, ação!")
    assert (on["encoding"], on["segments"]) == ("gsm7", 1)
    assert on["characters_changed"] == [
        {"from": "á", "to": "a"},
        {"from": "ç", "to": "c"},
        {"from": "ã", "to": "a"},
    ]
    assert on["replaced_characters"] == [["á", "a"], ["ç", "c"], ["ã", "a"]]
    stored = await gw.client.get(f"/v1/messages/{on['message_id']}", headers=gw.auth())
    assert stored.json()["message"] == "Ola, acao!"
    # per message, the request's own choice wins
    forced = await send(gw, message="Olá, ação!", encoding="ucs2")
    assert (forced["encoding"], forced["characters_changed"]) == ("ucs2", [])


async def test_encoding_transliterate_asks_for_it_whatever_the_account_says(
    gw: RunningGateway,
) -> None:
    asked = await send(gw, message="Łódź", encoding="transliterate")
    assert asked["encoding"] == "gsm7"
    assert asked["characters_changed"] == [
        {"from": "Ł", "to": "L"},
        {"from": "ó", "to": "o"},
        {"from": "ź", "to": "z"},
    ]


async def test_gsm7_and_transliterate_refuse_what_gsm7_cannot_write(gw: RunningGateway) -> None:
    for encoding in ("gsm7", "transliterate"):
        r = await gw.client.post(
            "/send", json={"to": TO, "message": "ok 😀", "encoding": encoding}, headers=gw.auth()
        )
        error = r.json()["error"]
        assert (r.status_code, error["code"], error["field"]) == (
            400,
            "invalid_encoding",
            "encoding",
        )
        assert "😀" in error["message"]
    r = await gw.client.post(
        "/send", json={"to": TO, "message": "hi", "encoding": "utf8"}, headers=gw.auth()
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "encoding")


async def test_national_language_is_reported_and_stored(gw: RunningGateway) -> None:
    text = "Şişli'de ığdır"
    answer = await send(gw, message=text, national_language="tr")
    assert (answer["encoding"], answer["segments"], answer["national_language"]) == (
        "gsm7",
        1,
        "tr",
    )
    assert answer["characters_changed"] == []
    got = (await gw.client.get(f"/v1/messages/{answer['message_id']}", headers=gw.auth())).json()
    assert (got["encoding"], got["national_language"], got["message"]) == ("gsm7", "tr", text)
    without = await send(gw, message=text)
    assert without["encoding"] == "ucs2"
    r = await gw.client.post(
        "/send",
        json={"to": TO, "message": text, "national_language": "xx"},
        headers=gw.auth(),
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "national_language")


async def test_the_setting_is_an_accounts_own(gw: RunningGateway) -> None:
    async with gw.relay.db.transaction() as conn:
        acme = await account_store.create_account(conn, "acme", time.time())
        _, key = await account_store.create_api_key(conn, acme.id, ["admin"], time.time())
        _, sender = await account_store.create_api_key(conn, acme.id, ["send"], time.time())
    own = await gw.client.patch(
        "/v1/admin/accounts/acme", json={"transliterate": True}, headers=gw.auth(key)
    )
    assert own.status_code == 200
    got = await gw.client.get("/v1/admin/accounts/acme", headers=gw.auth(key))
    assert got.json() == {
        "name": "acme",
        "transliterate": True,
        "national_language": None,
        "opt_out_texts": {},
        "dlt_entity_id": None,
    }
    other = await gw.client.patch(
        "/v1/admin/accounts/default", json={"transliterate": True}, headers=gw.auth(key)
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")
    no_admin = await gw.client.get("/v1/admin/accounts/acme", headers=gw.auth(sender))
    assert no_admin.status_code == 403
    missing = await gw.client.get("/v1/admin/accounts/nobody", headers=gw.auth())
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    bad = await gw.client.patch(
        "/v1/admin/accounts/acme", json={"transliterate": "maybe"}, headers=gw.auth(key)
    )
    assert bad.status_code == 422
    # the tenant's messages follow its setting; the operator's do not
    assert (await send(gw, sender, message="ação"))["encoding"] == "gsm7"
    assert (await send(gw, message="ação"))["encoding"] == "ucs2"


async def test_an_accounts_national_language_applies_when_a_request_names_none(
    gw: RunningGateway,
) -> None:
    text = "Şişli'de ığdır"
    r = await gw.client.patch(
        "/v1/admin/accounts/default", json={"national_language": "tr"}, headers=gw.auth()
    )
    assert r.json() == {
        "name": "default",
        "transliterate": False,
        "national_language": "tr",
        "opt_out_texts": {},
        "dlt_entity_id": None,
    }
    default = await send(gw, message=text)
    assert (default["encoding"], default["national_language"]) == ("gsm7", "tr")
    spanish = await send(gw, message="¿Qué tal, Ángel?", national_language="es")
    assert spanish["national_language"] == "es"  # the request's language wins
    assert "national_language" not in await send(gw, message="plain")  # used only if it saves
    bad = await gw.client.patch(
        "/v1/admin/accounts/default", json={"national_language": "xx"}, headers=gw.auth()
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "national_language")
    cleared = await gw.client.patch(
        "/v1/admin/accounts/default", json={"national_language": None}, headers=gw.auth()
    )
    assert cleared.json()["national_language"] is None
    assert (await send(gw, message=text))["encoding"] == "ucs2"


async def test_a_language_no_route_to_the_number_sends(gw: RunningGateway) -> None:
    text = "Şişli'de ığdır"
    r = await gw.client.post(
        "/send", json={"to": UK, "message": text, "national_language": "tr"}, headers=gw.auth()
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert (r.status_code, error["code"], error["field"]) == (
        422,
        "national_language_unsupported",
        "national_language",
    )
    batch = await gw.client.post(
        "/v1/messages/batch",
        json={
            "messages": [
                {"to": TO, "message": text, "national_language": "tr"},
                {"to": UK, "message": text, "national_language": "tr"},
            ]
        },
        headers=gw.auth(),
    )
    assert batch.status_code == 202, batch.text
    first, second = batch.json()["results"]
    assert (first["encoding"], first["segments"]) == ("gsm7", 1)
    assert second["error"]["code"] == "national_language_unsupported"
    # the account's default is not used where it cannot be sent: counted as the carrier gets it
    await gw.client.patch(
        "/v1/admin/accounts/default", json={"national_language": "tr"}, headers=gw.auth()
    )
    there = await send(gw, message=text)
    assert (there["encoding"], there["national_language"]) == ("gsm7", "tr")
    uk = await send(gw, to=UK, message=text)
    assert uk["encoding"] == "ucs2" and "national_language" not in uk
    got = (await gw.client.get(f"/v1/messages/{uk['message_id']}", headers=gw.auth())).json()
    assert (got["encoding"], got["national_language"]) == ("ucs2", None)


def test_the_api_names_the_languages_the_tables_define(backend: str) -> None:
    assert list(NationalLanguage.__args__) == list(NATIONAL_LANGUAGES)


async def test_the_admin_route_test_shows_which_connectors_send_a_language(
    gw: RunningGateway,
) -> None:
    r = await gw.client.post(
        "/v1/admin/routes/test",
        headers=gw.auth(),
        json={"to": TO, "national_language": "tr"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["connectors"] == ["national", "simulator"]
    assert body["national_language_senders"] == ["national"]
    plain = await gw.client.post("/v1/admin/routes/test", headers=gw.auth(), json={"to": TO})
    assert plain.json()["connectors"] == ["simulator", "national"]
    assert plain.json()["national_language_senders"] is None
    uk = await gw.client.post(
        "/v1/admin/routes/test", headers=gw.auth(), json={"to": UK, "national_language": "tr"}
    )
    assert uk.json()["national_language_senders"] == []
    bad = await gw.client.post(
        "/v1/admin/routes/test", headers=gw.auth(), json={"to": TO, "national_language": "xx"}
    )
    assert bad.status_code == 422
