"""One request into one message ready to store, or the catalogue error that refuses it.

``prepare`` validates the number and sender, renders spintax, chooses the encoding, counts
segments and fixes the schedule and validity (a marketing message due inside its destination's
quiet hours is scheduled for the next allowed time). It is pure (``now`` and the random source
are arguments) and stores nothing: ``engine/accept.py`` runs it for every way in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from smsrelay.domain import numbers, spintax
from smsrelay.domain.countries import CountryRules
from smsrelay.domain.countries.limits import NO_LIMITS
from smsrelay.domain.encoding_choice import EncodingMode, choose
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES
from smsrelay.domain.ids import new_id
from smsrelay.domain.messages import (
    DEFAULT_PRIORITY,
    Message,
    MessageKind,
    queue_priority,
)
from smsrelay.domain.optout_text import with_opt_out
from smsrelay.domain.quiet_hours import Hold, quiet_hold
from smsrelay.domain.registration import Registration, with_account_defaults
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.callback_guard import refuse_literal_private

MIN_VALIDITY = 30.0
MAX_VALIDITY = 7 * 86400.0
MAX_SCHEDULE_AHEAD = 90 * 86400.0


RouteLanguages = Callable[[str, str | None, str, str], frozenset[str]]
"""(number, country, kind, account name) → the GSM-7 national languages the route the message
would take sends with their tables (``Dispatcher.route_languages``)."""


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
    client_parts: int | None = None  # an SMPP client sent it as this many parts (one id each)
    message_id: str | None = None  # pre-allocated (SMPP parts answered before the join)
    encoding: str = "auto"  # auto | gsm7 | ucs2 | transliterate (domain/encoding_choice.py)
    national_language: str | None = None  # GSM-7 national shift tables allowed (e.g. "tr")
    registration: Registration | None = None  # DLT ids the client gave (domain/registration.py)


@dataclass(frozen=True, slots=True)
class AcceptPolicy:
    """Operator settings that shape acceptance."""

    max_segments: int = 10
    strict_numbers: bool = False
    smart_encoding: bool = True
    default_validity: float = 48 * 3600.0


@dataclass(frozen=True, slots=True)
class SendingAccount:
    """What the sending account's settings change in how its messages are prepared.

    ``name`` is what routes match on; ``private_callbacks``: its callbacks may go to loopback
    and private addresses (the operator, or a tenant the operator allowed); ``transliterate``:
    ``encoding: auto`` may write letters as their closest GSM-7 form to save segments;
    ``national_language``: the language for a request that names none; ``opt_out_texts``: one
    of them is added to a marketing text bound for a country that requires opt-out text when it
    carries none (``domain/optout_text.py``); ``dlt_entity_id``: carried by messages to
    destinations whose rules name India's DLT and that give none of their own (any origin).
    """

    name: str = ""
    private_callbacks: bool = False
    transliterate: bool = False
    national_language: str | None = None
    opt_out_texts: Mapping[str, str] = field(default_factory=dict)
    dlt_entity_id: str | None = None

    @classmethod
    def of(cls, account: object) -> SendingAccount:
        """The settings of ``account`` (``store/accounts.Account``, or anything with an
        ``id``: what it lacks takes its default)."""
        return cls(
            name=getattr(account, "name", None) or str(getattr(account, "id", "")),
            private_callbacks=bool(getattr(account, "private_callbacks_allowed", False)),
            transliterate=bool(getattr(account, "transliterate", False)),
            national_language=getattr(account, "national_language", None),
            opt_out_texts=getattr(account, "opt_out_texts", None) or {},
            dlt_entity_id=getattr(account, "dlt_entity_id", None),
        )


DEFAULT_ACCOUNT = SendingAccount()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message ready to store, with what the response reports beyond the row."""

    message: Message
    replaced: tuple[tuple[str, str], ...] = ()
    hold: Hold | None = None  # held for the destination's quiet hours (marketing only)
    opt_out_added: str | None = None  # the account's opt-out text, added (marketing only)


def _check_callback_url(url: str, private_allowed: bool) -> str:
    """An http(s) URL; for an account not allowed private callbacks, not ``localhost`` nor a
    private address literal (host names are resolved by ``engine/accept.py``, which may wait)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL, field="callback_url") from None
    if parts.scheme not in ("http", "https") or not host or len(url) > 2000:
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL, field="callback_url")
    if not private_allowed:
        refuse_literal_private(url)
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
    request: SendRequest,
    *,
    account_id: str,
    policy: AcceptPolicy,
    now: float,
    rng: random.Random,
    account: SendingAccount = DEFAULT_ACCOUNT,
    countries: CountryRules | None = None,
    route_languages: RouteLanguages | None = None,
) -> Prepared:
    """Validate and shape one request into a queued (or scheduled) message.

    ``account``: the sending account's settings (:class:`SendingAccount`); its
    transliteration, national language and opt-out texts apply to REST messages (origin
    ``api``) only: an SMPP client's text is its own, and a verification's stored text (its code
    masked) must count like the sealed text the connector sends. ``countries``: the rules in
    force, for the quiet hours of marketing messages and the destination's segment and UCS-2
    bounds (none: nothing is held or bounded). ``route_languages``: which national languages
    the message's route sends; a language none of its connectors sends is not counted with
    (see :func:`_sendable_language`). None: every language is trusted.

    Raises :class:`SmsError` with the field at fault; nothing is stored here.
    """
    if not isinstance(request.message, str) or not request.message:
        raise SmsError(ErrorCode.EMPTY_MESSAGE, field="message")
    number = numbers.parse_number(request.to, strict=policy.strict_numbers)
    sender = numbers.parse_sender(request.sender).value if request.sender else None
    callback = (
        _check_callback_url(request.callback_url, account.private_callbacks)
        if request.callback_url
        else None
    )
    text, variant = _render(request.message, request.spintax, rng)
    # what an SMPP client sent is its own text; a verification's stored text is masked and
    # must count like the sealed text the connector sends: no account-level changes
    api = request.origin == "api"
    opt_out_added = None
    if (
        account.opt_out_texts
        and request.kind is MessageKind.MARKETING
        and api
        and countries is not None
        and countries.requires_opt_out(number.country)
    ):
        text, opt_out_added = with_opt_out(text, number.country, account.opt_out_texts)
    mode, language = _encoding_request(request)
    transliterate = account.transliterate and api
    if api and language is None and account.national_language in NATIONAL_LANGUAGES:
        language = account.national_language
    if language is not None and route_languages is not None:
        sent = route_languages(number.e164, number.country, str(request.kind), account.name)
        language = _sendable_language(language, sent, explicit=request.national_language)
    info = choose(
        text,
        mode=mode,
        language=language,
        lookalikes=policy.smart_encoding,
        letters=transliterate,
        max_segments=policy.max_segments,
        limits=countries.text_limits(number.country) if countries is not None else NO_LIMITS,
    )
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
    expires_at = not_before + validity
    hold = None
    if countries is not None and request.kind is MessageKind.MARKETING:
        hold = quiet_hold(countries, number.country, number.e164, not_before)
        if hold is not None:
            not_before, status = hold.release_at, MessageStatus.SCHEDULED
            expires_at = _held_expiry(request, hold, expires_at, validity)
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
        expires_at=expires_at,
        variant=variant,
        client_ref=request.client_ref,
        callback_url=callback,
        origin=request.origin,
        smpp_user_id=request.smpp_user_id,
        receipt_requested=request.receipt_requested,
        client_parts=request.client_parts,
        language=info.language,
        registration=with_account_defaults(
            request.registration,
            account.dlt_entity_id,
            countries.registration_scheme(number.country) if countries is not None else None,
        ),
    )
    return Prepared(message, info.replaced, hold, opt_out_added)


def _held_expiry(request: SendRequest, hold: Hold, expires_at: float, validity: float) -> float:
    """Without an explicit validity it counts from the release; an explicit one that ends
    before the quiet hours do refuses the message (it would only expire unsent)."""
    if request.validity is None:
        return hold.release_at + validity
    if hold.release_at >= expires_at:
        raise SmsError(
            ErrorCode.INVALID_SCHEDULE,
            "The validity ends before the destination's quiet hours for marketing do "
            f"(see {hold.source}); give a longer validity or send later.",
            field="validity",
        )
    return expires_at


def _sendable_language(language: str, sent: frozenset[str], *, explicit: str | None) -> str | None:
    """The language to count with, when the message's route sends it (``sent``).

    Counting with tables no connector of the route uses would tell the client (and bill) fewer
    segments than the carrier receives. A language the request names is a demand, as
    ``encoding: gsm7`` is, so it is refused (``national_language_unsupported``, 422) rather
    than quietly counted otherwise; an account's default falls back to the default tables or
    UCS-2 (the answer then reports no ``national_language``).
    """
    if language in sent:
        return language
    if explicit is None:
        return None
    raise SmsError(
        ErrorCode.NATIONAL_LANGUAGE_UNSUPPORTED,
        f"No route to this number sends GSM-7 with the {language!r} national tables: leave "
        "national_language out (the text is then counted with the default tables or as "
        "UCS-2), or ask the operator for a route whose connectors list the language.",
        field="national_language",
    )


def _encoding_request(request: SendRequest) -> tuple[EncodingMode, str | None]:
    """The request's ``encoding`` and ``national_language``, checked."""
    try:
        mode = EncodingMode(request.encoding)
    except ValueError:
        raise SmsError(
            ErrorCode.INVALID_ENCODING,
            f"encoding must be one of {', '.join(EncodingMode)}",
            field="encoding",
        ) from None
    language = request.national_language
    if language is not None and language not in NATIONAL_LANGUAGES:
        raise SmsError(
            ErrorCode.INVALID_ENCODING,
            f"national_language must be one of {', '.join(NATIONAL_LANGUAGES)}",
            field="national_language",
        )
    return mode, language
