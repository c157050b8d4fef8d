"""The error catalogue: every error smsrelay can report, as one table.

Each entry carries its stable code (part of the public contract), a human message, the HTTP
status the REST API answers with, whether the failure is worth retrying, and the SMPP
command_status used when the same error is reported to an SMPP client. Code everywhere raises
or returns ``SmsError(ErrorCode.X, ...)``; nothing invents an error outside this table.

    code                    http retry smpp   meaning
    ----------------------- ---- ----- ------ -----------------------------------------------
    (see _CATALOGUE below: one row per ErrorCode)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable, public error codes."""

    # request shape
    INVALID_JSON = "invalid_json"
    VALIDATION_ERROR = "validation_error"
    BODY_TOO_LARGE = "body_too_large"
    BATCH_TOO_LARGE = "batch_too_large"
    # message content
    INVALID_NUMBER = "invalid_number"
    INVALID_SENDER = "invalid_sender"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long"
    SPINTAX_SYNTAX = "spintax_syntax"
    INVALID_CALLBACK_URL = "invalid_callback_url"
    INVALID_SCHEDULE = "invalid_schedule"
    RECIPIENT_OPTED_OUT = "recipient_opted_out"
    INVALID_ENCODING = "invalid_encoding"
    NATIONAL_LANGUAGE_UNSUPPORTED = "national_language_unsupported"
    TEMPLATE_NOT_MATCHED = "template_not_matched"
    # access
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    # state
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    NOT_CANCELABLE = "not_cancelable"
    ALREADY_EXISTS = "already_exists"
    IN_USE = "in_use"
    # delivery (reported on messages and webhooks)
    NO_ROUTE = "no_route"
    CARRIER_THROTTLED = "carrier_throttled"
    CARRIER_QUEUE_FULL = "carrier_queue_full"
    CARRIER_TIMEOUT = "carrier_timeout"
    CARRIER_UNAVAILABLE = "carrier_unavailable"
    CARRIER_SYSTEM_ERROR = "carrier_system_error"
    CARRIER_AUTH_FAILED = "carrier_auth_failed"
    INVALID_DESTINATION = "invalid_destination"
    CARRIER_REJECTED = "carrier_rejected"
    CARRIER_UNDELIVERED = "carrier_undelivered"
    CARRIER_EXPIRED = "carrier_expired"
    VALIDITY_EXPIRED = "validity_expired"
    RETRIES_EXHAUSTED = "retries_exhausted"
    DLR_TIMEOUT = "dlr_timeout"
    # verifications (one-time codes) and the fraud guard
    FRAUD_SUSPECTED = "fraud_suspected"
    VERIFICATION_RATE_LIMITED = "verification_rate_limited"
    VERIFICATION_NOT_FOUND = "verification_not_found"
    VERIFICATION_CLOSED = "verification_closed"
    # ours
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One row of the catalogue."""

    code: ErrorCode
    message: str
    http_status: int
    retryable: bool
    smpp_status: int


# SMPP 3.4 §5.1.3 command_status values used below.
_ESME_RINVMSGLEN = 0x01
_ESME_RSYSERR = 0x08
_ESME_RINVSRCADR = 0x0A
_ESME_RINVDSTADR = 0x0B
_ESME_RBINDFAIL = 0x0D
_ESME_RINVPASWD = 0x0E
_ESME_RMSGQFUL = 0x14
_ESME_RINVMSGID = 0x0C
_ESME_RCANCELFAIL = 0x11
_ESME_RSUBMITFAIL = 0x45
_ESME_RTHROTTLED = 0x58
_ESME_RINVSCHED = 0x61
_ESME_RX_R_APPN = 0x65
_ESME_RUNKNOWNERR = 0xFF

_CATALOGUE: dict[ErrorCode, tuple[str, int, bool, int]] = {
    ErrorCode.INVALID_JSON: ("The request body is not valid JSON.", 400, False, _ESME_RSYSERR),
    ErrorCode.VALIDATION_ERROR: (
        "A field is missing or has the wrong type.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.BODY_TOO_LARGE: ("The request body is too large.", 413, False, _ESME_RINVMSGLEN),
    ErrorCode.BATCH_TOO_LARGE: (
        "A batch holds at most 1000 messages.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.INVALID_NUMBER: (
        "The destination is not a valid phone number.",
        422,
        False,
        _ESME_RINVDSTADR,
    ),
    ErrorCode.INVALID_SENDER: (
        "The sender is not a valid phone number, short code or alphanumeric sender ID.",
        422,
        False,
        _ESME_RINVSRCADR,
    ),
    ErrorCode.SENDER_NOT_ALLOWED: (
        "The destination does not allow this sender, and no sender of the pool fits.",
        422,
        False,
        _ESME_RINVSRCADR,
    ),
    ErrorCode.EMPTY_MESSAGE: ("The message text is empty.", 422, False, _ESME_RINVMSGLEN),
    ErrorCode.MESSAGE_TOO_LONG: (
        "The message needs more segments than allowed.",
        422,
        False,
        _ESME_RINVMSGLEN,
    ),
    ErrorCode.SPINTAX_SYNTAX: ("The spintax template is malformed.", 422, False, _ESME_RSUBMITFAIL),
    ErrorCode.INVALID_CALLBACK_URL: (
        "The callback URL must be an http or https URL.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.INVALID_SCHEDULE: ("send_at or validity is not usable.", 422, False, _ESME_RINVSCHED),
    ErrorCode.INVALID_ENCODING: (
        "The text cannot be sent in the encoding asked for.",
        400,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.NATIONAL_LANGUAGE_UNSUPPORTED: (
        "No route to this destination sends GSM-7 with that national language's tables.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.TEMPLATE_NOT_MATCHED: (
        "The text matches none of the account's registered content templates.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.RECIPIENT_OPTED_OUT: (
        "The recipient has opted out of messages from this account.",
        422,
        False,
        _ESME_RX_R_APPN,
    ),
    ErrorCode.UNAUTHORIZED: (
        "A valid API key is required (Authorization: Bearer <key>).",
        401,
        False,
        _ESME_RINVPASWD,
    ),
    ErrorCode.FORBIDDEN: (
        "This API key lacks the scope for this operation.",
        403,
        False,
        _ESME_RBINDFAIL,
    ),
    ErrorCode.NOT_FOUND: ("No such resource.", 404, False, _ESME_RINVMSGID),
    ErrorCode.RATE_LIMITED: (
        "Too many requests; retry after the time given.",
        429,
        True,
        _ESME_RTHROTTLED,
    ),
    # not retryable as it is: the balance needs a credit first. SMPP: ESME_RSUBMITFAIL, a
    # definite refusal (ESME_RTHROTTLED would make clients retry the same submit at once)
    ErrorCode.INSUFFICIENT_BALANCE: (
        "The account's balance cannot cover this send; nothing was queued.",
        402,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.IDEMPOTENCY_CONFLICT: (
        "This Idempotency-Key was already used with a different request body.",
        409,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.NOT_CANCELABLE: (
        "The message can no longer be canceled.",
        409,
        False,
        _ESME_RCANCELFAIL,
    ),
    ErrorCode.ALREADY_EXISTS: (
        "A resource with this name already exists.",
        409,
        False,
        _ESME_RSYSERR,
    ),
    ErrorCode.IN_USE: ("The resource is in use and cannot be removed.", 409, False, _ESME_RSYSERR),
    ErrorCode.NO_ROUTE: (
        "No route or connector can carry this message.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.CARRIER_THROTTLED: (
        "The carrier asked us to slow down.",
        503,
        True,
        _ESME_RTHROTTLED,
    ),
    ErrorCode.CARRIER_QUEUE_FULL: ("The carrier's queue is full.", 503, True, _ESME_RMSGQFUL),
    ErrorCode.CARRIER_TIMEOUT: ("The carrier did not answer in time.", 504, True, _ESME_RSYSERR),
    ErrorCode.CARRIER_UNAVAILABLE: ("The carrier connection is down.", 503, True, _ESME_RSYSERR),
    ErrorCode.CARRIER_SYSTEM_ERROR: (
        "The carrier reported a system error.",
        502,
        True,
        _ESME_RSYSERR,
    ),
    ErrorCode.CARRIER_AUTH_FAILED: (
        "The provider refused our credentials.",
        502,
        True,
        _ESME_RSYSERR,
    ),
    ErrorCode.INVALID_DESTINATION: (
        "The carrier refused the destination number.",
        422,
        False,
        _ESME_RINVDSTADR,
    ),
    ErrorCode.CARRIER_REJECTED: (
        "The carrier rejected the message.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.CARRIER_UNDELIVERED: (
        "The carrier could not deliver the message to the handset.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.CARRIER_EXPIRED: (
        "The message expired at the carrier before the handset took it.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.VALIDITY_EXPIRED: (
        "The message's validity passed before it could be sent.",
        422,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.RETRIES_EXHAUSTED: ("Every delivery attempt failed.", 502, False, _ESME_RSUBMITFAIL),
    ErrorCode.DLR_TIMEOUT: ("No delivery report arrived in time.", 504, False, _ESME_RUNKNOWNERR),
    ErrorCode.FRAUD_SUSPECTED: (
        "Refused by the fraud guard.",
        403,
        False,
        _ESME_RX_R_APPN,
    ),
    ErrorCode.VERIFICATION_RATE_LIMITED: (
        "Too many codes sent or checked; retry after the time given.",
        429,
        True,
        _ESME_RTHROTTLED,
    ),
    ErrorCode.VERIFICATION_NOT_FOUND: ("No such verification.", 404, False, _ESME_RINVMSGID),
    ErrorCode.VERIFICATION_CLOSED: (
        "The verification is no longer pending.",
        409,
        False,
        _ESME_RSUBMITFAIL,
    ),
    ErrorCode.UNAVAILABLE: (
        "Not accepted: storage is unavailable right now. Retry with the same Idempotency-Key.",
        503,
        True,
        _ESME_RSYSERR,
    ),
    ErrorCode.INTERNAL_ERROR: ("An internal error occurred.", 500, True, _ESME_RSYSERR),
}

CATALOGUE: dict[ErrorCode, ErrorSpec] = {
    code: ErrorSpec(code, *row) for code, row in _CATALOGUE.items()
}


def spec(code: ErrorCode) -> ErrorSpec:
    """The catalogue row for ``code``."""
    return CATALOGUE[code]


class SmsError(Exception):
    """An error from the catalogue, with optional detail and the offending field.

    ``detail`` replaces the catalogue's generic message when given (for example the position of
    an unbalanced spintax brace); ``field`` names the request field at fault.
    """

    def __init__(
        self,
        code: ErrorCode,
        detail: str | None = None,
        *,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.spec = CATALOGUE[code]
        self.detail = detail or self.spec.message
        self.field = field
        self.retry_after = retry_after
        super().__init__(f"{code}: {self.detail}")

    @property
    def retryable(self) -> bool:
        return self.spec.retryable

    @property
    def http_status(self) -> int:
        return self.spec.http_status

    def to_dict(self) -> dict[str, str]:
        """The public JSON shape: ``{"code", "message", "field"?}``."""
        body = {"code": str(self.code), "message": self.detail}
        if self.field:
            body["field"] = self.field
        return body
