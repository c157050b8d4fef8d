"""Value types of a message's life: what the engine, store and connectors pass between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.registration import Registration
from smsrelay.domain.states import MessageStatus


class MessageKind(StrEnum):
    """What the message is for; it decides the default priority lane."""

    OTP = "otp"
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


LANES: dict[MessageKind, int] = {
    MessageKind.OTP: 2,
    MessageKind.TRANSACTIONAL: 1,
    MessageKind.MARKETING: 0,
}
"""Priority lanes: every OTP is claimed before any transactional message, and so on."""

DEFAULT_PRIORITY = 5


def queue_priority(kind: MessageKind, priority: int = DEFAULT_PRIORITY) -> int:
    """The stored priority: the kind's lane, then the request's priority 0..9 within it."""
    if not 0 <= priority <= 9:
        raise ValueError("priority must be between 0 and 9")
    return LANES[kind] * 10 + priority


def request_priority(stored: int) -> int:
    """The 0..9 priority the client asked for, from the stored queue priority."""
    return stored % 10


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class Message:
    """A persisted outbound message, as the store returns it."""

    id: str
    account_id: str
    to: str
    country: str | None
    sender: str | None
    body: str
    encoding: Encoding
    segments: int
    kind: MessageKind
    priority: int
    status: MessageStatus
    created_at: float
    updated_at: float
    not_before: float
    expires_at: float | None = None
    variant: str | None = None
    client_ref: str | None = None
    callback_url: str | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    connector: str | None = None
    carrier_ids: tuple[str, ...] = ()
    origin: str = "api"  # api | smpp: the surface that accepted it
    smpp_user_id: str | None = None  # the SMPP user whose bind submitted it
    receipt_requested: int = 0  # SMPP registered_delivery bits 1-0: 0 none, 1 final, 2 failure
    client_parts: int | None = None  # an SMPP client sent it as this many parts (stored apart)
    price_micros: int | None = None  # what its account's price list charged (domain/pricing.py)
    currency: str | None = None
    # (the requested sender, why the destination did not take it): stored apart
    sender_adapted: tuple[str, str] | None = None
    submitted_at: float | None = None  # when a carrier accepted its last attempt
    language: str | None = None  # GSM-7 with this national language's shift tables (TS 23.038)
    registration: Registration | None = None  # DLT ids it carries (stored apart)


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One entry of a message's status history."""

    message_id: str
    status: MessageStatus
    at: float
    error_code: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What a connector needs to submit one message to a carrier."""

    message_id: str
    to: str
    body: str
    encoding: Encoding
    segments: int
    sender: str | None = None
    kind: MessageKind = MessageKind.TRANSACTIONAL
    attempt: int = 1
    expires_at: float | None = None
    language: str | None = None  # GSM-7 national language counted at accept (Message.language)
    registration: Registration | None = None  # DLT ids for the carrier (domain/registration.py)


class ReceiptStatus(StrEnum):
    """Outcome a carrier reports in a delivery receipt, mapped onto message statuses."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    ACCEPTED = "accepted"  # intermediate: the carrier has it, no final word yet
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A carrier's receipt for one submitted segment, identified by the carrier's id."""

    connector: str
    carrier_id: str
    status: ReceiptStatus
    at: float
    error: str | None = None
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A mobile-originated message a carrier delivered to one of our numbers.

    Concatenated parts are joined by the connector before it hands the message on.
    """

    connector: str
    sender: str  # the phone that wrote, as the carrier gave it (normalised to E.164 if it can be)
    to: str  # our number, short code or service address
    body: str
    received_at: float
    carrier_id: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """Result of one submit: the carrier ids of every segment, or the catalogue error."""

    carrier_ids: tuple[str, ...] = ()
    error: ErrorCode | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
