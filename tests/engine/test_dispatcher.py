"""The delivery engine over the real store: retries, failover, receipts, leases, validity."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import DeliveryReport, ReceiptStatus
from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.dlr import DlrProcessor, combined_status
from smsrelay.engine.throttle import AccountLimits
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store import queue as queue_store
from smsrelay.store import receipts as receipt_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from tests.support.connectors import ScriptedConnector


async def _nothing(conn: AsyncConnection, now: float) -> None:
    return None


@dataclass
class Engine:
    db: Database
    clock: ManualClock
    acceptor: Acceptor
    dispatcher: Dispatcher
    dlr: DlrProcessor
    account_id: str
    uow: UnitOfWork

    async def claim_now(self) -> None:
        """One claiming turn, its claims handed to the lanes, the submits let run."""
        await self.uow.claim(self.dispatcher.claims)
        await self.clock.settle()

    async def send(self, **fields: object) -> str:
        request = SendRequest(**{"to": "+14155552671", "message": "hello", **fields})  # type: ignore[arg-type]
        outcome = await self.acceptor.accept(AccountLimits(self.account_id), [request])
        prepared = outcome.results[0]
        assert not isinstance(prepared, Exception), prepared
        return prepared.message.id

    async def status(self, message_id: str) -> str:
        async with self.db.read() as conn:
            message = await message_store.get_message(conn, message_id)
        assert message is not None
        return str(message.status)

    async def quiesce(self) -> None:
        """Let the engine run until nothing it claimed is left unrecorded: each round lets
        the tasks run and waits for one more turn (no wall-clock wait)."""
        for _ in range(100):
            await self.clock.settle()
            await self.uow.run(_nothing)
            claims = self.dispatcher.claims
            if claims.inflight == 0 and claims.finishing == 0:
                return
        raise AssertionError(f"the engine did not settle: {self.dispatcher.stats}")

    async def wait_status(self, message_id: str, status: str) -> None:
        await self.quiesce()
        assert await self.status(message_id) == status


@asynccontextmanager
async def engine(
    database: Database,
    connectors: list[ScriptedConnector],
    *,
    max_attempts: int = 4,
    start_dispatcher: bool = True,
) -> AsyncIterator[Engine]:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    uow = UnitOfWork(database, clock)
    dlr = DlrProcessor(uow, clock)
    route = Route("default", tuple(c.name for c in connectors))
    dispatcher = Dispatcher(
        uow,
        {c.name: c for c in connectors},
        [route],
        RetryPolicy(max_attempts=max_attempts, backoff=Backoff(base=1.0, cap=5.0)),
        clock,
        settings=DispatchSettings(
            lease_seconds=30, dlr_timeout=600, idle_poll=0.05, housekeeping_interval=3600
        ),
        rng=random.Random(7),
    )
    committer = GroupCommitter(uow, dispatch=dispatcher.claims)
    acceptor = Acceptor(committer, AcceptPolicy(), clock, rng=random.Random(1))
    await uow.start()
    await dlr.start()
    for c in connectors:
        await c.start(dlr)
    if start_dispatcher:
        await dispatcher.start()
    try:
        yield Engine(database, clock, acceptor, dispatcher, dlr, account.id, uow)
    finally:
        if start_dispatcher:
            await dispatcher.stop()
        await dlr.stop()
        await uow.stop()


async def test_delivered_after_receipt(database: Database) -> None:
    carrier = ScriptedConnector("a")
    async with engine(database, [carrier]) as e:
        message_id = await e.send()
        await e.wait_status(message_id, "sent")
        (carrier_id,) = carrier.carrier_ids[message_id]
        await carrier.receipt(carrier_id, ReceiptStatus.DELIVERED)
        await e.wait_status(message_id, "delivered")


async def test_transient_failure_fails_over_to_the_next_connector(database: Database) -> None:
    down = ScriptedConnector("down", fail_with=ErrorCode.CARRIER_UNAVAILABLE)
    up = ScriptedConnector("up")
    async with engine(database, [down, up]) as e:
        message_id = await e.send()
        await e.quiesce()
        assert e.dispatcher.stats["retried"] == 1  # the retry time is recorded
        assert len(down.submitted) == 1 and up.submitted == []
        e.clock.advance(60)
        e.dispatcher.wake()
        await e.wait_status(message_id, "sent")
        assert [m.message_id for m in up.submitted] == [message_id]
        async with e.db.read() as conn:
            message = await message_store.get_message(conn, message_id)
            events = await message_store.get_events(conn, message_id)
        assert message is not None and message.attempts == 2 and message.connector == "up"
        assert [str(ev.status) for ev in events] == [
            "queued",
            "sending",
            "queued",
            "sending",
            "sent",
        ]


async def test_permanent_error_is_not_retried(database: Database) -> None:
    carrier = ScriptedConnector("a", fail_with=ErrorCode.INVALID_DESTINATION)
    async with engine(database, [carrier]) as e:
        message_id = await e.send()
        await e.wait_status(message_id, "failed")
        e.clock.advance(600)
        await e.claim_now()  # nothing is due any more
        assert len(carrier.submitted) == 1
        async with e.db.read() as conn:
            message = await message_store.get_message(conn, message_id)
        assert message is not None and message.error_code == "invalid_destination"


async def test_retries_exhausted(database: Database) -> None:
    carrier = ScriptedConnector("a", fail_with=ErrorCode.CARRIER_SYSTEM_ERROR)
    async with engine(database, [carrier], max_attempts=3) as e:
        message_id = await e.send()
        for attempt in range(1, 3):
            await e.quiesce()
            assert e.dispatcher.stats["retried"] == attempt
            e.clock.advance(60)
            e.dispatcher.wake()
        await e.wait_status(message_id, "failed")
        async with e.db.read() as conn:
            message = await message_store.get_message(conn, message_id)
        assert message is not None and message.error_code == "retries_exhausted"
        assert len(carrier.submitted) == 3


async def test_receipt_that_overtakes_the_submit_answer_is_matched(database: Database) -> None:
    carrier = ScriptedConnector("a")

    async def receipt_first(message, ids):  # type: ignore[no-untyped-def]
        await carrier.receipt(ids[0], ReceiptStatus.DELIVERED)
        await e.dlr.drain()

    carrier.before_answer = receipt_first
    async with engine(database, [carrier]) as e:
        message_id = await e.send()
        await e.wait_status(message_id, "delivered")


async def test_multipart_is_delivered_only_when_every_part_is(database: Database) -> None:
    carrier = ScriptedConnector("a")
    async with engine(database, [carrier]) as e:
        message_id = await e.send(message="x" * 400)
        await e.wait_status(message_id, "sent")
        ids = carrier.carrier_ids[message_id]
        assert len(ids) == 3
        for carrier_id in ids[:2]:
            await carrier.receipt(carrier_id, ReceiptStatus.DELIVERED)
        await e.dlr.drain()
        assert await e.status(message_id) == "sent"
        await carrier.receipt(ids[2], ReceiptStatus.DELIVERED)
        await e.wait_status(message_id, "delivered")

        other = await e.send(message="y" * 400)
        await e.wait_status(other, "sent")
        ids = carrier.carrier_ids[other]
        await carrier.receipt(ids[0], ReceiptStatus.DELIVERED)
        await carrier.receipt(ids[1], ReceiptStatus.UNDELIVERED)
        await carrier.receipt(ids[2], ReceiptStatus.DELIVERED)
        await e.wait_status(other, "undelivered")


def test_combined_status() -> None:
    assert combined_status(["delivered", "delivered"]) == "delivered"
    assert combined_status(["delivered", "accepted"]) is None
    assert combined_status(["expired", "delivered"]) == "expired"
    assert combined_status([]) is None


async def test_validity_passed_before_sending_expires(database: Database) -> None:
    carrier = ScriptedConnector("a")
    async with engine(database, [carrier], start_dispatcher=False) as e:
        message_id = await e.send(validity=60)
        e.clock.advance(120)
        await e.dispatcher.housekeeping()
        assert await e.status(message_id) == "expired"
        assert carrier.submitted == []


async def test_crashed_workers_lease_returns_to_the_queue(database: Database) -> None:
    carrier = ScriptedConnector("a")
    async with engine(database, [carrier], start_dispatcher=False) as e:
        message_id = await e.send()
        async with e.db.transaction() as conn:  # a worker claims, then dies
            claimed = await queue_store.claim(
                conn, worker="dead", now=e.clock.now(), lease_seconds=30, limit=10
            )
        assert [m.id for m in claimed] == [message_id]
        await e.dispatcher.housekeeping()
        assert await e.status(message_id) == "sending"
        e.clock.advance(31)
        await e.dispatcher.housekeeping()
        assert await e.status(message_id) == "queued"
        await e.dispatcher.start()
        try:
            await e.wait_status(message_id, "sent")
        finally:
            await e.dispatcher.stop()


async def test_no_receipt_within_dlr_timeout_becomes_unknown(database: Database) -> None:
    carrier = ScriptedConnector("a")
    async with engine(database, [carrier]) as e:
        message_id = await e.send()
        await e.wait_status(message_id, "sent")
        e.clock.advance(601)
        await e.dispatcher.housekeeping()
        assert await e.status(message_id) == "unknown"
        # a late receipt still settles it
        await carrier.receipt(carrier.carrier_ids[message_id][0], ReceiptStatus.DELIVERED)
        await e.wait_status(message_id, "delivered")


async def test_receipt_parked_during_a_concurrent_submit_is_settled_by_the_sweep(
    database: Database,
) -> None:
    carrier = ScriptedConnector("a")
    async with engine(database, [carrier], start_dispatcher=False) as e:
        message_id = await e.send()
        async with e.db.transaction() as conn:
            await queue_store.claim(conn, worker="w", now=e.clock.now(), lease_seconds=30, limit=1)
            # the receipt lands while the submit result is not yet visible: parked
            await receipt_store.keep_unmatched(
                conn,
                DeliveryReport("a", "c-1", ReceiptStatus.DELIVERED, e.clock.now()),
                e.clock.now(),
            )
            # the submit result is stored by a transaction that did not see it
            await queue_store.record_submitted(
                conn,
                message_id,
                connector="a",
                carrier_ids=["c-1"],
                now=e.clock.now(),
                dlr_deadline=e.clock.now() + 600,
            )
        assert await e.status(message_id) == "sent"
        await e.dispatcher.housekeeping()
        assert await e.status(message_id) == "delivered"
