"""A receiver that refuses connections through a ten-minute outage, then accepts: while it is
down it sees one probe at a time, at the probes' pace; once a probe gets through, the whole
backlog goes out at once (no delivery waits out its own backoff), in order per message, each
callback once. Time is a manual clock: the outage and the backoffs take no real time."""

from __future__ import annotations

import random
import socket
import time

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import ManualClock
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from tests.engine.support import outbox, unit_of_work
from tests.support.servers import serve_app_on

MESSAGES = 40
OUTAGE = 600.0
STEP = 2.5  # half the probes' pace (5 s): a round with two probes would show


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """Keeps every callback it gets: (delivery id, message id, status)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, str]] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = orjson.loads(await request.body())
            delivery = request.headers["X-Smsrelay-Delivery"]
            self.got.append((delivery, body["message_id"], body["status"]))
            return Response("ok")

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def _attempts(database: Database) -> int:
    total = 0
    async with database.read() as conn:
        for n in range(MESSAGES):
            for delivery in await webhook_store.list_webhook_deliveries(conn, f"msg_{n}"):
                total += delivery.attempts
    return total


async def test_backlog_goes_out_when_the_host_returns(database: Database) -> None:
    clock = ManualClock(time.time())
    port = _free_port()  # nothing listens yet: connections are refused
    url = f"http://127.0.0.1:{port}/hook"
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
        await webhook_store.enqueue_webhooks(
            conn,
            [
                (
                    account.id,
                    f"msg_{n}",
                    url,
                    orjson.dumps({"message_id": f"msg_{n}", "status": s}).decode(),
                )
                for n in range(MESSAGES)
                for s in ("sent", "delivered")
            ],
            clock.now(),
        )
    receiver = Receiver()
    async with unit_of_work(database, clock) as uow:
        webhooks = outbox(
            uow, database, clock, timeout=2, policy=WebhookRetryPolicy(), rng=random.Random(5)
        )
        await webhooks.start()
        try:
            # the first callback of every message is tried and refused; the host is down
            assert await webhooks.deliver_due() == MESSAGES
            per_round = [await webhooks.deliver_due()]
            end = clock.now() + OUTAGE
            while clock.now() < end:
                clock.advance(STEP)
                per_round.append(await webhooks.deliver_due())
            assert max(per_round) == 1  # one probe at a time, never the backlog
            probes = sum(per_round)
            assert probes >= OUTAGE / 5 / 2  # and probes kept coming
            assert await _attempts(database) == MESSAGES + probes

            async with serve_app_on(receiver.app(), port):
                clock.advance(5.0)  # the next probe is due: it gets through
                returned = clock.now()
                for _ in range(20):  # the rest without time passing: nothing waits a backoff
                    if not await webhooks.deliver_due():
                        break
                assert clock.now() == returned
        finally:
            await webhooks.stop()

    assert len(receiver.got) == 2 * MESSAGES
    assert len({delivery for delivery, _, _ in receiver.got}) == 2 * MESSAGES  # none twice
    for n in range(MESSAGES):
        statuses = [s for _, m, s in receiver.got if m == f"msg_{n}"]
        assert statuses == ["sent", "delivered"]
    async with database.read() as conn:
        for n in range(MESSAGES):
            deliveries = await webhook_store.list_webhook_deliveries(conn, f"msg_{n}")
            assert [d.state for d in deliveries] == ["delivered", "delivered"]
    assert webhooks.stats["released"] > 0
