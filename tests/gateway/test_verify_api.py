"""Verifications end to end: HTTP in, the real SMPP carrier simulator out, the code read from
the SMS the carrier received, checked back over HTTP. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from bench.pumping_attack import simulate

from smsrelay.domain.encoding import decode_gsm7, decode_ucs2
from smsrelay.engine.clock import ManualClock
from smsrelay.store import accounts as account_store
from smsrelay.store import fraud as fraud_store
from smsrelay.store import messages as message_store
from tests.support.gateway import RunningGateway, running_gateway, webhook_receiver
from tests.support.servers import wait_for

BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


def _texts_to(gw: RunningGateway, number: str) -> list[str]:
    carrier = gw.relay.embedded_carrier
    assert carrier is not None
    out = []
    for _, pdu in carrier.accepted:
        if pdu.get("destination_addr") in (number, number.lstrip("+")):
            raw = pdu.get("short_message")
            assert isinstance(raw, bytes)
            coding = pdu.get("data_coding")
            out.append(decode_ucs2(raw) if coding == 8 else decode_gsm7(raw))
    return out


async def _code_from_carrier(gw: RunningGateway, number: str, nth: int = 1) -> str:
    await wait_for(lambda: len(_texts_to(gw, number)) >= nth)
    text = _texts_to(gw, number)[nth - 1]
    found = re.search(r"(\d{4,10})", text)
    assert found, text
    return found.group(1)


async def _create(gw: RunningGateway, to: str, **extra: Any) -> dict[str, Any]:
    r = await gw.client.post("/v1/verifications", headers=gw.auth(), json={"to": to, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _check(gw: RunningGateway, vid: str, code: str) -> Any:
    return await gw.client.post(
        f"/v1/verifications/{vid}/check", headers=gw.auth(), json={"code": code}
    )


@BOTH
async def test_code_from_the_carrier_approves(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        async with gw.relay.db.read() as conn:
            account = await account_store.get_account_by_name(conn, "default")
        assert account is not None
        async with webhook_receiver(account.webhook_secret) as (hook_url, callbacks):
            async with gw.relay.db.transaction() as conn:
                await account_store.update_account(conn, "default", webhook_url=hook_url)
            created = await _create(
                gw, "+4915112345678", locale="de", app_name="Acme", code_length=8
            )
            assert created["status"] == "pending" and created["to"] == "+4915112345678"
            assert list(created)[:2] == ["verification_id", "status"]
            assert created["expires_at"] and created["attempts_left"] == 5
            vid = created["verification_id"]
            code = await _code_from_carrier(gw, "+4915112345678")
            assert len(code) == 8
            text = _texts_to(gw, "+4915112345678")[0]
            assert "Acme" in text and text.startswith("Ihr Acme Bestätigungscode")
            # the code is in no answer and no message record
            assert code not in str(created)
            got = (await gw.client.get(f"/v1/verifications/{vid}", headers=gw.auth())).json()
            assert code not in str(got)
            message = (
                await gw.client.get(f"/v1/messages/{created['message_id']}", headers=gw.auth())
            ).json()
            assert code not in str(message) and "********" in message["message"]
            assert message["kind"] == "otp"
            async with gw.relay.db.read() as conn:
                stored = await message_store.get_message(conn, created["message_id"])
            assert stored is not None and code not in stored.body

            r = await _check(gw, vid, code)
            assert r.status_code == 200, r.text
            assert r.json() == {"verification_id": vid, "status": "approved", "attempts_left": 4}
            # an approval is a conversion of its message
            again = await gw.client.post(
                f"/v1/messages/{created['message_id']}/conversion", headers=gw.auth()
            )
            assert again.status_code == 201 and again.json()["source"] == "verify"
            await wait_for(
                lambda: any(b.get("verification_id") == vid for b, _ in callbacks.received)
            )
            event, verified = next(
                (b, v) for b, v in callbacks.received if b.get("verification_id") == vid
            )
            assert verified and list(event)[:3] == ["verification_id", "status", "timestamp"]
            assert event["status"] == "approved" and code not in str(event)

            stats = (await gw.client.get("/v1/verifications/stats", headers=gw.auth())).json()
            assert stats["countries"] == [
                {"key": "DE", "created": 1, "approved": 1, "conversion_rate": 1.0}
            ]
            assert stats["prefixes"][0]["key"] == "+491511"


@BOTH
async def test_wrong_codes_count_down_to_max_attempts(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        created = await _create(gw, "+14155552671")
        vid = created["verification_id"]
        code = await _code_from_carrier(gw, "+14155552671")
        wrong = "000000" if code != "000000" else "111111"
        answers = [(await _check(gw, vid, wrong)).json() for _ in range(5)]
        assert [a["attempts_left"] for a in answers] == [4, 3, 2, 1, 0]
        assert [a["status"] for a in answers] == ["pending"] * 4 + ["max_attempts_reached"]
        late = await _check(gw, vid, code)  # even the right code: the checks are spent
        assert late.status_code == 429
        assert late.json()["error"]["code"] == "verification_rate_limited"
        got = (await gw.client.get(f"/v1/verifications/{vid}", headers=gw.auth())).json()
        assert got["status"] == "max_attempts_reached"


@BOTH
async def test_resend_invalidates_the_old_code(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        created = await _create(gw, "+447700900123")
        vid = created["verification_id"]
        old = await _code_from_carrier(gw, "+447700900123")
        r = await gw.client.post(f"/v1/verifications/{vid}/resend", headers=gw.auth())
        assert r.status_code == 200, r.text
        assert r.json()["sends_left"] == 3 and r.json()["message_id"] != created["message_id"]
        new = await _code_from_carrier(gw, "+447700900123", nth=2)
        if new != old:  # one chance in a million that they are equal
            assert (await _check(gw, vid, old)).json()["status"] == "pending"
        assert (await _check(gw, vid, new)).json()["status"] == "approved"
        for _ in range(3):  # a closed verification sends nothing more
            r = await gw.client.post(f"/v1/verifications/{vid}/resend", headers=gw.auth())
            assert r.status_code == 409 and r.json()["error"]["code"] == "verification_closed"


@BOTH
async def test_sends_are_limited_to_five(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        vid = (await _create(gw, "+33612345678"))["verification_id"]
        for _ in range(4):
            r = await gw.client.post(f"/v1/verifications/{vid}/resend", headers=gw.auth())
            assert r.status_code == 200, r.text
        r = await gw.client.post(f"/v1/verifications/{vid}/resend", headers=gw.auth())
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "verification_rate_limited"


@BOTH
async def test_expiry_on_the_injected_clock(tmp_path: Path, backend: str) -> None:
    clock = ManualClock(time.time())
    async with running_gateway(tmp_path, backend, clock=clock) as gw:
        created = await _create(gw, "+34612345678")
        vid = created["verification_id"]
        code = await _code_from_carrier(gw, "+34612345678")
        clock.advance(599.0)
        got = (await gw.client.get(f"/v1/verifications/{vid}", headers=gw.auth())).json()
        assert got["status"] == "pending"
        clock.advance(2.0)
        r = await _check(gw, vid, code)
        assert r.json()["status"] == "expired"
        resend = await gw.client.post(f"/v1/verifications/{vid}/resend", headers=gw.auth())
        assert resend.status_code == 409


@BOTH
async def test_cancel_and_unknown_ids(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        vid = (await _create(gw, "+351912345678", locale="pt-BR"))["verification_id"]
        r = await gw.client.post(f"/v1/verifications/{vid}/cancel", headers=gw.auth())
        assert r.status_code == 200 and r.json()["status"] == "canceled"
        assert (await _check(gw, vid, "123456")).json()["status"] == "canceled"
        again = await gw.client.post(f"/v1/verifications/{vid}/cancel", headers=gw.auth())
        assert again.status_code == 409
        missing = await gw.client.get("/v1/verifications/ver_nothing", headers=gw.auth())
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "verification_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "+4915112345678", "code_length": 3}, "code_length"),
        ({"to": "+4915112345678", "code_length": 11}, "code_length"),
        ({"to": "+4915112345678", "locale": "xx"}, "locale"),
        ({"to": "+4915112345678", "channel": "voice"}, "channel"),
        ({"to": "not a number"}, "to"),
        ({"to": "+4915112345678", "device_ip": "nope"}, "device_ip"),
        ({"to": "+4915112345678", "app_hash": "short"}, "app_hash"),
        ({"to": "+4915112345678", "web_domain": "not a domain"}, "web_domain"),
    ],
)
async def test_bad_create_bodies_are_refused_by_field(
    tmp_path: Path, body: dict[str, Any], field: str
) -> None:
    async with running_gateway(tmp_path) as gw:
        r = await gw.client.post("/v1/verifications", headers=gw.auth(), json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field


@BOTH
async def test_web_otp_and_app_hash_lines(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        await _create(
            gw, "+4915112340000", web_domain="example.com", app_hash="FA+9qCX9VSu", locale="fr"
        )
        code = await _code_from_carrier(gw, "+4915112340000")
        text = _texts_to(gw, "+4915112340000")[0]
        assert text.endswith(f"\n\n@example.com #{code}")
        assert "\n\nFA+9qCX9VSu\n\n" in text


@BOTH
async def test_geo_permissions_refuse_with_the_reason(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        r = await gw.client.put(
            "/v1/verify/settings",
            headers=gw.auth(),
            json={"allowed_countries": ["de", "FR"], "app_name": "Acme"},
        )
        assert r.status_code == 200 and r.json()["allowed_countries"] == ["DE", "FR"]
        refused = await gw.client.post(
            "/v1/verifications", headers=gw.auth(), json={"to": "+23276123456"}
        )
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["code"] == "fraud_suspected" and "geo_permission" in error["message"]
        ok = await _create(gw, "+4915112345678")
        assert ok["status"] == "pending"
        await wait_for(lambda: bool(_texts_to(gw, "+4915112345678")))
        text = _texts_to(gw, "+4915112345678")
        assert "Acme" in text[0]
        blocks = (await gw.client.get("/v1/admin/fraud/blocks", headers=gw.auth())).json()
        assert blocks["refusals"] == [
            {"account": "default", "reason": "geo_permission", "count": 1}
        ]


@BOTH
async def test_a_pumping_attack_is_blocked_and_normal_traffic_goes_on(
    tmp_path: Path, backend: str
) -> None:
    """bench/pumping_attack.py's scenario: 3,000 requests for codes to consecutive numbers of
    one premium range (none entered, a new IP each), with a German user every 5 s entering
    theirs. Five simulated minutes on the injected clock."""
    clock = ManualClock(time.time())
    async with running_gateway(tmp_path, backend, clock=clock) as gw:
        carrier = gw.relay.embedded_carrier
        assert carrier is not None
        result = await simulate(
            gw.client, gw.auth(), clock, carrier, seconds=300, attack_per_second=10
        )
        assert result.attack_requests == 3000
        assert result.normal_refused == []
        assert result.normal_approved == result.normal_requests == 60
        # the bound of domain/fraud.py: 30 a minute to the prefix, judged once a whole
        # minute is past the 2-minute grace (at most 4 minutes of codes)
        assert result.blocked_after is not None and result.attack_created <= 120
        assert result.attack_sms_at_carrier == result.attack_created
        assert result.attack_refusals["fraud_suspected"] > 1000

        blocks = (await gw.client.get("/v1/admin/fraud/blocks", headers=gw.auth())).json()
        assert [(b["scope"], b["key"]) for b in blocks["data"]] == [("prefix", "+232760")]
        reasons = {r["reason"]: r["count"] for r in blocks["refusals"]}
        assert reasons["destination_blocked"] == result.attack_refusals["fraud_suspected"]
        refused = await gw.client.post(
            "/v1/verifications", headers=gw.auth(), json={"to": "+23276099999"}
        )
        assert refused.status_code == 403
        message = refused.json()["error"]["message"]
        assert "destination_blocked" in message and "prefix +232760" in message

        # the operator lifts it: codes are judged on the traffic after the lift; the
        # country's traffic still departs from its baseline, so the country is blocked now
        lifted = await gw.client.delete("/v1/admin/fraud/blocks/+232760", headers=gw.auth())
        assert lifted.status_code == 200 and lifted.json()["lifted"] == 1
        clock.advance(60.0)  # a new minute: the velocity count starts over
        country = await gw.client.post(
            "/v1/verifications", headers=gw.auth(), json={"to": "+23276099998"}
        )
        assert country.status_code == 403
        assert "country SL" in country.json()["error"]["message"]
        lifted = await gw.client.delete("/v1/admin/fraud/blocks/SL", headers=gw.auth())
        assert lifted.status_code == 200
        again = await gw.client.post(
            "/v1/verifications", headers=gw.auth(), json={"to": "+23276099997"}
        )
        assert again.status_code == 201, again.text
        none = await gw.client.delete("/v1/admin/fraud/blocks/+232760", headers=gw.auth())
        assert none.status_code == 404

        stats = (await gw.client.get("/v1/verifications/stats", headers=gw.auth())).json()
        by_country = {c["key"]: c for c in stats["countries"]}
        assert by_country["DE"]["conversion_rate"] == 1.0
        assert by_country["SL"]["approved"] == 0


@BOTH
async def test_a_tenant_sees_and_lifts_only_its_own_blocks(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        now = time.time()
        async with gw.relay.db.transaction() as conn:
            operator = await account_store.get_account_by_name(conn, "default")
            tenant = await account_store.create_account(conn, "acme", now)
            _, key = await account_store.create_api_key(
                conn, tenant.id, ("send", "read", "admin"), now
            )
            assert operator is not None
            await fraud_store.add_block(conn, operator.id, "prefix", "+232760", "x", now, now + 60)
            await fraud_store.add_block(conn, tenant.id, "prefix", "+232761", "y", now, now + 60)
        mine = (await gw.client.get("/v1/admin/fraud/blocks", headers=gw.auth(key))).json()
        assert [b["key"] for b in mine["data"]] == ["+232761"]
        everyone = (await gw.client.get("/v1/admin/fraud/blocks", headers=gw.auth())).json()
        assert [b["key"] for b in everyone["data"]] == ["+232760", "+232761"]
        other = await gw.client.get(
            "/v1/admin/fraud/blocks", params={"account": "default"}, headers=gw.auth(key)
        )
        assert other.status_code == 403
        refused = await gw.client.delete("/v1/admin/fraud/blocks/+232760", headers=gw.auth(key))
        assert refused.status_code == 404  # not its block
        lifted = await gw.client.delete(
            "/v1/admin/fraud/blocks/+232761", params={"account": "acme"}, headers=gw.auth()
        )
        assert lifted.status_code == 200 and lifted.json()["lifted"] == 1
        # a verification of the operator is not the tenant's
        created = await _create(gw, "+4915112345678")
        got = await gw.client.get(
            f"/v1/verifications/{created['verification_id']}", headers=gw.auth(key)
        )
        assert got.status_code == 404
