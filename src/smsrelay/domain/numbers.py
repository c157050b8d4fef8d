"""Phone numbers and sender ids: turn what a client typed into E.164 or a clear refusal.

The accept pipeline calls :func:`parse_number` on every ``to`` and :func:`parse_sender` on every
``from``. Both raise :class:`~smsrelay.domain.errors.SmsError` (``invalid_number`` on field
``to``, ``invalid_sender`` on field ``from``) with a detail that says what is wrong, because
"invalid number" alone sends a developer guessing.

Two levels of checking, because the two kinds of mistake cost differently:

* lenient (default): the number must look like E.164 — digits with an optional leading ``+``
  and common separators, a country calling code that exists, at least 4 digits after it and
  at most 15 in all (ITU-T E.164 §6.1). Numbering plans change faster than library releases,
  and test numbers such as the public example ``+1234567890`` are not valid anywhere, so
  refusing them would break a developer's first call for no gain; the carrier has the last
  word.
* strict: ``phonenumbers.is_valid_number`` must also hold (the number matches a real range of
  its country's plan), for accounts that would rather refuse than pay for a doomed submit.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from smsrelay.domain.errors import ErrorCode, SmsError

__all__ = ["PhoneNumber", "Sender", "SenderKind", "parse_number", "parse_sender"]

MIN_NATIONAL_DIGITS = 4
MAX_E164_DIGITS = 15  # country code included (E.164 §6.1)

# Digits, an optional leading '+', and the separators people paste: spaces, dashes, dots and
# parentheses. Anything else (letters, vanity numbers, extensions) is refused before
# phonenumbers gets a chance to reinterpret it.
_NUMBER_SHAPE = re.compile(r"\+?[0-9 ().\-]+")

_TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
"""phonenumbers' number types as our stable names; UNKNOWN has no entry (→ None)."""

_PARSE_ERRORS: dict[int, str] = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

_STRICT_REASONS: dict[int, str] = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short for its country",
    ValidationResult.TOO_LONG: "too long for its country",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short for its country (no area code?)",
    ValidationResult.INVALID_LENGTH: "wrong length for its country",
}
"""Why a strictly checked number failed; a possible-but-unassigned number is not listed."""

_NOT_A_COUNTRY = frozenset({phonenumbers.UNKNOWN_REGION, "001"})  # "001": non-geographic


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A destination in E.164 (``+`` and digits only) with what phonenumbers could tell.

    ``country`` is the ISO 3166 region (``"DE"``), or None when the calling code is shared
    (NANP ``+1``) and the number matches no region, or for non-geographic codes (``+800``).
    ``number_type`` is one of ``mobile``, ``fixed_line``, ``fixed_line_or_mobile``,
    ``toll_free``, ``premium_rate``, ``shared_cost``, ``voip``, ``personal_number``, ``pager``,
    ``uan``, ``voicemail``, or None when unknown.
    """

    e164: str
    country: str | None
    number_type: str | None


def _shown(raw: str) -> str:
    """The input as quoted in an error detail, cut short: the detail goes back to the client
    and into logs, so it must not grow with whatever was posted."""
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


class _Refused(Exception):
    """Why a number was refused; the public functions turn it into their own SmsError."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def parse_number(
    raw: str, *, strict: bool = False, default_region: str | None = None
) -> PhoneNumber:
    """Parse ``raw`` into a :class:`PhoneNumber`, or raise ``SmsError(INVALID_NUMBER)``.

    Without a leading ``+`` the number needs a country: either a leading ``00`` (the
    international prefix of most of the world; used only when no ``default_region`` is given)
    or ``default_region`` (an ISO region such as ``"US"``, from the account's settings), in
    which case national formats like ``(415) 555-2671`` are read as that region's.
    ``default_region`` is configuration, not input: an unknown region raises ``ValueError``.

    The error's detail names the reason: not a number, missing country code, unknown country
    calling code, too short, too long, or (strict only) not valid for its country.
    """
    region = default_region.upper() if default_region else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default region {default_region!r}")
    try:
        return _parse_cached(raw, strict, region)
    except _Refused as exc:
        raise SmsError(
            ErrorCode.INVALID_NUMBER,
            f"{_shown(raw)} is not a valid phone number: {exc.why}",
            field="to",
        ) from None


@functools.lru_cache(maxsize=65_536)
def _parse_cached(raw: str, strict: bool, region: str | None) -> PhoneNumber:
    """Parsing costs tens of microseconds and bulk sends repeat numbers: remember results.

    Only successes are cached (an exception is never stored by ``lru_cache``); the value is
    frozen, so sharing it is safe.
    """
    return _parse(raw, strict=strict, region=region)


def _parse(raw: str, *, strict: bool, region: str | None) -> PhoneNumber:
    text = raw.strip()
    if not text or not _NUMBER_SHAPE.fullmatch(text) or not any(c.isdigit() for c in text):
        raise _Refused("not a number")
    if sum(c.isdigit() for c in text) > MAX_E164_DIGITS + 3:  # room for a prefix like "011"
        raise _Refused("too long")
    if not text.startswith("+"):
        if region is None and text.startswith("00"):
            text = "+" + text[2:]
        elif region is None:
            raise _Refused("missing country code (start with + or set a default region)")
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise _Refused(_PARSE_ERRORS.get(exc.error_type, "not a number")) from None
    code = parsed.country_code
    if code is None or not phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code):
        raise _Refused("unknown country calling code")
    valid = phonenumbers.is_valid_number(parsed)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    typed = "+" + "".join(c for c in text if c.isdigit())
    if text.startswith("+") and e164 != typed and not valid:
        # phonenumbers dropped a trunk prefix ("+44 (0)20 ...") but the result is no better;
        # keep the digits as typed so that normalising stays idempotent.
        e164 = typed
    if len(e164) - 1 - len(str(code)) < MIN_NATIONAL_DIGITS:
        raise _Refused("too short")
    if len(e164) - 1 > MAX_E164_DIGITS:
        raise _Refused("too long")
    country = phonenumbers.region_code_for_number(parsed)
    if strict and not valid:
        reason = phonenumbers.is_possible_number_with_reason(parsed)
        where = country if country and country not in _NOT_A_COUNTRY else f"+{code}"
        raise _Refused(f"{_STRICT_REASONS.get(reason, 'not valid for its country')} ({where})")
    return PhoneNumber(
        e164=e164,
        country=country if country and country not in _NOT_A_COUNTRY else None,
        number_type=_TYPE_NAMES.get(phonenumbers.number_type(parsed)),
    )


# ---------------------------------------------------------------------------------------------
# Senders


class SenderKind(StrEnum):
    """The three shapes of a ``from`` value; the SMPP layer maps them to TON/NPI."""

    ALPHANUMERIC = "alphanumeric"  # TON 5, NPI 0
    SHORT_CODE = "short_code"  # TON 3, NPI 0
    INTERNATIONAL = "international"  # TON 1, NPI 1


MAX_ALPHANUMERIC = 11  # 11 GSM characters fit the 10-octet TP-OA (3GPP TS 23.040 §9.1.2.5)

# Letters, digits, space and punctuation from the GSM 03.38 default table (no escape needed)
# that carriers and handsets reliably accept in an alphanumeric originator.
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 \-_.&!'+,:/()?#]+")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Sender:
    """A validated ``from``: ``value`` as sent to the carrier and its :class:`SenderKind`."""

    value: str
    kind: SenderKind


def parse_sender(raw: str) -> Sender:
    """Classify and validate a ``from`` value, or raise ``SmsError(INVALID_SENDER)``.

    * anything with a letter is an alphanumeric sender id: 1–11 characters of ASCII letters,
      digits, space and ``-_.&!'+,:/()?#`` (surrounding spaces are dropped);
    * 3–8 digits without ``+`` is a short code;
    * anything else must be a phone number with its country code, checked with the lenient
      rules of :func:`parse_number`; a bare run of 9–15 digits is read as E.164 without its
      ``+``. The value becomes the E.164 form.
    """
    try:
        return _classify(raw.strip())
    except _Refused as exc:
        raise SmsError(
            ErrorCode.INVALID_SENDER,
            f"{_shown(raw)} is not a valid sender: {exc.why}",
            field="from",
        ) from None


def _classify(text: str) -> Sender:
    if not text:
        raise _Refused("empty")
    if any(c.isalpha() for c in text):
        if not _ALPHANUMERIC.fullmatch(text):
            raise _Refused(
                "an alphanumeric sender id may only use A-Z, a-z, 0-9, space and -_.&!'+,:/()?#"
            )
        if len(text) > MAX_ALPHANUMERIC:
            raise _Refused(
                f"an alphanumeric sender id has at most {MAX_ALPHANUMERIC} "
                f"characters, this one has {len(text)}"
            )
        return Sender(text, SenderKind.ALPHANUMERIC)
    if _SHORT_CODE.fullmatch(text):
        return Sender(text, SenderKind.SHORT_CODE)
    if _DIGITS.fullmatch(text):
        if len(text) < 3:
            raise _Refused("too short for a short code (3-8 digits)")
        text = "+" + text
    if not text.startswith("+"):
        raise _Refused(
            "expected an alphanumeric sender id, a 3-8 digit short code or a phone "
            "number starting with +"
        )
    return Sender(_parse(text, strict=False, region=None).e164, SenderKind.INTERNATIONAL)
