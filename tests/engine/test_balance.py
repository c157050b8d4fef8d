"""The debit in the accept's unit of work, on both databases: concurrent accepts never take
more than the balance and its credit limit allow, and a refused accept stores nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from smsrelay.domain.errors import ErrorCode, SmsError, spec
from smsrelay.domain.pricing import parse_rows, to_micros
from smsrelay.engine.accept import SendRequest
from smsrelay.engine.money import ACCOUNT, credit_account, import_price_list
from smsrelay.store import accounts as account_store
from smsrelay.store import pricing as pricing_store
from smsrelay.store.schema import ledger, messages
from tests.support.gateway import running_gateway

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

DE = "+4915112345678"


async def test_concurrent_accepts_stop_at_the_credit_limit(tmp_path: Path, backend: str) -> None:
    async with running_gateway(tmp_path, backend) as gw:
        db = gw.relay.db
        assert db is not None
        async with db.transaction() as conn:
            account = await account_store.create_account(conn, "shop", time.time())
        rows = parse_rows([("DE", "", "0.07", "EUR")])
        await import_price_list(db, ACCOUNT, "shop", rows, time.time())
        await gw.relay.prices.reload()
        await credit_account(db, "shop", to_micros("0.50"), time.time())
        async with db.transaction() as conn:  # may go 0.50 below zero: 1.00 to spend in all
            await pricing_store.set_credit_limit(conn, account.id, to_micros("0.50"))

        async def accept(n: int) -> bool:
            # two messages a request: 0.14 each, so 7 requests fit in 1.00
            outcome = await gw.relay.acceptor.accept(
                account,
                [SendRequest(to=DE, message=f"a{n}"), SendRequest(to=DE, message=f"b{n}")],
            )
            refused = [r for r in outcome.results if isinstance(r, SmsError)]
            assert not refused or {r.code for r in refused} == {ErrorCode.INSUFFICIENT_BALANCE}
            return bool(outcome.accepted)

        accepted = await asyncio.gather(*(accept(n) for n in range(40)))
        assert accepted.count(True) == 7
        async with db.read() as conn:
            stored = await conn.scalar(
                select(func.count())
                .select_from(messages)
                .where(messages.c.account_id == account.id)
            )
            debits = await conn.scalar(
                select(func.count()).select_from(ledger).where(ledger.c.kind == "debit")
            )
            balance = await pricing_store.get_balance(conn, account.id)
        assert stored == 14 and debits == 7
        assert balance is not None and balance.balance_micros == to_micros("-0.48")


def test_insufficient_balance_is_402_and_a_definite_smpp_refusal(backend: str) -> None:
    row = spec(ErrorCode.INSUFFICIENT_BALANCE)
    assert (row.http_status, row.retryable, row.smpp_status) == (402, False, 0x45)
