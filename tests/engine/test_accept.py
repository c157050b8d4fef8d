"""The one accept path: rate, idempotency, per-item answers and the durable commit."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.accept import Acceptor, AcceptOutcome, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.idempotency import IdempotencyKey
from smsrelay.engine.throttle import AccountLimits, AccountRate
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store.db import Database

HELLO = SendRequest(to="+14155552671", message="hello")


@asynccontextmanager
async def accepting(
    db: Database, *, rate: float = 0.0, burst: int = 1000
) -> AsyncIterator[tuple[Acceptor, AccountLimits, ManualClock]]:
    clock = ManualClock(1_800_000_000.0)
    async with db.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now())
    uow = UnitOfWork(db, clock)
    await uow.start()
    acceptor = Acceptor(
        GroupCommitter(uow),
        AcceptPolicy(),
        clock,
        db=db,
        rng=random.Random(7),
        rate=AccountRate(rate=rate, burst=burst),
    )
    try:
        yield acceptor, AccountLimits(account.id), clock
    finally:
        await uow.stop()


async def _stored(db: Database, account_id: str) -> int:
    async with db.read() as conn:
        return len(await message_store.list_messages(conn, account_id, limit=1000))


async def test_answers_per_item_in_order_and_stores_only_the_good(database: Database) -> None:
    async with accepting(database) as (acceptor, account, _):
        refused_at_the_edge = SmsError(ErrorCode.VALIDATION_ERROR, field="to")
        outcome = await acceptor.accept(
            account,
            [HELLO, SendRequest(to="not a number", message="x"), refused_at_the_edge, HELLO],
        )
        kinds = [type(r).__name__ for r in outcome.results]
        assert kinds == ["Prepared", "SmsError", "SmsError", "Prepared"]
        assert outcome.results[2] is refused_at_the_edge
        assert await _stored(database, account.id) == 2


async def test_nothing_accepted_stores_nothing(database: Database) -> None:
    async with accepting(database) as (acceptor, account, _):
        outcome = await acceptor.accept(account, [SendRequest(to="12", message="x")])
        assert outcome.accepted == [] and outcome.answer is None
        assert await _stored(database, account.id) == 0


async def test_the_rate_refuses_the_whole_request_and_refills_with_time(
    database: Database,
) -> None:
    async with accepting(database, rate=1.0, burst=2) as (acceptor, account, clock):
        await acceptor.accept(account, [HELLO, HELLO])
        with pytest.raises(SmsError) as limited:
            await acceptor.accept(account, [HELLO])
        assert limited.value.code is ErrorCode.RATE_LIMITED
        assert limited.value.retry_after == pytest.approx(1.0)
        with pytest.raises(SmsError) as too_big:
            await acceptor.accept(account, [HELLO, HELLO, HELLO])
        assert too_big.value.code is ErrorCode.BATCH_TOO_LARGE
        clock.advance(1.0)
        assert len((await acceptor.accept(account, [HELLO])).accepted) == 1
        # items refused at the edge are not charged; the long-message form is not charged
        clock.advance(0.0)
        await acceptor.accept(account, [SmsError(ErrorCode.VALIDATION_ERROR)] * 5)
        await acceptor.accept(account, [HELLO], charge_rate=False)
        assert await _stored(database, account.id) == 4


def _render(results: object) -> tuple[int, bytes]:
    return 202, b'{"first": true}'


async def test_a_key_sends_once_and_replays_the_first_answer(database: Database) -> None:
    async with accepting(database) as (acceptor, account, _):
        key = IdempotencyKey.checked("order-42", "hash-a")
        first = await acceptor.accept(account, [HELLO], idempotency=key, render=_render)
        assert (first.replayed, first.answer) == (False, (202, b'{"first": true}'))
        again: AcceptOutcome = await acceptor.accept(
            account, [HELLO], idempotency=key, render=lambda r: (500, b"never")
        )
        assert (again.replayed, again.answer, again.results) == (True, first.answer, [])
        assert await _stored(database, account.id) == 1
        with pytest.raises(SmsError) as conflict:
            await acceptor.accept(
                account, [HELLO], idempotency=IdempotencyKey("order-42", "hash-b"), render=_render
            )
        assert conflict.value.code is ErrorCode.IDEMPOTENCY_CONFLICT


async def test_a_refused_request_does_not_use_up_its_key(database: Database) -> None:
    async with accepting(database) as (acceptor, account, _):
        key = IdempotencyKey.checked("k", "h")
        bad = await acceptor.accept(
            account, [SendRequest(to="12", message="x")], idempotency=key, render=_render
        )
        assert not bad.replayed and bad.answer is None
        good = await acceptor.accept(account, [HELLO], idempotency=key, render=_render)
        assert not good.replayed and len(good.accepted) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_unusable_keys_are_refused(key: str) -> None:
    with pytest.raises(SmsError) as refused:
        IdempotencyKey.checked(key, "h")
    assert refused.value.field == "Idempotency-Key"
