"""One-time codes: how they are made, worded, hashed, sealed, and how a check changes state.

Pure: the random source, the keys and ``now`` are arguments. ``engine/verify.py`` does the
I/O. The rules, after Twilio Verify: codes of 4-10 digits (6 by default), valid 10 minutes, at
most 5 checks and 5 sends per verification; a new send replaces the code.

Where the code lives (the code travels only in the SMS):

* the verification row keeps ``hash_code(...)``: HMAC-SHA256 under a server key, over the
  verification id and the code, compared in constant time (:func:`code_matches`);
* the message row keeps the text with the code masked (:func:`render` gives both texts);
* the real text is kept sealed (AES-256-GCM under another server key, :func:`seal`) next to
  the verification until the verification ends, and opened only by the dispatcher when it
  hands the message to its connector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from smsrelay.domain.errors import ErrorCode, SmsError

DEFAULT_CODE_LENGTH = 6
MIN_CODE_LENGTH = 4
MAX_CODE_LENGTH = 10
DEFAULT_TTL = 600.0
MIN_TTL = 60.0
MAX_TTL = 86400.0
MAX_CHECKS = 5
MAX_SENDS = 5
MAX_APP_NAME = 40


class VerificationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    CANCELED = "canceled"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"


FINAL = frozenset(s for s in VerificationStatus if s is not VerificationStatus.PENDING)

# {app} is the account's or the request's app name, {code} the code
TEMPLATES: dict[str, str] = {
    "en": "Your {app} verification code is: {code}",
    "de": "Ihr {app} Bestätigungscode lautet: {code}",
    "fr": "Votre code de vérification {app} est : {code}",
    "es": "Tu código de verificación de {app} es: {code}",
    "pt": "O seu código de verificação {app} é: {code}",
    "it": "Il tuo codice di verifica {app} è: {code}",
    "nl": "Je {app} verificatiecode is: {code}",
}
DEFAULT_LOCALE = "en"

_APP_HASH = re.compile(r"^[A-Za-z0-9+/]{11}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def locale_of(requested: str | None) -> str:
    """The template language for ``requested`` (``pt-BR`` → ``pt``); unknown ones refused."""
    if requested is None:
        return DEFAULT_LOCALE
    language = requested.strip().replace("_", "-").split("-")[0].lower()
    if language not in TEMPLATES:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"locale must be one of {', '.join(sorted(TEMPLATES))}",
            field="locale",
        )
    return language


def code_length_of(requested: int | None) -> int:
    length = DEFAULT_CODE_LENGTH if requested is None else requested
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"code_length must be between {MIN_CODE_LENGTH} and {MAX_CODE_LENGTH}",
            field="code_length",
        )
    return length


def new_code(length: int, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A code of ``length`` digits, leading zeros kept; ``secrets`` unless a test says."""
    return str(randbelow(10**length)).zfill(length)


@dataclass(frozen=True, slots=True)
class AppLinks:
    """What lets the phone fill the code in by itself, when the caller asks for it.

    ``web_domain``: the WebOTP line ``@domain #code`` (the browser offers the code to that
    site). ``app_hash``: the 11-character hash of an Android app (SMS Retriever API).
    """

    web_domain: str | None = None
    app_hash: str | None = None

    def __post_init__(self) -> None:
        if self.web_domain is not None and not _DOMAIN.match(self.web_domain):
            raise SmsError(
                ErrorCode.VALIDATION_ERROR, "web_domain is not a host name", field="web_domain"
            )
        if self.app_hash is not None and not _APP_HASH.match(self.app_hash):
            raise SmsError(
                ErrorCode.VALIDATION_ERROR,
                "app_hash must be the 11 characters of the SMS Retriever app hash",
                field="app_hash",
            )


def check_app_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_APP_NAME or any(c in name for c in "\r\n{}"):
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"app_name must be 1-{MAX_APP_NAME} characters on one line, without braces",
            field="app_name",
        )
    return name


def _text(locale: str, app_name: str, code: str, links: AppLinks) -> str:
    text = TEMPLATES[locale].format(app=app_name, code=code)
    # SMS Retriever finds the hash anywhere; WebOTP wants its line last
    if links.app_hash:
        text += f"\n\n{links.app_hash}"
    if links.web_domain:
        text += f"\n\n@{links.web_domain} #{code}"
    return text


def render(locale: str, app_name: str, code: str, links: AppLinks) -> tuple[str, str]:
    """The SMS text and the same text with the code masked (what the message row shows).

    Both have the same length and alphabet (digits and ``*`` are both GSM-7), so the stored
    message counts the segments the carrier gets.
    """
    return _text(locale, app_name, code, links), _text(locale, app_name, "*" * len(code), links)


# -- keys, hashes, seals ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyKeys:
    """The two keys derived from the server secret: one hashes codes, one seals texts."""

    hash_key: bytes
    seal_key: bytes

    @classmethod
    def derive(cls, secret: bytes) -> VerifyKeys:
        if len(secret) < 32:
            raise ValueError("the verify secret must be at least 32 bytes")
        return cls(
            hmac.new(secret, b"smsrelay verify code hash v1", hashlib.sha256).digest(),
            hmac.new(secret, b"smsrelay verify text seal v1", hashlib.sha256).digest(),
        )


def hash_code(key: bytes, verification_id: str, code: str) -> str:
    """HMAC-SHA256 of ``id:code``: equal codes of two verifications hash apart."""
    return hmac.new(key, f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(key: bytes, verification_id: str, code: str, stored_hash: str) -> bool:
    """Whether ``code`` is the verification's code, in time independent of where they differ."""
    return hmac.compare_digest(hash_code(key, verification_id, code), stored_hash)


_SEAL_VERSION = "v1."


def seal(key: bytes, text: str, message_id: str) -> str:
    """AES-256-GCM of ``text``, bound to ``message_id`` (a seal moved to another message does
    not open); ``v1.`` + urlsafe base64 of nonce and ciphertext."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), message_id.encode())
    return _SEAL_VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, sealed: str, message_id: str) -> str | None:
    """The text :func:`seal` sealed for ``message_id``; None when it does not open."""
    if not sealed.startswith(_SEAL_VERSION):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_SEAL_VERSION) :])
        return AESGCM(key).decrypt(raw[:12], raw[12:], message_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None


# -- state rules -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationState:
    """What the rules read of a verification."""

    status: VerificationStatus
    checks: int
    sends: int
    expires_at: float
    max_checks: int = MAX_CHECKS
    max_sends: int = MAX_SENDS

    def status_at(self, now: float) -> VerificationStatus:
        """A pending verification past its expiry is expired, stored or not yet."""
        if self.status is VerificationStatus.PENDING and now >= self.expires_at:
            return VerificationStatus.EXPIRED
        return self.status

    @property
    def attempts_left(self) -> int:
        return max(0, self.max_checks - self.checks)


@dataclass(frozen=True, slots=True)
class CheckDecision:
    status: VerificationStatus
    checks: int  # the stored count after this check
    attempts_left: int
    changed: bool  # a write is needed (a check counted, or a status changed)


def decide_check(state: VerificationState, matches: bool, now: float) -> CheckDecision:
    """What one check does.

    A closed verification answers its status and counts nothing, except one that ran out of
    checks: further checks are refused (``verification_rate_limited``). On a pending one,
    the right code approves; a wrong one counts, and the last allowed wrong code answers
    ``max_attempts_reached``.
    """
    status = state.status_at(now)
    if status is VerificationStatus.MAX_ATTEMPTS_REACHED:
        raise SmsError(
            ErrorCode.VERIFICATION_RATE_LIMITED,
            f"This verification had its {state.max_checks} checks; start a new one.",
        )
    if status is not VerificationStatus.PENDING:
        changed = status is not state.status  # expired now: store it
        return CheckDecision(status, state.checks, state.attempts_left, changed)
    checks = state.checks + 1
    if matches:
        return CheckDecision(VerificationStatus.APPROVED, checks, state.max_checks - checks, True)
    left = state.max_checks - checks
    if left <= 0:
        return CheckDecision(VerificationStatus.MAX_ATTEMPTS_REACHED, checks, 0, True)
    return CheckDecision(VerificationStatus.PENDING, checks, left, True)


def check_resend(state: VerificationState, now: float) -> None:
    """Raise unless a new code may be sent: the verification is pending and has sends left."""
    status = state.status_at(now)
    if status is not VerificationStatus.PENDING:
        raise SmsError(ErrorCode.VERIFICATION_CLOSED, f"The verification is {status}.")
    if state.sends >= state.max_sends:
        raise SmsError(
            ErrorCode.VERIFICATION_RATE_LIMITED,
            f"This verification had its {state.max_sends} sends; start a new one.",
        )


def check_cancel(state: VerificationState, now: float) -> None:
    status = state.status_at(now)
    if status is not VerificationStatus.PENDING:
        raise SmsError(ErrorCode.VERIFICATION_CLOSED, f"The verification is {status}.")
