"""Events a :class:`~smsrelay.smpp.session.Session` hands to its owner (h11's ``_events``).

The session never calls back into its owner: it returns these values from ``next_event()``
and ``tick(now)``, and the owner (transport, client or server role, or a test) decides what
to do. ``context`` is whatever opaque object the owner passed to ``Session.send`` with the
request, typically the future its caller is awaiting.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RemoteProtocolError
from .pdu import Pdu

__all__ = [
    "NEED_DATA",
    "ConnectionClosed",
    "Event",
    "LinkDead",
    "NeedData",
    "PduReceived",
    "ProtocolViolation",
    "ResponseInvalid",
    "ResponseReceived",
    "ResponseTimedOut",
    "SessionExpired",
    "UnbindReceived",
]


class NeedData:
    """``next_event()`` has nothing to return until more bytes arrive."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True, slots=True)
class PduReceived:
    """A request from the peer that the owner must answer (bind, submit_sm, deliver_sm, ...).

    enquire_link and unbind never arrive this way: the session answers them itself.
    """

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response (or generic_nack) to a request we sent; ``request`` is that request."""

    pdu: Pdu
    request: Pdu
    context: object


@dataclass(frozen=True, slots=True)
class ResponseTimedOut:
    """A request we sent was not answered within its response timeout."""

    request: Pdu
    context: object
    timeout: float


@dataclass(frozen=True, slots=True)
class LinkDead:
    """An enquire_link the session sent was not answered: the link is presumed dead."""


@dataclass(frozen=True, slots=True)
class SessionExpired:
    """The session-init timer (never bound) or the inactivity timer fired; ``timer`` says which."""

    timer: str


@dataclass(frozen=True, slots=True)
class UnbindReceived:
    """The peer sent unbind; the session has queued unbind_resp and stops taking requests."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseInvalid:
    """The peer answered a request we sent with a malformed or mismatched response."""

    request: Pdu
    context: object
    error: RemoteProtocolError


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke the protocol. ``fatal``: the stream is unusable; close the connection.

    Non-fatal violations have already been answered (generic_nack or an error response).
    """

    error: RemoteProtocolError
    fatal: bool


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection, or the session was closed after a fatal error."""


Event = (
    PduReceived
    | ResponseReceived
    | ResponseTimedOut
    | ResponseInvalid
    | LinkDead
    | SessionExpired
    | UnbindReceived
    | ProtocolViolation
    | ConnectionClosed
)
