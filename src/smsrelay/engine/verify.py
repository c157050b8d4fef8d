"""Verifications as a service: create, check, get, cancel, resend; expiry; events.

A code is sent as an OTP message through the one accept path (``Acceptor.accept``), with the
text masked in the message row and sealed next to the verification (``domain/verify.py``,
``engine/verify_texts.py``). The fraud guard (``engine/fraud_guard.py``) judges every send.

Writes are writes of the engine's unit of work (``engine/unit_of_work.py``), like every other
engine write: a create is two turns, the verification with its sealed text first, then the
accept's own turn for the message. That order means the dispatcher can never claim a code's
message before its sealed text exists; a message the accept refuses takes its verification
back out in a third write (the client never saw it). Checks change a verification with a
guarded UPDATE (status, checks and sends as read) and try again when another check came
first, so five wrong codes can never become six checks. A write that finds nothing to change
returns instead of raising, so it never rolls back the other writes of its turn.

Status changes after creation (approved, canceled, expired, max_attempts_reached) queue a
signed callback in the same write, through the webhook outbox, with the body
``{"verification_id", "status", "timestamp", ...}``.

Just over 400 lines: create, check, resend and cancel share the guarded-update rule above;
expiry and events are already apart (``engine/verify_events.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.ids import new_id
from smsrelay.domain.messages import MessageKind
from smsrelay.domain.verify import (
    DEFAULT_TTL,
    MAX_CHECKS,
    MAX_SENDS,
    AppLinks,
    CheckDecision,
    VerificationStatus,
    VerifyKeys,
    check_app_name,
    check_cancel,
    check_resend,
    code_length_of,
    code_matches,
    decide_check,
    hash_code,
    locale_of,
    new_code,
    render,
    seal,
)
from smsrelay.engine.accept import Acceptor, SendRequest
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import Clock
from smsrelay.engine.fraud_guard import Destination, FraudGuard
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork, Write
from smsrelay.engine.verify_admin import VerifyAdmin
from smsrelay.engine.verify_events import VerifySweeper, announce
from smsrelay.engine.verify_texts import VERIFY_ORIGIN
from smsrelay.store import fraud as fraud_store
from smsrelay.store import verifications as store
from smsrelay.store.accounts import Account
from smsrelay.store.verifications import Verification, VerifySettings

log = logging.getLogger(__name__)

CHANNELS = ("sms",)
ATTEMPTS = 10  # tries of a guarded change that another process's change came before


@dataclass(frozen=True, slots=True)
class NewVerification:
    """A create request as the API parsed it."""

    to: str
    channel: str = "sms"
    code_length: int | None = None
    locale: str | None = None
    app_name: str | None = None
    device_ip: str | None = None
    web_domain: str | None = None
    app_hash: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    verification: Verification
    attempts_left: int


class VerifyService:
    def __init__(
        self,
        uow: UnitOfWork,
        acceptor: Acceptor,
        canceller: Canceller,
        guard: FraudGuard,
        keys: VerifyKeys,
        clock: Clock,
        *,
        outbox: Claimant[Any] | None = None,
        ttl: float = DEFAULT_TTL,
        app_name: str = "smsrelay",
        strict_numbers: bool = False,
        sweep_interval: float = 30.0,
    ) -> None:
        """``outbox``: the webhook outbox, which claims the events these writes queue;
        ``app_name``: in the text when neither the request nor the account names one."""
        self._uow = uow
        self._db = uow.db
        self._acceptor = acceptor
        self._canceller = canceller
        self.guard = guard
        self._keys = keys
        self._clock = clock
        self._outbox = outbox
        self._ttl = ttl
        self._app_name = app_name
        self._strict = strict_numbers
        self.sweeper = VerifySweeper(uow, clock, guard.policy, outbox, interval=sweep_interval)
        self.admin = VerifyAdmin(uow)
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # lock, users

    # -- create and resend -----------------------------------------------------------------

    async def create(self, account: Account, request: NewVerification) -> Verification:
        """Send a new code. Raises ``SmsError``: a bad field (422), ``fraud_suspected``
        (403), ``verification_rate_limited`` (429), or what the accept path refuses."""
        if request.channel not in CHANNELS:
            raise SmsError(ErrorCode.VALIDATION_ERROR, "channel must be 'sms'", field="channel")
        locale = locale_of(request.locale)
        length = code_length_of(request.code_length)
        links = AppLinks(request.web_domain, request.app_hash)
        number = numbers.parse_number(request.to, strict=self._strict)
        device_ip = _device_ip(request.device_ip)
        if request.app_name is not None:
            check_app_name(request.app_name)
        dest = self.guard.destination(account.id, number.e164, number.country, device_ip)
        now = self._clock.now()
        settings = await self._judge(dest, now)
        app_name = check_app_name(request.app_name or settings.app_name or self._app_name)

        ver_id = new_id("ver", now, secrets.token_bytes(10))
        message_id = new_id("msg", now, secrets.token_bytes(10))
        code = new_code(length)
        text, masked = render(locale, app_name, code, links)
        ver = Verification(
            id=ver_id,
            account_id=account.id,
            to=number.e164,
            country=number.country,
            prefix=dest.prefix,
            channel=request.channel,
            locale=locale,
            status=VerificationStatus.PENDING,
            code_hash=hash_code(self._keys.hash_key, ver_id, code),
            code_length=length,
            checks=0,
            sends=1,
            max_checks=MAX_CHECKS,
            max_sends=MAX_SENDS,
            message_id=message_id,
            device_ip=device_ip,
            created_at=now,
            updated_at=now,
            expires_at=now + self._ttl,
            app_name=request.app_name and app_name,
            web_domain=links.web_domain,
            app_hash=links.app_hash,
        )
        sealed = seal(self._keys.seal_key, text, message_id)

        async def write(conn: AsyncConnection, at: float) -> None:
            await store.insert_verification(conn, ver)
            await store.insert_send(conn, message_id, ver_id, sealed, at)
            await fraud_store.count_traffic(conn, account.id, dest.keys(), at, sends=1)

        await self._uow.run(write)
        try:
            await self._send(account, ver, masked, message_id)
        except SmsError:

            async def take_back(conn: AsyncConnection, at: float) -> None:
                await store.remove_verification(conn, ver_id)

            await self._uow.run(take_back)
            raise
        return ver

    async def resend(self, account: Account, verification_id: str) -> Verification:
        """A new code in a new SMS; the old code stops working and its SMS, if not yet
        handed to a carrier, is canceled. The expiry starts again."""
        async with self._one_at_a_time(verification_id):
            return await self._resend(account, verification_id)

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, verification_id: str) -> AsyncIterator[None]:
        """Checks and resends of one verification take turns in this process (the guarded
        UPDATE settles those of different processes)."""
        entry = self._locks.setdefault(verification_id, (asyncio.Lock(), [0]))
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[verification_id]

    async def _resend(self, account: Account, verification_id: str) -> Verification:
        for _ in range(ATTEMPTS):
            ver = await self.get(account, verification_id)
            now = self._clock.now()
            check_resend(ver.state, now)
            dest = self.guard.destination(account.id, ver.to, ver.country, ver.device_ip)
            settings = await self._judge(dest, now)
            app_name = check_app_name(ver.app_name or settings.app_name or self._app_name)
            message_id = new_id("msg", now, secrets.token_bytes(10))
            code = new_code(ver.code_length)
            links = AppLinks(ver.web_domain, ver.app_hash)
            text, masked = render(ver.locale, app_name, code, links)
            sealed = seal(self._keys.seal_key, text, message_id)
            code_hash = hash_code(self._keys.hash_key, ver.id, code)

            write = self._resend_write(ver, dest, code_hash, message_id, sealed)
            changed = await self._uow.run(write)
            if changed is None:
                continue
            await self._send(account, changed, masked, message_id)
            await self._cancel_message(account.id, ver.message_id)
            return changed
        raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0)

    def _resend_write(
        self, ver: Verification, dest: Destination, code_hash: str, message_id: str, sealed: str
    ) -> Write[Verification | None]:
        async def write(conn: AsyncConnection, at: float) -> Verification | None:
            changed = await store.update_verification(
                conn,
                ver,
                at,
                code_hash=code_hash,
                message_id=message_id,
                sends=ver.sends + 1,
                expires_at=at + self._ttl,
            )
            if changed is None:
                return None
            await store.close_sends(conn, ver.id)
            await store.insert_send(conn, message_id, ver.id, sealed, at)
            await fraud_store.count_traffic(conn, ver.account_id, dest.keys(), at, sends=1)
            return changed

        return write

    async def _send(
        self, account: Account, ver: Verification, masked: str, message_id: str
    ) -> None:
        request = SendRequest(
            to=ver.to,
            message=masked,
            kind=MessageKind.OTP,
            validity=max(30.0, ver.expires_at - self._clock.now()),
            spintax=False,
            origin=VERIFY_ORIGIN,
            message_id=message_id,
        )
        outcome = await self._acceptor.accept(account, [request])
        result = outcome.results[0]
        if isinstance(result, SmsError):
            raise result

    async def _judge(self, dest: Destination, now: float) -> VerifySettings:
        """The account's verify settings when a code may go to ``dest``; else raises the
        refusal (counted, and the block stored when the guard decided one)."""
        judgement, settings = await self.guard.judge(dest, now)
        refusal = judgement.refusal
        if refusal is None:
            return settings
        block = judgement.block
        self.sweeper.refusals[(dest.account_id, refusal.reason)] += 1
        if block is not None:

            async def write(conn: AsyncConnection, at: float) -> None:
                if not await fraud_store.active_blocks(
                    conn, dest.account_id, [(str(block.scope), block.key)], at
                ):
                    await fraud_store.add_block(
                        conn,
                        dest.account_id,
                        str(block.scope),
                        block.key,
                        block.reason,
                        at,
                        at + self.guard.policy.block_seconds,
                    )

            await self._uow.run(write)
            log.warning(
                "fraud guard blocked account_id=%s %s=%s reason=%s",
                dest.account_id,
                block.scope,
                block.key,
                block.reason,
            )
        code = ErrorCode.VERIFICATION_RATE_LIMITED if refusal.rate else ErrorCode.FRAUD_SUSPECTED
        raise SmsError(
            code, f"{refusal.reason}: {refusal.detail}", field="to", retry_after=refusal.retry_after
        )

    # -- check, get, cancel ----------------------------------------------------------------

    async def get(self, account: Account, verification_id: str) -> Verification:
        """The verification as it is now (a pending one past its expiry reads ``expired``)."""
        ver = await self._stored(account, verification_id)
        return replace(ver, status=ver.state.status_at(self._clock.now()))

    async def _stored(self, account: Account, verification_id: str) -> Verification:
        async with self._db.read() as conn:
            ver = await store.get_verification(conn, verification_id, account.id)
        if ver is None:
            raise SmsError(ErrorCode.VERIFICATION_NOT_FOUND, field="verification_id")
        return ver

    async def check(self, account: Account, verification_id: str, code: str) -> CheckResult:
        """Check ``code``; see ``domain.verify.decide_check`` for what a check does."""
        code = code.strip()
        if not code.isdigit() or len(code) > 10:
            raise SmsError(ErrorCode.VALIDATION_ERROR, "code must be 1-10 digits", field="code")
        async with self._one_at_a_time(verification_id):
            return await self._check(account, verification_id, code)

    async def _check(self, account: Account, verification_id: str, code: str) -> CheckResult:
        for _ in range(ATTEMPTS):
            ver = await self._stored(account, verification_id)
            matches = code_matches(self._keys.hash_key, ver.id, code, ver.code_hash)
            decision = decide_check(ver.state, matches, self._clock.now())
            if not decision.changed:
                return CheckResult(ver, decision.attempts_left)

            changed = await self._uow.run(self._check_write(ver, decision))
            if changed is not None:
                return CheckResult(changed, decision.attempts_left)
        raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0)

    def _check_write(
        self, ver: Verification, decision: CheckDecision
    ) -> Write[Verification | None]:
        async def write(conn: AsyncConnection, at: float) -> Verification | None:
            values: dict[str, Any] = {"status": str(decision.status), "checks": decision.checks}
            if decision.status is VerificationStatus.APPROVED:
                values["approved_at"] = at
            changed = await store.update_verification(conn, ver, at, **values)
            if changed is None:
                return None
            if changed.status is VerificationStatus.APPROVED:
                await store.add_conversion(conn, ver.account_id, ver.message_id, "verify", at)
                dest = self.guard.destination(ver.account_id, ver.to, ver.country, None)
                await fraud_store.count_traffic(
                    conn, ver.account_id, dest.conversion_keys(), ver.created_at, approvals=1
                )
            if changed.status is not VerificationStatus.PENDING:
                await store.close_sends(conn, ver.id)
                await announce(conn, changed, at, self._outbox)
            return changed

        return write

    async def cancel(self, account: Account, verification_id: str) -> Verification:
        for _ in range(ATTEMPTS):
            ver = await self._stored(account, verification_id)
            check_cancel(ver.state, self._clock.now())

            async def write(
                conn: AsyncConnection, at: float, ver: Verification = ver
            ) -> Verification | None:
                changed = await store.update_verification(
                    conn, ver, at, status=str(VerificationStatus.CANCELED)
                )
                if changed is not None:
                    await store.close_sends(conn, ver.id)
                    await announce(conn, changed, at, self._outbox)
                return changed

            changed = await self._uow.run(write)
            if changed is not None:
                await self._cancel_message(account.id, ver.message_id)
                return changed
        raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0)

    # -- the sweeper's side ----------------------------------------------------------------

    async def expire_due(self) -> int:
        return await self.sweeper.expire_due()

    async def flush_refusals(self) -> None:
        await self.sweeper.flush_refusals()

    async def start(self) -> None:
        await self.sweeper.start()

    async def stop(self) -> None:
        await self.sweeper.stop()

    async def _cancel_message(self, account_id: str, message_id: str) -> None:
        """Cancel a code's SMS not yet handed to a carrier (if it was, its text is gone and
        the dispatcher fails it instead of sending a dead code)."""
        with contextlib.suppress(SmsError):
            await self._canceller.cancel(account_id, message_id)


def _device_ip(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR, "device_ip is not an IP address", field="device_ip"
        ) from None
