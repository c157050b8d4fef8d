"""Message statuses and the one table of allowed transitions.

Every status change anywhere in smsrelay goes through :func:`transition`, so the life of a
message is exactly this table (DESIGN.md, "One message's life")::

    scheduled ─┐
    queued ────┴► sending ─► sent ─► delivered | undelivered | expired | rejected
       ▲            │          └──► unknown (no receipt within dlr_timeout; a late one still lands)
       └── retry ───┤
                    └──► failed    (permanent error, retries exhausted)
    queued | scheduled ─► canceled | expired (validity passed before sending)
"""

from __future__ import annotations

from enum import StrEnum

from smsrelay.domain.errors import ErrorCode, SmsError


class MessageStatus(StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    FAILED = "failed"
    CANCELED = "canceled"


S = MessageStatus

_RECEIPT_OUTCOMES = frozenset({S.DELIVERED, S.UNDELIVERED, S.EXPIRED, S.REJECTED})

TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    S.SCHEDULED: frozenset({S.SENDING, S.CANCELED, S.EXPIRED, S.FAILED, S.QUEUED}),
    S.QUEUED: frozenset({S.SENDING, S.CANCELED, S.EXPIRED, S.FAILED}),
    # sending → queued is a retry or a returned lease; → delivered etc. when a receipt
    # overtakes the recording of the submit outcome.
    S.SENDING: frozenset({S.SENT, S.QUEUED, S.FAILED, S.EXPIRED} | _RECEIPT_OUTCOMES),
    S.SENT: _RECEIPT_OUTCOMES | {S.UNKNOWN},
    S.UNKNOWN: _RECEIPT_OUTCOMES,
    S.DELIVERED: frozenset(),
    S.UNDELIVERED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}

FINAL: frozenset[MessageStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
"""Statuses nothing leaves. ``unknown`` is not among them: a late receipt still settles it."""

SETTLED: frozenset[MessageStatus] = FINAL | {S.UNKNOWN}
"""Statuses after which no more work is scheduled for the message."""

CANCELABLE: frozenset[MessageStatus] = frozenset(
    s for s, nxt in TRANSITIONS.items() if S.CANCELED in nxt
)

PENDING: frozenset[MessageStatus] = frozenset({S.SCHEDULED, S.QUEUED, S.SENDING})
"""Statuses before the carrier has accepted the message."""


class InvalidTransition(SmsError):
    """A status change the table does not allow."""

    def __init__(self, current: MessageStatus, new: MessageStatus) -> None:
        code = ErrorCode.NOT_CANCELABLE if new is S.CANCELED else ErrorCode.INTERNAL_ERROR
        super().__init__(code, f"message status cannot change from {current} to {new}")
        self.current = current
        self.new = new


def can_transition(current: MessageStatus, new: MessageStatus) -> bool:
    """Whether the table allows ``current`` → ``new``."""
    return new in TRANSITIONS[current]


def transition(current: MessageStatus, new: MessageStatus) -> MessageStatus:
    """Return ``new`` when the table allows the change, else raise :class:`InvalidTransition`."""
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(current, new)
    return new


def allowed_sources(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which ``new`` may be reached: what a guarded SQL UPDATE filters on."""
    return frozenset(s for s, nxt in TRANSITIONS.items() if new in nxt)
