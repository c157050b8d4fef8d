"""Joining the parts of a long message an SMPP client sent as UDH or SAR segments.

Parts are keyed by (SMPP user, source, destination, reference, part count): the reference
alone repeats (it is one octet in an 8-bit UDH) and is only unique per sender and recipient.
A part that arrives for a slot already filled starts a new message: the client reused the
reference, and the old, incomplete one is abandoned. Nothing waits forever: a message whose
parts do not all arrive within ``timeout`` seconds is dropped by :meth:`Reassembler.expire`,
and at most ``max_pending`` messages are held at once, so a client cannot make us buffer
without bound.

The joined message's id is allocated when its first part arrives, so every part's
submit_sm_resp can carry its own id derived from it, ``<message_id>-<n>``
(``store/smpp_parts.py``; see ``gateway/smpp_server.py`` for who is answered when).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smsrelay.gateway.smpp_convert import Part
from smsrelay.smpp.pdu import Pdu

__all__ = ["Abandoned", "Added", "Reassembler"]

Key = tuple[str, str, str, int, int]


@dataclass(slots=True)
class _Pending:
    message_id: str
    total: int
    deadline: float
    parts: dict[int, bytes] = field(default_factory=dict)
    pdus: dict[int, Pdu] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Added:
    """The outcome of adding a part: the message id, the part's number and count, and the
    joined bytes once complete (with the PDU whose fields describe the message: part 1's)."""

    message_id: str
    seq: int
    total: int
    data: bytes | None
    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Abandoned:
    """A message whose parts never all arrived (or whose reference was reused): the
    numbers of the parts that did arrive, each acknowledged under its own id."""

    key: Key
    message_id: str
    pdu: Pdu
    seqs: tuple[int, ...]


class Reassembler:
    def __init__(self, timeout: float = 60.0, max_pending: int = 10_000) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self._pending: dict[Key, _Pending] = {}
        self.abandoned: list[Abandoned] = []

    def __len__(self) -> int:
        return len(self._pending)

    def has(self, key: Key) -> bool:
        return key in self._pending

    def add(
        self, key: Key, part: Part, pdu: Pdu, now: float, new_id: Callable[[], str]
    ) -> Added | None:
        """Add one part; None when too many messages are already waiting for parts."""
        pending = self._pending.get(key)
        if pending is not None and part.seq in pending.parts:
            self._abandon(key, pending)
            pending = None
        if pending is None:
            if len(self._pending) >= self.max_pending:
                return None
            pending = self._pending[key] = _Pending(new_id(), part.total, now + self.timeout)
        pending.parts[part.seq] = part.data
        pending.pdus[part.seq] = pdu
        if len(pending.parts) < pending.total:
            return Added(pending.message_id, part.seq, pending.total, None, pdu)
        del self._pending[key]
        data = b"".join(pending.parts[i] for i in range(1, pending.total + 1))
        return Added(pending.message_id, part.seq, pending.total, data, pending.pdus.get(1, pdu))

    def expire(self, now: float) -> list[Abandoned]:
        """Drop messages past their deadline; returns them and any abandoned by reuse."""
        for key, pending in list(self._pending.items()):
            if pending.deadline <= now:
                del self._pending[key]
                self._abandon(key, pending)
        out, self.abandoned = self.abandoned, []
        return out

    def _abandon(self, key: Key, pending: _Pending) -> None:
        first = pending.pdus.get(1) or next(iter(pending.pdus.values()))
        seqs = tuple(sorted(pending.parts))
        self.abandoned.append(Abandoned(key, pending.message_id, first, seqs))
