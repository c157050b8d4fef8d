"""Claims made inside the transactions that create the work: the accept's group commit claims
the messages it stored, a status change claims the callbacks it queued. The background claim
loops are left asleep (a poll of an hour) to show that nothing else picked the work up; a
rollback takes such a claim back with the rest of its transaction.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest, prepare
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.throttle import AccountLimits
from smsrelay.engine.webhooks import WebhookSender
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.db import Database
from tests.support.connectors import ScriptedConnector
from tests.support.servers import serve_app, wait_for

ASLEEP = 3600.0  # the claim loops' idle poll: they do not claim again during a test


@asynccontextmanager
async def dispatching(
    database: Database, carrier: ScriptedConnector
) -> AsyncIterator[tuple[Acceptor, Dispatcher, str]]:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now())
    dispatcher = Dispatcher(
        database,
        {carrier.name: carrier},
        [Route("default", (carrier.name,))],
        RetryPolicy(max_attempts=3, backoff=Backoff(base=1.0, cap=5.0)),
        clock,
        settings=DispatchSettings(idle_poll=ASLEEP, housekeeping_interval=ASLEEP),
        rng=random.Random(7),
    )
    committer = GroupCommitter(database, clock.now, claim_along=dispatcher.claim_along)
    acceptor = Acceptor(committer, AcceptPolicy(), clock, rng=random.Random(1))
    await committer.start()
    await carrier.start(_NoReceipts())
    await dispatcher.start()
    await asyncio.sleep(0.05)  # the claim loop's first, empty claim; then it sleeps
    try:
        yield acceptor, dispatcher, account.id
    finally:
        await dispatcher.stop()
        await committer.stop()


class _NoReceipts:
    async def report(self, report: object) -> None: ...

    async def mo(self, message: object) -> None: ...


async def _status(database: Database, message_id: str) -> str:
    async with database.read() as conn:
        message = await message_store.get_message(conn, message_id)
    assert message is not None
    return str(message.status)


async def test_the_accept_commit_claims_the_messages_it_stores(database: Database) -> None:
    carrier = ScriptedConnector("carrier")
    async with dispatching(database, carrier) as (acceptor, _, account_id):
        outcome = await acceptor.accept(
            AccountLimits(account_id),
            [SendRequest(to="+14155552671", message=f"hello {i}") for i in range(3)],
        )
        ids = {p.message.id for p in outcome.accepted}
        assert len(ids) == 3

        async def all_sent() -> bool:
            return {m.message_id for m in carrier.submitted} == ids

        await wait_for(all_sent, timeout=5)
        for message_id in ids:
            await wait_for(lambda m=message_id: _is(database, m, "sent"), timeout=5)


async def _is(database: Database, message_id: str, status: str) -> bool:
    return await _status(database, message_id) == status


async def test_a_rolled_back_claim_sends_nothing_and_frees_its_room(database: Database) -> None:
    carrier = ScriptedConnector("carrier")
    async with dispatching(database, carrier) as (acceptor, dispatcher, account_id):
        message = prepare(
            SendRequest(to="+14155552671", message="hi"),
            account_id=account_id,
            policy=acceptor.policy,
            now=1_800_000_000.0,
            rng=random.Random(2),
        )
        with pytest.raises(RuntimeError):
            async with dispatcher.claim_along() as claim, database.transaction() as conn:
                await message_store.insert_messages(
                    conn,
                    [message.message],  # type: ignore[union-attr]
                    time.time(),
                )
                await claim(conn, time.time())
                raise RuntimeError("the transaction fails after its claim")
        assert dispatcher._reserved == 0
        await asyncio.sleep(0.1)
        assert carrier.submitted == []
        async with database.read() as conn:  # rolled back with the insert
            assert await message_store.get_message(conn, message.message.id) is None  # type: ignore[union-attr]


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response("ok")

        return Starlette(routes=[HttpRoute("/hook", hook, methods=["POST"])])


@asynccontextmanager
async def sending(database: Database) -> AsyncIterator[tuple[WebhookSender, str, str]]:
    clock = ManualClock(time.time())
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now())
    receiver = Receiver()
    async with serve_app(receiver.app(), lifespan="off") as base:
        sender = WebhookSender(database, clock, timeout=5, idle_poll=ASLEEP)
        await sender.start()
        await sender.run()
        await asyncio.sleep(0.05)  # the claim loop's first, empty claim; then it sleeps
        try:
            sender.bodies = receiver.bodies  # type: ignore[attr-defined]
            yield sender, account.id, f"{base}/hook"
        finally:
            await sender.stop()


async def test_a_status_change_claims_and_posts_the_callbacks_it_queues(database: Database) -> None:
    async with sending(database) as (sender, account_id, url):
        async with sender.transaction() as tx:
            await webhook_store.enqueue_webhooks(
                tx.conn,
                [
                    (account_id, "msg_1", url, '{"message_id":"msg_1","status":"sent"}'),
                    (account_id, "msg_1", url, '{"message_id":"msg_1","status":"delivered"}'),
                ],
                time.time(),
            )
            await tx.claim_due(time.time())
            assert [d.message_id for d in tx.claimed] == ["msg_1"]  # the first, in order
        bodies: list[bytes] = sender.bodies  # type: ignore[attr-defined]
        # the second is released and claimed by the transaction recording the first
        await wait_for(lambda: len(bodies) == 2, timeout=5)
        assert [b'"sent"' in bodies[0], b'"delivered"' in bodies[1]] == [True, True]


async def test_a_rolled_back_callback_claim_posts_nothing(database: Database) -> None:
    async with sending(database) as (sender, account_id, url):
        with pytest.raises(RuntimeError):
            async with sender.transaction() as tx:
                await webhook_store.enqueue_webhooks(
                    tx.conn,
                    [(account_id, "msg_1", url, '{"message_id":"msg_1","status":"sent"}')],
                    time.time(),
                )
                await tx.claim_due(time.time())
                assert len(tx.claimed) == 1
                raise RuntimeError("the transaction fails after its claim")
        assert sender._reserved == 0 and sender._inflight == 0
        await asyncio.sleep(0.1)
        assert sender.bodies == []  # type: ignore[attr-defined]
        async with database.read() as conn:
            assert await webhook_store.list_webhook_deliveries(conn, "msg_1") == []
