"""Which sender a message may carry to its destination: the requested one, or one of the pool.

Destinations differ: the United States take no alphanumeric sender id, India and many others
take one only once it is registered, Germany takes any. An account's sender pool holds what
it may send from (alphanumeric ids, long codes, short codes, toll-free numbers), each with the
countries it may be used in (none listed: any). For each message :func:`choose` keeps the
requested ``from`` when the destination allows it, else takes the best allowed sender of the
pool in the order alphanumeric, registered numbers (long codes, toll-free), short codes, and
says why; when nothing fits it refuses with ``sender_not_allowed``.

What a destination allows is a :class:`SenderPolicy`, read from the country rules
(:func:`policy_for`; a rule no public source states is ``None``: unknown, and an unknown rule
does not refuse). Registration is checked only for an account that keeps a pool: an
alphanumeric id in it for a country is registered there, and an account with no pool is
taken to register its ids with its provider, so "registration required" alone never
refuses its messages. Pure: the pool and the policy are arguments.

Numbers are registered the same way. Where the destination's registration scheme names the
sender types it takes (``template_registration.sender_types``: the US A2P scheme takes
``10dlc``, ``toll_free`` and ``short_code``), a number of a pool is allowed only as one of
those: a long code with its 10DLC campaign, a toll-free number with its verification, a short
code (provisioning is its registration). A requested number that is not such a pool sender
gives way to one that is; unregistered pool numbers are never chosen there. This applies to
an account that records registrations: one with no pool, or whose pool records no number's
registration, is taken to register its numbers with its provider, and its numbers are kept
(so a pool of plain long codes still serves the US, as it did before registrations existed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import phonenumbers

from smsrelay.domain.countries.model import Country, Rule, SenderTypeName
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.marketing_tags import marketing_tag
from smsrelay.domain.numbers import Sender, SenderKind, parse_sender

__all__ = [
    "MAX_REGISTRATION_ID",
    "Choice",
    "NumberRegistration",
    "PoolSender",
    "RegistrationType",
    "SenderPolicy",
    "SenderType",
    "choose",
    "policy_for",
    "pool_countries",
    "pool_registration",
    "pool_sender_value",
]


class SenderType(StrEnum):
    ALPHANUMERIC = "alphanumeric"
    LONG_CODE = "long_code"
    SHORT_CODE = "short_code"
    TOLL_FREE = "toll_free"


#: each sender type in words, for error messages
_NAMED = {
    SenderType.ALPHANUMERIC: "an alphanumeric id",
    SenderType.LONG_CODE: "a long code",
    SenderType.SHORT_CODE: "a short code",
    SenderType.TOLL_FREE: "a toll-free number",
}


class RegistrationType(StrEnum):
    """How a pool number was registered: a 10DLC campaign (The Campaign Registry's id, such
    as ``C1A2B3C``) or a toll-free verification."""

    TEN_DLC = "10dlc"
    TOLL_FREE = "toll_free"


MAX_REGISTRATION_ID = 64


@dataclass(frozen=True, slots=True)
class _Scheme:
    """One of the sender types a registration scheme names (``sender_types``)."""

    sender: SenderType
    registration: RegistrationType | None  # None: being provisioned is the registration
    plural: str  # for reasons: "… only from registered 10DLC numbers"
    needed: str  # for refusals: "add a long code with its 10DLC campaign id"

    def takes(self, sender: PoolSender) -> bool:
        if sender.type is not self.sender:
            return False
        return self.registration is None or (
            sender.registration is not None and sender.registration.type is self.registration
        )


#: the country rules' ``sender_types`` names and the pool senders each one takes
_SCHEME_SENDERS: dict[SenderTypeName, _Scheme] = {
    "10dlc": _Scheme(
        SenderType.LONG_CODE,
        RegistrationType.TEN_DLC,
        "registered 10DLC numbers",
        "a long code registered with its 10DLC campaign id",
    ),
    "toll_free": _Scheme(
        SenderType.TOLL_FREE,
        RegistrationType.TOLL_FREE,
        "verified toll-free numbers",
        "a toll-free number with its verification id",
    ),
    "short_code": _Scheme(SenderType.SHORT_CODE, None, "short codes", "a short code"),
}

#: the sender type each registration registers
_REGISTERS = {
    s.registration: s.sender for s in _SCHEME_SENDERS.values() if s.registration is not None
}

#: the order in which pool senders are preferred when the requested one cannot be used
_PREFERENCE = {
    SenderType.ALPHANUMERIC: 0,
    SenderType.LONG_CODE: 1,
    SenderType.TOLL_FREE: 1,
    SenderType.SHORT_CODE: 2,
}

Alphanumeric = Literal["allowed", "registration_required", "not_supported"]
"""The country rules' ``alphanumeric_sender`` values (``domain/countries``)."""


@dataclass(frozen=True, slots=True)
class NumberRegistration:
    """A pool number's registration: its type and the registry's id for it."""

    type: RegistrationType
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


@dataclass(frozen=True, slots=True)
class PoolSender:
    """One sender of an account's pool."""

    id: str
    type: SenderType
    value: str
    countries: frozenset[str] = field(default_factory=frozenset)  # empty: any country
    registration: NumberRegistration | None = None

    def usable_in(self, country: str | None) -> bool:
        return not self.countries or (country or "") in self.countries


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    """What one destination country allows (``None``: no public source says).

    ``sender_types``: the registration scheme's sender types (``10dlc``, ``toll_free``,
    ``short_code``) when it names some; empty when it names none or is unknown.
    ``marketing_tag``: the rule marking its marketing senders (``domain/marketing_tags.py``).
    """

    alphanumeric: Alphanumeric | None = None
    numeric_required: bool | None = None
    sender_types: tuple[SenderTypeName, ...] = ()
    marketing_tag: Rule | None = None

    def allows_alphanumeric(self, registered: bool) -> bool:
        if self.numeric_required:
            return False
        if self.alphanumeric == "not_supported":
            return False
        if self.alphanumeric == "registration_required":
            return registered
        return True

    def takes_number(self, sender: PoolSender) -> bool:
        """Whether the registration scheme takes this pool number (any, without a scheme)."""
        if not self.sender_types:
            return True
        return any(_SCHEME_SENDERS[name].takes(sender) for name in self.sender_types)

    def numbers_taken(self) -> str:
        """``registered 10DLC numbers, verified toll-free numbers or short codes``."""
        return _either([_SCHEME_SENDERS[n].plural for n in self.sender_types])

    def numbers_needed(self) -> str:
        return _either([_SCHEME_SENDERS[n].needed for n in self.sender_types])


def _either(items: list[str]) -> str:
    return items[0] if len(items) < 2 else f"{', '.join(items[:-1])} or {items[-1]}"


UNKNOWN = SenderPolicy()


def policy_for(country: Country | None) -> SenderPolicy:
    """What the country rules say of ``country``'s senders (unknown without rules)."""
    if country is None:
        return UNKNOWN
    registration = country.rule("template_registration").value
    return SenderPolicy(
        alphanumeric=country.rule("alphanumeric_sender").value,
        numeric_required=country.rule("numeric_sender_required").value,
        sender_types=registration.sender_types if registration is not None else (),
        marketing_tag=marketing_tag(country),
    )


@dataclass(frozen=True, slots=True)
class Choice:
    """The sender a message goes with, and why it is not the requested one (if it is not)."""

    sender: str | None
    reason: str | None = None  # set when the requested sender was replaced


def _allowed(sender: PoolSender, country: str | None, policy: SenderPolicy) -> bool:
    if not sender.usable_in(country):
        return False
    if sender.type is SenderType.ALPHANUMERIC:
        # a pool entry for this country is the account's registration of it
        return policy.allows_alphanumeric(registered=bool(sender.countries))
    return policy.takes_number(sender)


def _refusal(
    requested: Sender, country: str | None, policy: SenderPolicy, pool: Sequence[PoolSender]
) -> str | None:
    """Why the destination does not take ``requested`` (None: it does)."""
    where = country or "this destination"
    if requested.kind is not SenderKind.ALPHANUMERIC:
        if not policy.sender_types or not pool:  # no scheme, or registered with the provider
            return None
        if any(s.value == requested.value and _allowed(s, country, policy) for s in pool):
            return None
        return f"{where} takes A2P messages only from {policy.numbers_taken()}"
    if policy.numeric_required:
        return f"{where} requires a numeric sender"
    if policy.alphanumeric == "not_supported":
        return f"{where} does not support alphanumeric sender ids"
    if policy.alphanumeric == "registration_required":
        registered = not pool or any(
            s.type is SenderType.ALPHANUMERIC and s.value == requested.value and s.countries
            for s in pool
            if s.usable_in(country)
        )
        return None if registered else f"{where} takes only registered alphanumeric sender ids"
    return None


def choose(
    requested: Sender | None,
    *,
    country: str | None,
    policy: SenderPolicy,
    pool: Sequence[PoolSender],
) -> Choice:
    """The sender for one message (see the module docstring).

    Raises ``SmsError(sender_not_allowed)`` when the requested sender is not allowed and no
    pool sender is. With nothing requested, the pool's best allowed sender is used, or none
    (the connector's default sender).
    """
    if policy.sender_types and not any(s.registration is not None for s in pool):
        # an account that records no number's registration is taken to register its
        # numbers with its provider, as an account with no pool is: they are all kept
        policy = dataclasses.replace(policy, sender_types=())
    usable = sorted(
        (s for s in pool if _allowed(s, country, policy)),
        key=lambda s: (_PREFERENCE[s.type], not s.countries),  # country-specific first
    )
    if requested is None:
        return Choice(usable[0].value if usable else None)
    why = _refusal(requested, country, policy, pool)
    if why is None:
        return Choice(requested.value)
    if not usable:
        needed = f": add {policy.numbers_needed()}" if policy.sender_types else ""
        raise SmsError(
            ErrorCode.SENDER_NOT_ALLOWED,
            f"{why}, and the account's sender pool has no sender allowed there{needed}",
            field="from",
        )
    return Choice(usable[0].value, why)


def pool_sender_value(type: SenderType, raw: str) -> str:
    """A pool sender's value in its stored form, or ``SmsError`` (field ``value``).

    An alphanumeric id follows the ``from`` rules (letters, at most 11 characters); a short
    code is 3-8 digits; a long code or toll-free number is a phone number (E.164)."""
    try:
        sender = parse_sender(raw)
    except SmsError as error:
        raise SmsError(ErrorCode.VALIDATION_ERROR, error.detail, field="value") from None
    expected = {
        SenderType.ALPHANUMERIC: SenderKind.ALPHANUMERIC,
        SenderType.SHORT_CODE: SenderKind.SHORT_CODE,
        SenderType.LONG_CODE: SenderKind.INTERNATIONAL,
        SenderType.TOLL_FREE: SenderKind.INTERNATIONAL,
    }[type]
    if sender.kind is not expected:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"{raw.strip()!r} is not {_NAMED[type]}",
            field="value",
        )
    return sender.value


def pool_registration(sender: SenderType, type: str, id: str) -> NumberRegistration:
    """A pool sender's registration, or ``SmsError`` (field ``registration``, or its ``.type``
    or ``.id``).

    A 10DLC registration belongs to a long code, a toll-free one to a toll-free number; an
    alphanumeric id or a short code takes none (a short code is registered by being
    provisioned, an alphanumeric id by being listed for its countries). The id is the
    registry's, 1 to 64 printable characters."""
    unregistrable = _UNREGISTRABLE.get(sender)
    if unregistrable is not None:
        raise SmsError(ErrorCode.VALIDATION_ERROR, unregistrable, field="registration")
    try:
        kind = RegistrationType(type.strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in RegistrationType)
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"unknown registration type {type!r}; known: {known}",
            field="registration.type",
        ) from None
    if _REGISTERS[kind] is not sender:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"a {kind} registration belongs to {_NAMED[_REGISTERS[kind]]}, not {_NAMED[sender]}",
            field="registration.type",
        )
    text = id.strip()
    if not 1 <= len(text) <= MAX_REGISTRATION_ID or not text.isprintable():
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"a registration id is 1 to {MAX_REGISTRATION_ID} printable characters",
            field="registration.id",
        )
    return NumberRegistration(kind, text)


_UNREGISTRABLE = {
    SenderType.SHORT_CODE: "a short code takes no registration: being provisioned registers it",
    SenderType.ALPHANUMERIC: (
        "an alphanumeric id takes no registration: listing it for a country registers it there"
    ),
}


def pool_countries(raw: Iterable[str]) -> frozenset[str]:
    """ISO 3166 alpha-2 codes as ``phonenumbers`` knows them, upper-cased; SmsError else."""
    listed = frozenset(c.strip().upper() for c in raw if c.strip())
    unknown = sorted(listed - phonenumbers.SUPPORTED_REGIONS)
    if unknown:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"unknown country code(s) {', '.join(unknown)}: use ISO 3166 alpha-2 (US, DE, ...)",
            field="countries",
        )
    return listed
