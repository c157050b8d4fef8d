"""The one accept pipeline: every surface (REST, SMPP server, campaigns) enters here.

``prepare`` turns a request into a persisted-ready :class:`Message` (validate the number and
sender, render spintax, choose the encoding, count segments, fix the schedule and validity) or
raises a catalogue error. ``Acceptor.prepare_all`` prepares a whole batch, ``Acceptor.screen``
refuses recipients on the account's suppression list (one query per batch: it needs the
database, so it is a separate async step), and ``Acceptor.commit`` commits the valid ones
through the group committer (accepted means committed) and wakes the dispatcher.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from smsrelay.domain import encoding, numbers, spintax
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.ids import new_id
from smsrelay.domain.messages import (
    DEFAULT_PRIORITY,
    Message,
    MessageKind,
    queue_priority,
)
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.batcher import GroupCommitter, IdempotencyWrite
from smsrelay.engine.clock import Clock
from smsrelay.engine.screening import SuppressionScreen
from smsrelay.store.db import Database
from smsrelay.store.idempotency import IdempotencyTaken

log = logging.getLogger(__name__)

MIN_VALIDITY = 30.0
MAX_VALIDITY = 7 * 86400.0
MAX_SCHEDULE_AHEAD = 90 * 86400.0


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One message as a client asked for it, before validation."""

    to: str
    message: str
    sender: str | None = None
    callback_url: str | None = None
    client_ref: str | None = None
    kind: MessageKind = MessageKind.TRANSACTIONAL
    priority: int | None = None
    validity: float | None = None
    send_at: float | None = None
    spintax: bool | None = None  # None = render only when the text is well-formed spintax
    origin: str = "api"  # api | smpp
    smpp_user_id: str | None = None
    receipt_requested: int = 0  # SMPP registered_delivery bits 1-0 (smpp origin only)
    message_id: str | None = None  # pre-allocated (SMPP parts answered before the join)


@dataclass(frozen=True, slots=True)
class AcceptPolicy:
    """Operator settings that shape acceptance."""

    max_segments: int = 10
    strict_numbers: bool = False
    smart_encoding: bool = True
    default_validity: float = 48 * 3600.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message ready to store, with what the response reports beyond the row."""

    message: Message
    replaced: tuple[tuple[str, str], ...] = ()


def _check_callback_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL, field="callback_url") from None
    if parts.scheme not in ("http", "https") or not host or len(url) > 2000:
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL, field="callback_url")
    return url


MAX_VARIANT_LENGTH = 200  # the stored variant id: about 100 spintax groups


def _render(text: str, mode: bool | None, rng: random.Random) -> tuple[str, str | None]:
    """Apply spintax: forced on (errors reported), forced off, or automatic."""
    if mode is False or (mode is None and not spintax.has_spintax(text)):
        return text, None
    try:
        template = spintax.parse(text)
    except SmsError:
        if mode:
            raise
        return text, None
    if mode is None and template.variant_count < 2:
        return text, None
    rendered = spintax.render(template, rng.getrandbits(63))
    if len(rendered.variant) > MAX_VARIANT_LENGTH:
        raise SmsError(
            ErrorCode.SPINTAX_SYNTAX,
            "The template has too many spintax groups (at most about 100 choices per message).",
            field="message",
        )
    return rendered.text, rendered.variant


def prepare(
    request: SendRequest, *, account_id: str, policy: AcceptPolicy, now: float, rng: random.Random
) -> Prepared:
    """Validate and shape one request into a queued (or scheduled) message.

    Raises :class:`SmsError` with the field at fault; nothing is stored here.
    """
    if not isinstance(request.message, str) or not request.message:
        raise SmsError(ErrorCode.EMPTY_MESSAGE, field="message")
    number = numbers.parse_number(request.to, strict=policy.strict_numbers)
    sender = numbers.parse_sender(request.sender).value if request.sender else None
    callback = _check_callback_url(request.callback_url) if request.callback_url else None
    text, variant = _render(request.message, request.spintax, rng)
    info = encoding.analyze(text, max_segments=policy.max_segments, smart=policy.smart_encoding)
    text = info.text

    not_before = now
    status = MessageStatus.QUEUED
    if request.send_at is not None:
        if request.send_at > now + MAX_SCHEDULE_AHEAD:
            raise SmsError(
                ErrorCode.INVALID_SCHEDULE, "send_at is more than 90 days ahead", field="send_at"
            )
        if request.send_at > now:
            not_before = request.send_at
            status = MessageStatus.SCHEDULED
    validity = request.validity if request.validity is not None else policy.default_validity
    if not MIN_VALIDITY <= validity <= MAX_VALIDITY:
        raise SmsError(
            ErrorCode.INVALID_SCHEDULE,
            f"validity must be between {int(MIN_VALIDITY)} and {int(MAX_VALIDITY)} seconds",
            field="validity",
        )
    priority = DEFAULT_PRIORITY if request.priority is None else request.priority
    if not 0 <= priority <= 9:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR, "priority must be between 0 and 9", field="priority"
        )
    if request.client_ref is not None and len(request.client_ref) > 200:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            "client_ref is longer than 200 characters",
            field="client_ref",
        )
    message = Message(
        id=request.message_id or new_id("msg", now, rng.randbytes(10)),
        account_id=account_id,
        to=number.e164,
        country=number.country,
        sender=sender,
        body=text,
        encoding=info.encoding,
        segments=info.segments,
        kind=request.kind,
        priority=queue_priority(request.kind, priority),
        status=status,
        created_at=now,
        updated_at=now,
        not_before=not_before,
        expires_at=not_before + validity,
        variant=variant,
        client_ref=request.client_ref,
        callback_url=callback,
        origin=request.origin,
        smpp_user_id=request.smpp_user_id,
        receipt_requested=request.receipt_requested,
    )
    return Prepared(message, info.replaced)


class Acceptor:
    """Prepares requests and commits the valid ones through the group committer."""

    def __init__(
        self,
        committer: GroupCommitter,
        policy: AcceptPolicy,
        clock: Clock,
        *,
        on_accepted: Callable[[], None] | None = None,
        rng: random.Random | None = None,
        db: Database | None = None,
    ) -> None:
        self._screen = SuppressionScreen(db) if db is not None else None
        self._committer = committer
        self.policy = policy
        self._clock = clock
        self._on_accepted = on_accepted
        self._rng = rng or random.Random()

    def prepare_all(
        self, account_id: str, requests: Sequence[SendRequest]
    ) -> list[Prepared | SmsError]:
        now = self._clock.now()
        results: list[Prepared | SmsError] = []
        for request in requests:
            try:
                results.append(
                    prepare(
                        request, account_id=account_id, policy=self.policy, now=now, rng=self._rng
                    )
                )
            except SmsError as error:
                results.append(error)
        return results

    async def screen(
        self, account_id: str, results: Sequence[Prepared | SmsError]
    ) -> list[Prepared | SmsError]:
        """Refuse recipients on the account's suppression list (``recipient_opted_out``).

        One query for all numbers of the batch, shared with concurrent calls
        (``engine/screening.py``). Without a database (unit tests) nothing is screened.
        """
        wanted = {r.message.to for r in results if isinstance(r, Prepared)}
        if self._screen is None or not wanted:
            return list(results)
        blocked, exempt_otp = await self._screen.check(account_id, wanted)
        if not blocked:
            return list(results)
        screened: list[Prepared | SmsError] = []
        for result in results:
            if (
                isinstance(result, Prepared)
                and result.message.to in blocked
                and not (exempt_otp and result.message.kind is MessageKind.OTP)
            ):
                screened.append(SmsError(ErrorCode.RECIPIENT_OPTED_OUT, field="to"))
            else:
                screened.append(result)
        return screened

    async def commit(
        self, prepared: Sequence[Prepared], idempotency: IdempotencyWrite | None = None
    ) -> None:
        """Persist the prepared messages (and the idempotency record) in one transaction.

        Raises ``IdempotencyTaken`` (nothing stored: replay the stored answer) or
        ``SmsError(UNAVAILABLE)`` when the database did not take the rows.
        """
        try:
            await self._committer.commit([p.message for p in prepared], idempotency)
        except (IdempotencyTaken, SmsError):
            raise
        except Exception as error:
            log.error("accept not committed: %s", error)
            raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0) from error
        if prepared and self._on_accepted is not None:
            self._on_accepted()
