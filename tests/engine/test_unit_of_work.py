"""The engine's turns: writers share one transaction, claimants claim inside it, a rollback
takes the claims back, and a bad write fails only itself. The claim loops are left asleep on
a manual clock, so whatever is claimed here was claimed by the turn that made it due.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest, prepare
from smsrelay.engine.batcher import GroupCommitter, IdempotencyWrite
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.outbox import WebhookOutbox
from smsrelay.engine.throttle import AccountLimits
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from smsrelay.store.idempotency import IdempotencyTaken
from tests.engine.support import outbox, unit_of_work
from tests.support.connectors import ScriptedConnector
from tests.support.servers import serve_app, wait_for

ASLEEP = 3600.0  # the claim loops' idle poll: they do not claim again during a test


async def _nothing(conn: AsyncConnection, now: float) -> None:
    return None


class _NoReceipts:
    async def report(self, report: object) -> None: ...

    async def mo(self, message: object) -> None: ...


class RefusingOnce(Claimant[int]):
    """A claimant whose first claim fails: the turn it is in rolls back."""

    name = "refusing"

    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    def free_room(self) -> int:
        return 1

    async def claim_in(self, conn: AsyncConnection, now: float, limit: int) -> Sequence[int]:
        if not self.refused:
            self.refused = True
            raise RuntimeError("the claim fails")
        return []

    async def hand_over(self, claimed: Sequence[int]) -> None: ...


@asynccontextmanager
async def dispatching(
    database: Database, carrier: ScriptedConnector
) -> AsyncIterator[tuple[UnitOfWork, Acceptor, Dispatcher, str, ManualClock]]:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    async with unit_of_work(database, clock) as uow:
        dispatcher = Dispatcher(
            uow,
            {carrier.name: carrier},
            [Route("default", (carrier.name,))],
            RetryPolicy(max_attempts=3, backoff=Backoff(base=1.0, cap=5.0)),
            clock,
            settings=DispatchSettings(idle_poll=ASLEEP, housekeeping_interval=ASLEEP),
            rng=random.Random(7),
        )
        acceptor = Acceptor(
            GroupCommitter(uow, dispatch=dispatcher.claims),
            AcceptPolicy(),
            clock,
            rng=random.Random(1),
        )
        await carrier.start(_NoReceipts())
        await dispatcher.start()
        await clock.settle()  # the claim loop asks for its first, empty claim; then it sleeps
        await uow.run(_nothing)  # a turn after that claim's
        try:
            yield uow, acceptor, dispatcher, account.id, clock
        finally:
            await dispatcher.stop()


async def _status(database: Database, message_id: str) -> str:
    async with database.read() as conn:
        message = await message_store.get_message(conn, message_id)
    assert message is not None
    return str(message.status)


async def test_the_accept_commit_claims_the_messages_it_stores(database: Database) -> None:
    carrier = ScriptedConnector("carrier")
    async with dispatching(database, carrier) as (uow, acceptor, _, account_id, clock):
        turns = uow.turns
        outcome = await acceptor.accept(
            AccountLimits(account_id),
            [SendRequest(to="+14155552671", message=f"hello {i}") for i in range(3)],
        )
        assert uow.turns == turns + 1  # stored and claimed in one transaction
        await clock.settle()
        ids = {p.message.id for p in outcome.accepted}
        assert len(ids) == 3 and {m.message_id for m in carrier.submitted} == ids


async def test_writes_that_arrive_together_share_one_turn(database: Database) -> None:
    clock = ManualClock(1_800_000_000.0)
    async with unit_of_work(database, clock) as uow:
        async with database.transaction() as conn:
            account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
        url = "http://127.0.0.1:9/hook"

        def write(n: int):  # type: ignore[no-untyped-def]
            async def enqueue(conn: AsyncConnection, now: float) -> int:
                await webhook_store.enqueue_webhooks(conn, [(account.id, f"m{n}", url, "{}")], now)
                return n

            return enqueue

        turns = uow.turns
        futures = [uow.submit(write(n)) for n in range(5)]
        assert [await f for f in futures] == list(range(5))
        assert uow.turns == turns + 1


async def test_accepts_together_share_a_turn_and_a_taken_key_fails_alone(
    database: Database,
) -> None:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    async with unit_of_work(database, clock) as uow:
        committer = GroupCommitter(uow)
        rng = random.Random(1)

        def request(n: int, key: str) -> Coroutine[Any, Any, None]:
            prepared = prepare(
                SendRequest(to="+14155552671", message=f"m{n}"),
                account_id=account.id,
                policy=AcceptPolicy(),
                now=clock.now(),
                rng=rng,
            )
            ids.append(prepared.message.id)
            write = IdempotencyWrite(account.id, key, "h", 202, "{}")
            return committer.commit([prepared.message], write)

        ids: list[str] = []
        results = await asyncio.gather(
            request(0, "a"), request(1, "b"), request(2, "a"), return_exceptions=True
        )
        assert results[0] is None and results[1] is None
        assert isinstance(results[2], IdempotencyTaken)
        async with database.read() as conn:
            stored = [await message_store.get_message(conn, i) for i in ids]
        assert [m is not None for m in stored] == [True, True, False]


async def test_a_bad_write_fails_alone(database: Database) -> None:
    clock = ManualClock(1_800_000_000.0)
    async with unit_of_work(database, clock) as uow:
        async with database.transaction() as conn:
            account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)

        async def good(conn: AsyncConnection, now: float) -> None:
            await webhook_store.enqueue_webhooks(
                conn, [(account.id, "good", "http://x/", "{}")], now
            )

        async def bad(conn: AsyncConnection, now: float) -> None:
            await webhook_store.enqueue_webhooks(
                conn, [(account.id, "bad", "http://x/", "{}")], now
            )
            raise ValueError("this write is refused")

        first, second = uow.submit(good), uow.submit(bad)
        await first
        with pytest.raises(ValueError):
            await second
        async with database.read() as conn:
            assert len(await webhook_store.list_webhook_deliveries(conn, "good")) == 1
            assert await webhook_store.list_webhook_deliveries(conn, "bad") == []


async def test_a_rolled_back_claim_is_taken_back_and_sent_once(database: Database) -> None:
    carrier = ScriptedConnector("carrier")
    async with dispatching(database, carrier) as (uow, acceptor, dispatcher, account_id, clock):
        refusing = RefusingOnce()
        uow.join(refusing)
        refusing.note_due()
        # the turn stores the message, claims it, then fails: the claim is rolled back and the
        # accept is written again on its own
        outcome = await acceptor.accept(
            AccountLimits(account_id), [SendRequest(to="+14155552671", message="hi")]
        )
        (prepared,) = outcome.accepted
        assert refusing.refused and dispatcher.claims.reserved == 0 and refusing.reserved == 0
        # the rolled back claim woke the claim loop, which claims it once
        await clock.settle()  # the loop asks for a claiming turn
        await uow.run(_nothing)  # a turn after it
        await clock.settle()
        await uow.claim(dispatcher.claims)  # nothing is left to claim
        await clock.settle()
        assert [m.message_id for m in carrier.submitted] == [prepared.message.id]
        assert dispatcher.stats["claimed"] == 1
        uow.leave(refusing)


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response("ok")

        return Starlette(routes=[HttpRoute("/hook", hook, methods=["POST"])])


@asynccontextmanager
async def sending(
    database: Database,
) -> AsyncIterator[tuple[UnitOfWork, WebhookOutbox, str, str, Receiver]]:
    clock = ManualClock(time.time())
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    receiver = Receiver()
    async with (
        serve_app(receiver.app(), lifespan="off") as base,
        unit_of_work(database, clock) as uow,
    ):
        sender = outbox(uow, database, clock, timeout=5, idle_poll=ASLEEP)
        await sender.start()
        await sender.run()
        await clock.settle()  # the claim loop asks for its first, empty claim; then it sleeps
        await uow.run(_nothing)  # a turn after that claim's
        try:
            yield uow, sender, account.id, f"{base}/hook", receiver
        finally:
            await sender.stop()


async def test_a_status_change_claims_and_posts_the_callbacks_it_queues(database: Database) -> None:
    async with sending(database) as (uow, sender, account_id, url, receiver):

        async def change(conn: AsyncConnection, now: float) -> None:
            await webhook_store.enqueue_webhooks(
                conn,
                [
                    (account_id, "msg_1", url, '{"message_id":"msg_1","status":"sent"}'),
                    (account_id, "msg_1", url, '{"message_id":"msg_1","status":"delivered"}'),
                ],
                now,
            )
            sender.note_due()

        await uow.run(change)
        # the first is posted (one at a time, in order); the second is released and claimed
        # by the turn recording the first: a real receiver answers
        await wait_for(lambda: len(receiver.bodies) == 2, timeout=5)
        assert [b'"sent"' in receiver.bodies[0], b'"delivered"' in receiver.bodies[1]] == [
            True,
            True,
        ]


async def test_a_rolled_back_callback_claim_posts_nothing(database: Database) -> None:
    async with sending(database) as (uow, sender, account_id, url, receiver):

        async def change(conn: AsyncConnection, now: float) -> None:
            await webhook_store.enqueue_webhooks(
                conn, [(account_id, "msg_1", url, '{"message_id":"msg_1","status":"sent"}')], now
            )
            sender.note_due()
            raise RuntimeError("the transaction fails")

        with pytest.raises(RuntimeError):
            await uow.run(change)
        assert sender.reserved == 0 and sender.sender.free_room() == 64
        await uow.claim(sender)  # nothing is due
        await sender.sender.finish_posts()
        assert receiver.bodies == []
        async with uow.db.read() as conn:
            assert await webhook_store.list_webhook_deliveries(conn, "msg_1") == []
