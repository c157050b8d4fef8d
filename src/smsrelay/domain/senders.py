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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import phonenumbers

from smsrelay.domain.countries.model import Country
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.numbers import Sender, SenderKind, parse_sender

__all__ = [
    "Choice",
    "PoolSender",
    "SenderPolicy",
    "SenderType",
    "choose",
    "policy_for",
    "pool_countries",
    "pool_sender_value",
]


class SenderType(StrEnum):
    ALPHANUMERIC = "alphanumeric"
    LONG_CODE = "long_code"
    SHORT_CODE = "short_code"
    TOLL_FREE = "toll_free"


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
class SenderPolicy:
    """What one destination country allows (``None``: no public source says)."""

    alphanumeric: Alphanumeric | None = None
    numeric_required: bool | None = None

    def allows_alphanumeric(self, registered: bool) -> bool:
        if self.numeric_required:
            return False
        if self.alphanumeric == "not_supported":
            return False
        if self.alphanumeric == "registration_required":
            return registered
        return True


UNKNOWN = SenderPolicy()


def policy_for(country: Country | None) -> SenderPolicy:
    """What the country rules say of ``country``'s senders (unknown without rules)."""
    if country is None:
        return UNKNOWN
    return SenderPolicy(
        alphanumeric=country.rule("alphanumeric_sender").value,
        numeric_required=country.rule("numeric_sender_required").value,
    )


@dataclass(frozen=True, slots=True)
class PoolSender:
    """One sender of an account's pool."""

    id: str
    type: SenderType
    value: str
    countries: frozenset[str] = field(default_factory=frozenset)  # empty: any country

    def usable_in(self, country: str | None) -> bool:
        return not self.countries or (country or "") in self.countries


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
    return True


def _refusal(requested: Sender, country: str | None, policy: SenderPolicy) -> str | None:
    """Why the destination does not take ``requested`` (None: it does)."""
    if requested.kind is not SenderKind.ALPHANUMERIC:
        return None
    where = country or "this destination"
    if policy.numeric_required:
        return f"{where} requires a numeric sender"
    if policy.alphanumeric == "not_supported":
        return f"{where} does not support alphanumeric sender ids"
    if policy.alphanumeric == "registration_required":
        return f"{where} takes only registered alphanumeric sender ids"
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
    usable = sorted(
        (s for s in pool if _allowed(s, country, policy)),
        key=lambda s: (_PREFERENCE[s.type], not s.countries),  # country-specific first
    )
    if requested is None:
        return Choice(usable[0].value if usable else None)
    registered = not pool or any(
        s.type is SenderType.ALPHANUMERIC and s.value == requested.value and s.countries
        for s in pool
        if s.usable_in(country)
    )
    why = _refusal(requested, country, policy)
    if why is None or (policy.alphanumeric == "registration_required" and registered):
        return Choice(requested.value)
    if not usable:
        raise SmsError(
            ErrorCode.SENDER_NOT_ALLOWED,
            f"{why}, and the account's sender pool has no sender allowed there",
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
            f"{raw.strip()!r} is not a {type.value.replace('_', ' ')}",
            field="value",
        )
    return sender.value


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
