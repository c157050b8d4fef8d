"""Cut a TCP byte stream into whole PDUs by their command_length (§3.2).

Framing answers one of three things, as smppex's ``Protocol.parse`` does: *need more bytes*,
*one PDU plus the rest*, or *error*. The error case is decided from the first four octets
alone, so a peer announcing a 2 GiB PDU is refused before we buffer any of it (h11's
``max_incomplete_event_size`` plays the same role).

:func:`frame_length` is the allocation-free primitive the session uses on its buffer;
:func:`split_frame` is the same decision as a value, for callers and tests that hold bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .constants import CommandStatus
from .errors import RemoteProtocolError

__all__ = [
    "DEFAULT_MAX_PDU_SIZE",
    "HEADER_SIZE",
    "NEED_MORE",
    "Frame",
    "FramingError",
    "NeedMore",
    "frame_length",
    "split_frame",
]

HEADER_SIZE = 16
#: Largest PDU accepted by default. A submit_sm with a full message_payload TLV fits.
DEFAULT_MAX_PDU_SIZE = 64 * 1024

_U32 = struct.Struct(">I")
_HEADER_TAIL = struct.Struct(">II")


class FramingError(RemoteProtocolError):
    """command_length outside 16..max: the stream cannot be resynchronised; close it.

    ``command_id`` and ``sequence_number`` are filled in when the header was already
    buffered, so a generic_nack can still echo the sequence number.
    """

    def __init__(self, message: str, command_id: int = 0, sequence_number: int = 0) -> None:
        super().__init__(message, CommandStatus.ESME_RINVCMDLEN)
        self.command_id = command_id
        self.sequence_number = sequence_number


class NeedMore:
    """Marker: the buffer does not yet hold a whole PDU."""

    def __repr__(self) -> str:
        return "NEED_MORE"


NEED_MORE = NeedMore()


@dataclass(frozen=True, slots=True)
class Frame:
    """One whole PDU's octets (header included) and whatever followed it."""

    pdu: bytes
    rest: bytes


def frame_length(buf: bytes | bytearray, pos: int, max_size: int) -> int:
    """Length of the whole PDU starting at ``buf[pos]``, or 0 if more bytes are needed.

    Raises :class:`FramingError` as soon as the four length octets are in and out of bounds.
    """
    available = len(buf) - pos
    if available < 4:
        return 0
    (length,) = _U32.unpack_from(buf, pos)
    if length < HEADER_SIZE or length > max_size:
        cid = seq = 0
        if available >= HEADER_SIZE:
            cid, _status = _HEADER_TAIL.unpack_from(buf, pos + 4)
            (seq,) = _U32.unpack_from(buf, pos + 12)
        raise FramingError(f"command_length {length} outside {HEADER_SIZE}..{max_size}", cid, seq)
    return length if available >= length else 0


def split_frame(data: bytes, max_size: int = DEFAULT_MAX_PDU_SIZE) -> NeedMore | Frame:
    """Return ``NEED_MORE`` or the first whole PDU plus the rest; raise FramingError."""
    length = frame_length(data, 0, max_size)
    if length == 0:
        return NEED_MORE
    return Frame(bytes(data[:length]), bytes(data[length:]))
