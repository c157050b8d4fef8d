"""One cancel for REST and SMPP: a write of the unit of work, whose refusals change nothing
and fail nothing else of the turn."""

from __future__ import annotations

import asyncio
import json

import pytest

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.accept import Acceptor, AcceptPolicy, SendRequest
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.throttle import AccountLimits
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.db import Database
from tests.engine.support import unit_of_work

LATER = SendRequest(to="+14155552671", message="later", send_at=1_800_003_600.0)


async def test_cancel_queues_its_callback_and_refusals_fail_alone(database: Database) -> None:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(
            conn, "acme", clock.now(), webhook_url="http://127.0.0.1:9/hook"
        )
    async with unit_of_work(database, clock) as uow:
        acceptor = Acceptor(GroupCommitter(uow), AcceptPolicy(), clock, db=database)
        canceller = Canceller(uow)
        who = AccountLimits(account.id)
        first = (await acceptor.accept(who, [LATER])).accepted[0].message.id
        canceled = await canceller.cancel(account.id, first)
        assert canceled.status is MessageStatus.CANCELED
        async with database.read() as conn:
            pending = await webhook_store.list_webhook_deliveries(conn, first)
        assert [json.loads(d.payload)["status"] for d in pending] == ["canceled"]

        # refusals are answers, not failed writes: two of them share one turn, which commits
        turns = uow.turns
        refusals = await asyncio.gather(
            canceller.cancel(account.id, "msg_nope"),
            canceller.cancel(account.id, first),
            return_exceptions=True,
        )
        assert [type(r) for r in refusals] == [SmsError, SmsError]
        assert uow.turns == turns + 1  # not rolled back and replayed one by one

        # a refused cancel in the same turn as an accept: the accept is stored all the same
        bogus = canceller.cancel(account.id, "msg_nope")
        again = canceller.cancel(account.id, first)
        accepted = acceptor.accept(who, [LATER])
        results = await asyncio.gather(bogus, again, accepted, return_exceptions=True)
        assert isinstance(results[0], SmsError) and results[0].code is ErrorCode.NOT_FOUND
        assert isinstance(results[1], SmsError) and results[1].code is ErrorCode.NOT_CANCELABLE
        stored = results[2].accepted[0].message.id  # type: ignore[union-attr]
        async with database.read() as conn:
            message = await message_store.get_message(conn, stored)
        assert message is not None and message.status is MessageStatus.SCHEDULED
        with pytest.raises(SmsError):
            await canceller.cancel("another-account", stored)
