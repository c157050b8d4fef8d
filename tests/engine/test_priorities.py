"""Priority lanes and circuits through the real dispatcher and store, on a manual clock
that the lanes' rate and the retries' backoff run on."""

from __future__ import annotations

import random

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.ids import new_id
from smsrelay.domain.messages import Encoding, Message, MessageKind, queue_priority
from smsrelay.domain.retry import Backoff, RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store.accounts import OPERATOR
from smsrelay.store.db import Database
from tests.engine.support import run_until
from tests.support.connectors import ScriptedConnector

BACKLOG = 100_000


def _marketing(account_id: str, now: float, rng: random.Random) -> Message:
    return Message(
        id=new_id("msg", now, rng.randbytes(10)),
        account_id=account_id,
        to="+14155552671",
        country="US",
        sender=None,
        body="Big sale",
        encoding=Encoding.GSM7,
        segments=1,
        kind=MessageKind.MARKETING,
        priority=queue_priority(MessageKind.MARKETING),
        status=MessageStatus.QUEUED,
        created_at=now,
        updated_at=now,
        not_before=now,
        expires_at=now + 86400,
    )


async def test_new_otp_jumps_a_queue_of_100k_marketing(sqlite_database: Database) -> None:
    db, clock, rng = sqlite_database, ManualClock(1_800_000_000.0), random.Random(5)
    async with db.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    for _ in range(BACKLOG // 10_000):
        async with db.transaction() as conn:
            await message_store.insert_messages(
                conn, [_marketing(account.id, clock.now(), rng) for _ in range(10_000)], clock.now()
            )
    carrier = ScriptedConnector("a")
    rate = 200.0
    uow = UnitOfWork(db, clock)
    dispatcher = Dispatcher(
        uow,
        {"a": carrier},
        [Route("default", ("a",))],
        RetryPolicy(),
        clock,
        settings=DispatchSettings(idle_poll=0.05),
        rates={"a": rate},
        rng=rng,
    )
    acceptor = Acceptor(GroupCommitter(uow, dispatch=dispatcher.claims), AcceptPolicy(), clock)
    await uow.start()
    await carrier.start(dispatcher)  # type: ignore[arg-type]
    await dispatcher.start()
    try:
        await run_until(clock, uow, lambda: len(carrier.submitted) >= 300)
        outcome = await acceptor.accept(
            account,
            [SendRequest(to="+4915112345678", message="Your code is 1234", kind=MessageKind.OTP)],
        )
        sent_before = len(carrier.submitted)
        otp_id = outcome.accepted[0].message.id
        await run_until(clock, uow, lambda: any(m.message_id == otp_id for m in carrier.submitted))
        position = next(i for i, m in enumerate(carrier.submitted) if m.message_id == otp_id)
        # at the connector's rate, one second is `rate` messages: the OTP went out sooner
        assert position - sent_before < rate
    finally:
        await dispatcher.stop()
        await uow.stop()


async def test_open_circuit_sends_first_attempts_to_the_healthy_connector(
    sqlite_database: Database,
) -> None:
    db, clock = sqlite_database, ManualClock(1_800_000_000.0)
    async with db.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now(), role=OPERATOR)
    down = ScriptedConnector("down", fail_with=ErrorCode.CARRIER_UNAVAILABLE)
    up = ScriptedConnector("up")
    uow = UnitOfWork(db, clock)
    dispatcher = Dispatcher(
        uow,
        {"down": down, "up": up},
        [Route("default", ("down", "up"))],
        RetryPolicy(max_attempts=4, backoff=Backoff(base=0.01, cap=0.02)),
        clock,
        settings=DispatchSettings(idle_poll=0.02),
        rng=random.Random(1),
    )
    acceptor = Acceptor(GroupCommitter(uow, dispatch=dispatcher.claims), AcceptPolicy(), clock)
    await uow.start()
    await dispatcher.start()
    try:
        ids = []
        for n in range(40):
            outcome = await acceptor.accept(
                account, [SendRequest(to="+14155552671", message=f"m{n}")]
            )
            ids.append(outcome.accepted[0].message.id)
            await run_until(
                clock,
                uow,
                lambda n=n: len(up.submitted) + len(down.submitted) > n,  # type: ignore[misc]
                step=0.01,
            )

        async def all_sent() -> bool:
            async with db.read() as conn:
                found = [await message_store.get_message(conn, i) for i in ids]
            return all(m is not None and m.status == "sent" for m in found)

        await run_until(clock, uow, all_sent, step=0.01)
        assert len(down.submitted) < 10  # the circuit opened after 5 failures
        assert dispatcher.circuits["down"].state != "closed"
    finally:
        await dispatcher.stop()
        await uow.stop()
