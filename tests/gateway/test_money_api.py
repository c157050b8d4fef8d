"""Prices and balances over real HTTP, on both databases: the price in the answers, 402 with
nothing queued, no overdraft under concurrent sends, whole-batch refusal, refunds once, and
that prices are the operator's to set."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from smsrelay.connectors.options import SimulatorOptions
from smsrelay.domain.pricing import to_micros
from smsrelay.engine.money import credit_account, refund_outcomes
from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import connect
from smsrelay.smpp.constants import BindType, CommandStatus
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store.schema import ledger, messages
from tests.gateway.smpp_support import make_user, smpp_port
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

DE = "+4915112345678"
PRICES = {"country": "DE", "prefix": "", "price": "0.07", "currency": "EUR"}


@pytest.fixture
async def gw(tmp_path: Path, backend: str) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, backend) as gateway:
        yield gateway


async def _tenant(gw: RunningGateway, name: str, balance: str | None = None) -> str:
    """A tenant priced 0.07 EUR per segment to Germany, with ``balance``; returns its key."""
    async with gw.relay.db.transaction() as conn:
        account = await account_store.create_account(conn, name, time.time())
        _, key = await account_store.create_api_key(
            conn, account.id, ["send", "read", "admin"], time.time()
        )
    r = await gw.client.put(
        "/v1/admin/pricing", json={"account": name, "rows": [PRICES]}, headers=gw.auth()
    )
    assert r.status_code == 200, r.text
    if balance is not None:
        await credit_account(gw.relay.db, name, to_micros(balance), time.time())
    return key


async def _stored(gw: RunningGateway, name: str) -> int:
    async with gw.relay.db.read() as conn:
        account = await account_store.get_account_by_name(conn, name)
        assert account is not None
        count = await conn.scalar(
            select(func.count()).select_from(messages).where(messages.c.account_id == account.id)
        )
    return int(count or 0)


async def _balance(gw: RunningGateway, key: str) -> str:
    r = await gw.client.get("/v1/balance", headers=gw.auth(key))
    assert r.status_code == 200, r.text
    return str(r.json()["balance"])


async def test_the_fifteenth_message_at_0_07_is_refused_from_1_00(gw: RunningGateway) -> None:
    key = await _tenant(gw, "shop", "1.00")
    r = await gw.client.get("/v1/pricing", params={"to": DE}, headers=gw.auth(key))
    assert r.json() == {
        "to": DE,
        "country": "DE",
        "price": "0.07",
        "currency": "EUR",
        "prefix": None,
    }
    raw = await gw.client.get(f"/v1/pricing?to={DE}", headers=gw.auth(key))  # + unencoded
    assert raw.status_code == 200 and raw.json()["to"] == DE
    for n in range(14):
        r = await gw.client.post(
            "/send", json={"to": DE, "message": f"hi {n}"}, headers=gw.auth(key)
        )
        assert r.status_code == 202, r.text
        assert (r.json()["price"], r.json()["currency"]) == ("0.07", "EUR")
    first = r.json()["message_id"]
    r = await gw.client.post(
        "/v1/messages", json={"to": DE, "message": "one more"}, headers=gw.auth(key)
    )
    assert r.status_code == 402
    assert r.json()["error"]["code"] == "insufficient_balance"
    assert await _stored(gw, "shop") == 14  # nothing queued for the refused one
    r = await gw.client.get("/v1/balance", headers=gw.auth(key))
    assert r.json() == {
        "account": "shop",
        "balance": "0.02",
        "currency": "EUR",
        "credit_limit": "0.00",
    }
    got = (await gw.client.get(f"/v1/messages/{first}", headers=gw.auth(key))).json()
    assert (got["price"], got["currency"]) == ("0.07", "EUR")
    # the operator's default account has no price list: unpriced, unlimited, as before
    r = await gw.client.post("/send", json={"to": DE, "message": "free"}, headers=gw.auth())
    assert r.status_code == 202 and "price" not in r.json()
    assert (
        await gw.client.get("/v1/pricing", params={"to": DE}, headers=gw.auth())
    ).status_code == 404


async def test_forty_concurrent_sends_never_overdraw(gw: RunningGateway) -> None:
    key = await _tenant(gw, "rush", "1.00")

    async def send(n: int) -> int:
        r = await gw.client.post(
            "/send", json={"to": DE, "message": f"rush {n}"}, headers=gw.auth(key)
        )
        return r.status_code

    statuses = await asyncio.gather(*(send(n) for n in range(40)))
    assert statuses.count(202) == 14 and statuses.count(402) == 26
    assert await _stored(gw, "rush") == 14
    assert await _balance(gw, key) == "0.02"


async def test_a_batch_is_covered_whole_or_refused_whole(gw: RunningGateway) -> None:
    key = await _tenant(gw, "bulk", "0.20")
    three = {"messages": [{"to": DE, "message": f"b{n}"} for n in range(3)]}
    r = await gw.client.post("/v1/messages/batch", json=three, headers=gw.auth(key))
    assert r.status_code == 402, r.text
    body = r.json()
    assert body["accepted"] == 0 and body["error"]["code"] == "insufficient_balance"
    assert {i["error"]["code"] for i in body["results"]} == {"insufficient_balance"}
    assert await _stored(gw, "bulk") == 0
    two = {
        "messages": [
            {"to": DE, "message": "ok"},
            {"to": "nope", "message": "x"},
            {"to": DE, "message": "ok"},
        ]
    }
    r = await gw.client.post("/v1/messages/batch", json=two, headers=gw.auth(key))
    assert r.status_code == 202, r.text
    assert [i.get("price") for i in r.json()["results"]] == ["0.07", None, "0.07"]
    assert await _balance(gw, key) == "0.06"


async def test_a_tenant_may_not_change_prices(gw: RunningGateway) -> None:
    key = await _tenant(gw, "acme")
    for body in ({"account": "acme", "rows": [PRICES]}, {"connector": "simulator", "rows": []}):
        r = await gw.client.put("/v1/admin/pricing", json=body, headers=gw.auth(key))
        assert r.status_code == 403, r.text
    r = await gw.client.get("/v1/balance", params={"account": "default"}, headers=gw.auth(key))
    assert r.status_code == 403
    r = await gw.client.get("/v1/admin/pricing", headers=gw.auth(key))  # its own list: fine
    assert r.status_code == 200 and r.json()["rows"][0]["price"] == "0.07"


async def test_bad_price_rows_are_refused_with_their_index(gw: RunningGateway) -> None:
    rows = [PRICES, {**PRICES, "country": "FR", "currency": "USD"}]
    r = await gw.client.put(
        "/v1/admin/pricing", json={"account": "default", "rows": rows}, headers=gw.auth()
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "rows.1"
    assert "USD differs from EUR" in r.json()["error"]["message"]
    r = await gw.client.put(
        "/v1/admin/pricing", json={"connector": "nowhere", "rows": [PRICES]}, headers=gw.auth()
    )
    assert r.status_code == 404


async def test_a_rejected_message_is_refunded_once(tmp_path: Path, backend: str) -> None:
    rejecting = SimulatorOptions(
        name="simulator", latency_ms=1, dlr_delay_ms=5, outcomes={"rejected": 1.0}
    )
    async with running_gateway(tmp_path, backend, connectors=[rejecting]) as gw:
        key = await _tenant(gw, "refund", "1.00")
        r = await gw.client.post("/send", json={"to": DE, "message": "no"}, headers=gw.auth(key))
        assert r.status_code == 202
        message_id = r.json()["message_id"]
        assert await _balance(gw, key) == "0.93"

        async def rejected() -> bool:
            got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth(key))
            return bool(got.json()["status"] == "rejected")

        await wait_for(rejected)
        assert await _balance(gw, key) == "1.00"
        async with gw.relay.db.transaction() as conn:  # a second final word changes nothing
            message = await message_store.get_message(conn, message_id)
            assert message is not None
            assert await refund_outcomes(conn, [message], time.time(), {"rejected"}) == 0
            kinds = (
                (await conn.execute(select(ledger.c.kind).order_by(ledger.c.id))).scalars().all()
            )
        assert list(kinds) == ["credit", "debit", "refund"]
        assert await _balance(gw, key) == "1.00"


async def test_an_smpp_submit_the_balance_cannot_cover_gets_submitfail(gw: RunningGateway) -> None:
    await _tenant(gw, "esme", "0.10")
    await make_user(gw, account="esme")
    client = await connect("127.0.0.1", smpp_port(gw), "client1", "secret", BindType.TRANSCEIVER)
    try:
        submit = P.submit_sm("Acme", "4915112345678", b"hi", source_addr_ton=5, dest_addr_ton=1)
        first = await client.submit(submit)
        second = await client.submit(submit)
    finally:
        await client.unbind()
    assert first.command_status == 0
    assert second.command_status == CommandStatus.ESME_RSUBMITFAIL
    assert await _stored(gw, "esme") == 1
