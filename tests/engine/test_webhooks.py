"""The webhook outbox against a real receiver: signed, retried with backoff, in order."""

from __future__ import annotations

import random
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsrelay.domain import signing
from smsrelay.domain.retry import Backoff, WebhookRetryPolicy
from smsrelay.engine.clock import ManualClock
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from tests.engine.support import outbox, unit_of_work
from tests.support.servers import serve_app


class FlakyReceiver:
    """Answers ``failures`` times with 503 (or hangs up), then 200; keeps what it got."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[bytes, str]] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            self.calls.append((body, request.headers.get(signing.SIGNATURE_HEADER, "")))
            if len(self.calls) <= self.failures:
                return Response("busy", status_code=503)
            return Response("ok")

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_failed_callbacks_are_retried_in_order_and_recorded(database: Database) -> None:
    clock = ManualClock(time.time())
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    receiver = FlakyReceiver(failures=2)
    async with serve_app(receiver.app(), lifespan="off") as base:
        url = f"{base}/hook"
        async with database.transaction() as conn:
            await webhook_store.enqueue_webhooks(
                conn,
                [
                    (account.id, "msg_1", url, '{"message_id":"msg_1","status":"sent"}'),
                    (account.id, "msg_1", url, '{"message_id":"msg_1","status":"delivered"}'),
                ],
                clock.now(),
            )
        async with unit_of_work(database, clock) as uow:
            sender = outbox(
                uow,
                database,
                clock,
                rng=random.Random(3),
                timeout=5,
                policy=WebhookRetryPolicy(backoff=Backoff(5, 2, 60)),
            )
            await sender.start()
            try:
                assert await sender.deliver_due() == 1  # only the first of the message's events
                assert await sender.deliver_due() == 0  # backing off
                clock.advance(30)
                assert await sender.deliver_due() == 1
                clock.advance(60)
                assert await sender.deliver_due() == 1  # third try of "sent" succeeds
                assert await sender.deliver_due() == 1  # now "delivered"
            finally:
                await sender.stop()
    statuses = [body for body, _ in receiver.calls]
    assert [b.count(b'"sent"') for b in statuses] == [1, 1, 1, 0]
    assert b'"delivered"' in statuses[-1]
    for body, header in receiver.calls:
        assert signing.verify(account.webhook_secret, header, body, now=time.time())
    async with database.read() as conn:
        deliveries = await webhook_store.list_webhook_deliveries(conn, "msg_1")
        attempts = await webhook_store.list_webhook_attempts(conn, deliveries[0].id)
    assert [d.state for d in deliveries] == ["delivered", "delivered"]
    assert [a.status_code for a in attempts] == [503, 503, 200]


async def test_unreachable_url_is_an_attempt_not_a_crash(database: Database) -> None:
    clock = ManualClock(time.time())
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
        await webhook_store.enqueue_webhooks(
            conn,
            [
                (account.id, "msg_2", "http://127.0.0.1:9/nothing-listens", "{}"),
                (account.id, "msg_3", "http://[bad", "{}"),
            ],
            clock.now(),
        )
    async with unit_of_work(database, clock) as uow:
        sender = outbox(uow, database, clock, timeout=2)
        await sender.start()
        try:
            assert await sender.deliver_due() == 2
        finally:
            await sender.stop()
    async with database.read() as conn:
        for message_id in ("msg_2", "msg_3"):
            (delivery,) = await webhook_store.list_webhook_deliveries(conn, message_id)
            assert delivery.state == "pending" and delivery.attempts == 1
            assert delivery.last_error


async def test_gives_up_only_after_the_retry_window(database: Database) -> None:
    start = time.time()
    clock = ManualClock(start)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
        await webhook_store.enqueue_webhooks(
            conn, [(account.id, "msg_4", "http://127.0.0.1:9/down", "{}")], clock.now()
        )
    async with unit_of_work(database, clock) as uow:
        sender = outbox(uow, database, clock, timeout=1, rng=random.Random(1))
        await sender.start()
        try:
            while True:
                await sender.deliver_due()
                async with database.read() as conn:
                    (delivery,) = await webhook_store.list_webhook_deliveries(conn, "msg_4")
                if delivery.state != "pending":
                    break
                clock.advance(max(1.0, delivery.next_attempt_at - clock.now()))
        finally:
            await sender.stop()
    assert delivery.state == "dead"
    assert clock.now() - start >= 24 * 3600


async def test_a_tenants_callback_reaches_no_private_address_unless_allowed(
    database: Database,
) -> None:
    """Checked again when the request is made: a URL stored before the rule, or a name that
    resolves to a private address later, is refused at delivery too."""
    clock = ManualClock(time.time())
    receiver = FlakyReceiver(failures=0)
    async with serve_app(receiver.app(), lifespan="off") as base:
        url = f"{base}/hook"  # 127.0.0.1: loopback
        async with database.transaction() as conn:
            tenant = await account_store.create_account(conn, "tenant", clock.now())
            await webhook_store.enqueue_webhooks(
                conn, [(tenant.id, "msg_t", url, '{"status":"sent"}')], clock.now()
            )
        async with unit_of_work(database, clock) as uow:
            sender = outbox(uow, database, clock, timeout=2)
            await sender.start()
            try:
                assert await sender.deliver_due() == 1
                assert receiver.calls == []  # refused before connecting
                async with database.read() as conn:
                    (delivery,) = await webhook_store.list_webhook_deliveries(conn, "msg_t")
                assert delivery.state == "pending" and "non-public address" in (
                    delivery.last_error or ""
                )
                # the operator allows it: seen within a minute, and the retry goes through
                async with database.transaction() as conn:
                    await account_store.update_account(conn, "tenant", allow_private_callbacks=True)
                clock.advance(3600)
                assert await sender.deliver_due() == 1
            finally:
                await sender.stop()
    assert len(receiver.calls) == 1
