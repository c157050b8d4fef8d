"""engine/verify.py on the unit of work, both databases, a manual clock and no carrier: what
is stored where, and what concurrent checks, expiry and resends do."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.fraud import FraudPolicy
from smsrelay.domain.retry import RetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.domain.states import MessageStatus
from smsrelay.domain.verify import VerificationStatus, VerifyKeys
from smsrelay.engine.accept import Acceptor, AcceptPolicy
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.fraud_guard import FraudGuard
from smsrelay.engine.verify import NewVerification, VerifyService
from smsrelay.engine.verify_texts import SealedTexts
from smsrelay.store import accounts as account_store
from smsrelay.store import fraud as fraud_store
from smsrelay.store import messages as message_store
from smsrelay.store import verifications as verification_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.accounts import Account
from smsrelay.store.db import Database
from smsrelay.store.schema import conversions, verification_sends, verifications
from tests.engine.support import unit_of_work
from tests.support.connectors import ScriptedConnector

KEYS = VerifyKeys.derive(b"s" * 32)


@dataclass
class Setup:
    verify: VerifyService
    texts: SealedTexts
    account: Account
    clock: ManualClock
    db: Database


@asynccontextmanager
async def service(database: Database, *, max_segments: int = 10) -> AsyncIterator[Setup]:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(
            conn, "acme", clock.now(), webhook_url="http://127.0.0.1:9/hook"
        )
    async with unit_of_work(database, clock) as uow:
        acceptor = Acceptor(
            GroupCommitter(uow), AcceptPolicy(max_segments=max_segments), clock, db=database
        )
        verify = VerifyService(
            uow,
            acceptor,
            Canceller(uow),
            FraudGuard(database, FraudPolicy()),
            KEYS,
            clock,
            app_name="Acme",
        )
        yield Setup(verify, SealedTexts(database, KEYS.seal_key), account, clock, database)


async def _code(setup: Setup, message_id: str) -> str:
    text = await setup.texts.text_for(message_id)
    assert text is not None
    found = re.search(r"\d{4,10}", text)
    assert found
    return found.group(0)


async def test_the_code_is_stored_only_hashed_and_sealed(database: Database) -> None:
    async with service(database) as s:
        ver = await s.verify.create(s.account, NewVerification(to="+4915112345678"))
        code = await _code(s, ver.message_id)
        async with database.read() as conn:
            row = (await conn.execute(select(verifications))).one()._mapping
            sealed = (await conn.execute(select(verification_sends))).one()._mapping
            message = await message_store.get_message(conn, ver.message_id)
        assert message is not None and message.kind == "otp" and message.origin == "verify"
        assert message.body == "Your Acme verification code is: ******"
        assert message.expires_at == ver.expires_at == s.clock.now() + 600
        assert code not in str(dict(row)) and code not in str(dict(sealed))
        assert row["code_hash"] != code and len(row["code_hash"]) == 64

        result = await s.verify.check(s.account, ver.id, code)
        assert result.verification.status is VerificationStatus.APPROVED
        assert await s.texts.text_for(ver.message_id) is None  # forgotten once it ended
        async with database.read() as conn:
            converted = (await conn.execute(select(conversions))).one()
            deliveries = await webhook_store.list_webhook_deliveries(conn, ver.id)
            traffic, _ = await fraud_store.traffic_between(
                conn, s.account.id, "prefix", "+491511", 60, 0, 2e9
            )
        assert converted.message_id == ver.message_id and converted.source == "verify"
        assert [json.loads(d.payload)["status"] for d in deliveries] == ["approved"]
        assert traffic.sends == 1 and traffic.approvals == 1


async def test_concurrent_wrong_codes_spend_exactly_five_checks(database: Database) -> None:
    async with service(database) as s:
        ver = await s.verify.create(s.account, NewVerification(to="+4915112345678"))
        code = await _code(s, ver.message_id)
        wrong = "1" * 6 if code != "1" * 6 else "2" * 6
        answers = await asyncio.gather(
            *(s.verify.check(s.account, ver.id, wrong) for _ in range(10)),
            return_exceptions=True,
        )
        statuses = sorted(
            str(a.verification.status) for a in answers if not isinstance(a, BaseException)
        )
        refused = [a for a in answers if isinstance(a, SmsError)]
        assert statuses == ["max_attempts_reached"] + ["pending"] * 4
        assert [e.code for e in refused] == [ErrorCode.VERIFICATION_RATE_LIMITED] * 5
        got = await s.verify.get(s.account, ver.id)
        assert got.checks == 5 and got.status is VerificationStatus.MAX_ATTEMPTS_REACHED


async def test_expiry_sweep_marks_expired_and_forgets_the_text(database: Database) -> None:
    async with service(database) as s:
        ver = await s.verify.create(s.account, NewVerification(to="+4915112345678"))
        s.clock.advance(599.0)
        assert await s.verify.expire_due() == 0
        s.clock.advance(1.0)
        assert (await s.verify.get(s.account, ver.id)).status is VerificationStatus.EXPIRED
        assert await s.verify.expire_due() == 1
        assert await s.texts.text_for(ver.message_id) is None
        async with database.read() as conn:
            deliveries = await webhook_store.list_webhook_deliveries(conn, ver.id)
        payload = json.loads(deliveries[0].payload)
        assert list(payload)[:3] == ["verification_id", "status", "timestamp"]
        assert payload["status"] == "expired"


async def test_resend_replaces_the_code_and_cancels_the_unsent_sms(database: Database) -> None:
    async with service(database) as s:
        ver = await s.verify.create(s.account, NewVerification(to="+4915112345678"))
        old = await _code(s, ver.message_id)
        again = await s.verify.resend(s.account, ver.id)
        assert again.sends == 2 and again.message_id != ver.message_id
        assert await s.texts.text_for(ver.message_id) is None
        new = await _code(s, again.message_id)
        async with database.read() as conn:
            first = await message_store.get_message(conn, ver.message_id)
        assert first is not None and first.status is MessageStatus.CANCELED
        if new != old:
            assert (await s.verify.check(s.account, ver.id, old)).attempts_left == 4
        assert (await s.verify.check(s.account, ver.id, new)).verification.status == "approved"


async def test_a_code_the_accept_path_refuses_leaves_no_verification(database: Database) -> None:
    async with service(database, max_segments=1) as s:
        long = NewVerification(
            to="+4915112345678",
            app_name="A" * 40,
            web_domain="a-rather-long-domain-name.example.com",
            app_hash="FA+9qCX9VSu",
            code_length=10,
            locale="pt",
        )
        try:
            await s.verify.create(s.account, long)
        except SmsError as error:
            assert error.code is ErrorCode.MESSAGE_TOO_LONG
        else:
            raise AssertionError("accepted")
        async with database.read() as conn:
            assert (await conn.execute(select(verifications))).all() == []
            assert (await conn.execute(select(verification_sends))).all() == []


async def test_another_accounts_verification_is_not_found(database: Database) -> None:
    async with service(database) as s:
        ver = await s.verify.create(s.account, NewVerification(to="+4915112345678"))
        async with database.transaction() as conn:
            other = await account_store.create_account(conn, "other", s.clock.now())
        for call in (
            s.verify.get(other, ver.id),
            s.verify.check(other, ver.id, "123456"),
            s.verify.cancel(other, ver.id),
            s.verify.resend(other, ver.id),
        ):
            try:
                await call
            except SmsError as error:
                assert error.code is ErrorCode.VERIFICATION_NOT_FOUND
            else:
                raise AssertionError("found")


async def test_the_connector_gets_the_real_text_and_a_closed_ones_sms_is_not_sent(
    database: Database,
) -> None:
    clock = ManualClock(1_800_000_000.0)
    async with database.transaction() as conn:
        account = await account_store.create_account(conn, "acme", clock.now())
    carrier = ScriptedConnector("a")
    texts = SealedTexts(database, KEYS.seal_key)
    async with unit_of_work(database, clock) as uow:
        dispatcher = Dispatcher(
            uow,
            {"a": carrier},
            [Route("default", ("a",))],
            RetryPolicy(max_attempts=2),
            clock,
            settings=DispatchSettings(idle_poll=0.05, housekeeping_interval=3600),
            texts=texts,
        )
        acceptor = Acceptor(GroupCommitter(uow, dispatch=dispatcher.claims), AcceptPolicy(), clock)
        verify = VerifyService(
            uow, acceptor, Canceller(uow), FraudGuard(database, FraudPolicy()), KEYS, clock
        )
        sent = await verify.create(account, NewVerification(to="+4915112345678"))
        closed = await verify.create(account, NewVerification(to="+4915112345679"))
        async with database.transaction() as conn:  # as a resend racing the claim would
            await verification_store.close_sends(conn, closed.id)
        await dispatcher.start()
        try:
            for _ in range(100):
                await clock.settle()
                await uow.claim(dispatcher.claims)
                if dispatcher.claims.inflight == 0 and len(carrier.submitted) >= 1:
                    break
            await clock.settle()
        finally:
            await dispatcher.stop()
        assert [m.message_id for m in carrier.submitted] == [sent.message_id]
        text = carrier.submitted[0].body
        code = re.search(r"\d{6}", text)
        assert code and text == f"Your smsrelay verification code is: {code.group(0)}"
        async with database.read() as conn:
            failed = await message_store.get_message(conn, closed.message_id)
        assert failed is not None and failed.status is MessageStatus.FAILED
        assert failed.error_code == "verification_closed"
        result = await verify.check(account, sent.id, code.group(0))
        assert result.verification.status is VerificationStatus.APPROVED
