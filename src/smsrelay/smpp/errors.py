"""Every exception the SMPP stack raises, in one place.

::

    SmppError
    ├── ProtocolError                  carries command_status: the status to answer with
    │   ├── LocalProtocolError         our caller misused the API (bad field, wrong state)
    │   │   └── WindowFull             no free slot in the request window (submit_nowait)
    │   └── RemoteProtocolError        the peer sent something invalid
    │       └── PduDecodeError         a frame whose body would not decode; keeps the header
    ├── SessionClosed                  the session is closed; outstanding requests fail with it
    │   └── ConnectionLost             ...because the socket dropped or the link went dead
    ├── ResponseTimeout                no response to one request within the response timeout
    └── BindError                      the peer answered our bind with a non-zero status

The split between local and remote follows h11: a remote violation is answered on the wire
(generic_nack, an error response, or closing the connection) and never crashes the session;
a local one is a bug in the caller and is raised to it.
"""

from __future__ import annotations

from .constants import CommandStatus, status_name

__all__ = [
    "BindError",
    "ConnectionLost",
    "LocalProtocolError",
    "PduDecodeError",
    "ProtocolError",
    "RemoteProtocolError",
    "ResponseTimeout",
    "SessionClosed",
    "SmppError",
    "WindowFull",
]


class SmppError(Exception):
    """Base of all SMPP stack errors."""


class ProtocolError(SmppError):
    """A protocol violation; ``command_status`` is the §5.1.3 status to report it with."""

    def __init__(self, message: str, command_status: int = CommandStatus.ESME_RSYSERR) -> None:
        super().__init__(message)
        self.command_status = command_status


class LocalProtocolError(ProtocolError):
    """Our side tried something the protocol forbids (e.g. submit_sm before bind)."""


class WindowFull(LocalProtocolError):
    """The window of outstanding requests is full; wait for a response and retry."""

    def __init__(self, window: int) -> None:
        super().__init__(
            f"window of {window} outstanding requests is full", CommandStatus.ESME_RMSGQFUL
        )
        self.window = window


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes or a PDU the protocol forbids."""


class PduDecodeError(RemoteProtocolError):
    """A complete frame whose body is malformed.

    The header survived, so the session can still answer with the right sequence number
    (smppex does the same): ``command_id`` and ``sequence_number`` are the frame's own.
    """

    def __init__(
        self, message: str, command_status: int, command_id: int, sequence_number: int
    ) -> None:
        super().__init__(message, command_status)
        self.command_id = command_id
        self.sequence_number = sequence_number


class SessionClosed(SmppError):
    """The session is closed (unbound, closed by us, or lost); the request was not answered."""


class ConnectionLost(SessionClosed):
    """The connection dropped or the link was declared dead with requests outstanding.

    Requests that fail with this may or may not have reached the peer; callers that need
    at-least-once delivery resubmit them on a new session.
    """


class ResponseTimeout(SmppError):
    """No response arrived within the response timeout (the request may still be processed)."""

    def __init__(self, command_id: int, sequence_number: int, timeout: float) -> None:
        super().__init__(
            f"no response to command 0x{command_id:08x} seq={sequence_number} in {timeout:g}s"
        )
        self.command_id = command_id
        self.sequence_number = sequence_number


class BindError(SmppError):
    """The MC rejected our bind; ``command_status`` says why (e.g. ESME_RINVPASWD)."""

    def __init__(self, command_status: int) -> None:
        super().__init__(f"bind rejected: {status_name(command_status)}")
        self.command_status = command_status
