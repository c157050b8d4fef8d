"""A sans-IO SMPP session: bytes in, events out, PDUs in, bytes out (h11's ``Connection``).

``Session(role)`` owns everything about one SMPP connection except the socket: the receive
buffer and framing (§3.2), sequence numbers (§3.2: 1..0x7FFFFFFF, wrapping), the window of
outstanding requests and their response deadlines, the bind state (§2.2, via
:mod:`.states`), and the automatic replies a peer is owed whatever the application does:

- enquire_link → enquire_link_resp (§4.11);
- unbind → unbind_resp (§4.2), then no more requests either way;
- an unknown command_id or a body that will not decode → generic_nack echoing the sequence
  number (§4.3); a request not allowed in the bind state → its response with
  ESME_RINVBNDSTS (or ESME_RALYBND for a second bind);
- a command_length outside 16..max_pdu_size → generic_nack, then the session is CLOSED
  without buffering the announced body.

Usage by an I/O shell (see :mod:`.transport`)::

    session.receive_data(chunk, now)          # b"" means EOF
    while (ev := session.next_event()) is not NEED_DATA: handle(ev)
    writer.write(session.data_to_send())      # automatic replies
    writer.write(session.send(pdu, now, ctx)) # our requests and responses
    for ev in session.tick(now): handle(ev)   # timers, periodically

Nothing a peer sends can make a method here raise: malformed input becomes a reply on the
wire plus a :class:`~.events.ProtocolViolation`. Misuse by the owner (sending submit_sm
before bind, overfilling the window) raises :class:`~.errors.LocalProtocolError`.
"""

from __future__ import annotations

from .codec import decode_pdu, encode_pdu
from .constants import RESPONSE_BIT, CommandId, CommandStatus, status_name
from .errors import (
    LocalProtocolError,
    PduDecodeError,
    RemoteProtocolError,
    SessionClosed,
    WindowFull,
)
from .events import (
    NEED_DATA,
    ConnectionClosed,
    Event,
    LinkDead,
    NeedData,
    PduReceived,
    ProtocolViolation,
    ResponseInvalid,
    ResponseReceived,
    ResponseTimedOut,
    SessionExpired,
    UnbindReceived,
)
from .framing import DEFAULT_MAX_PDU_SIZE, FramingError, frame_length
from .pdu import Pdu, generic_nack, response_to
from .states import BIND_STATE, Role, State, may_send, rejection_status
from .timers import LinkTimer, LinkTimers, Pending, PendingRequests

__all__ = ["MAX_SEQUENCE", "Session"]

#: §3.2: sequence numbers run 0x00000001..0x7FFFFFFF.
MAX_SEQUENCE = 0x7FFFFFFF

# Requests that do not take a window slot: keep-alive and teardown must always get through.
_UNWINDOWED = frozenset({CommandId.ENQUIRE_LINK, CommandId.UNBIND})
# Requests that have no response PDU (§4.1.7 outbind, §4.12 alert_notification).
_NO_RESPONSE = frozenset({CommandId.OUTBIND, CommandId.ALERT_NOTIFICATION})
_BIND_RESPONSES = {cid | RESPONSE_BIT: state for cid, state in BIND_STATE.items()}
_ENQUIRE_LINK_RESP = CommandId.ENQUIRE_LINK_RESP
_UNBIND = CommandId.UNBIND
_GENERIC_NACK = CommandId.GENERIC_NACK


class _Probe:
    """Context marking the session's own keep-alive enquire_link."""


_PROBE = _Probe()


class Session:
    """One SMPP session in ``role``, with no I/O. See the module docstring for the contract.

    Parameters:
        role: ``Role.ESME`` (we bind and submit) or ``Role.MC`` (we accept binds, deliver).
        window: most requests awaiting a response at once (enquire_link and unbind excluded).
        response_timeout: seconds a request may wait for its response (``tick`` enforces it).
        enquire_link_interval: probe a silent peer after this many seconds; ``None`` = never.
        inactivity_timeout: report a peer silent this long; ``None`` = never.
        session_init_timeout: report a connection not bound this long after opening.
        max_pdu_size: largest command_length accepted from the peer.
        now: the current time, which starts the session-init and keep-alive clocks.
    """

    def __init__(
        self,
        role: Role,
        *,
        window: int = 10,
        response_timeout: float = 10.0,
        enquire_link_interval: float | None = None,
        inactivity_timeout: float | None = None,
        session_init_timeout: float | None = None,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        now: float = 0.0,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.role = role
        self.window = window
        self.max_pdu_size = max_pdu_size
        self.state = State.OPEN
        self._peer = Role.ESME if role is Role.MC else Role.MC
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._out = bytearray()
        self._now = now
        self._next_seq = 1
        self._in_window = 0
        self._pending: PendingRequests[Pdu, object] = PendingRequests(response_timeout)
        self._timers = LinkTimers(
            now,
            enquire_link_interval=enquire_link_interval,
            inactivity_timeout=inactivity_timeout,
            session_init_timeout=session_init_timeout,
        )

    # ------------------------------------------------------------------ introspection

    @property
    def window_free(self) -> int:
        """How many more windowed requests may be sent now."""
        return self.window - self._in_window

    @property
    def outstanding(self) -> int:
        """Requests sent and not yet answered or timed out (all kinds)."""
        return len(self._pending)

    @property
    def response_timeout(self) -> float:
        return self._pending.timeout

    def next_deadline(self) -> float | None:
        """When ``tick`` next has work to do (``None``: no timer armed)."""
        a = self._pending.next_deadline()
        b = self._timers.next_deadline()
        if a is None:
            return b
        return a if b is None else min(a, b)

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes, now: float | None = None) -> None:
        """Feed bytes read from the peer; ``b""`` means the peer closed its side."""
        if now is not None:
            self._now = now
        if not data:
            self._eof = True
        elif self.state is not State.CLOSED:
            self._buf += data

    def next_event(self) -> Event | NeedData:
        """The next event from buffered input, or ``NEED_DATA``.

        Returns ``ConnectionClosed`` (repeatedly) once the session is closed or the peer's
        EOF has been reached with the buffer consumed.
        """
        while True:
            if self.state is State.CLOSED:
                return ConnectionClosed()
            buf = self._buf
            pos = self._pos
            try:
                length = frame_length(buf, pos, self.max_pdu_size)
            except FramingError as exc:
                self._queue(generic_nack(exc.sequence_number, exc.command_status))
                self.state = State.CLOSED
                return ProtocolViolation(exc, fatal=True)
            if length == 0:
                if pos:
                    del buf[:pos]
                    self._pos = 0
                if self._eof:
                    self.state = State.CLOSED
                    return ConnectionClosed()
                return NEED_DATA
            frame = bytes(buf[pos : pos + length])
            self._pos = pos + length
            self._timers.received(self._now)
            event = self._handle_frame(frame)
            if event is not None:
                return event

    def _handle_frame(self, frame: bytes) -> Event | None:
        try:
            pdu = decode_pdu(frame)
        except PduDecodeError as exc:
            return self._handle_undecodable(exc)
        if pdu.command_id & RESPONSE_BIT:
            return self._handle_response(pdu)
        return self._handle_request(pdu)

    def _handle_undecodable(self, exc: PduDecodeError) -> Event:
        cid = exc.command_id
        if cid & RESPONSE_BIT and exc.command_status != CommandStatus.ESME_RINVCMDID:
            pending = self._take(exc.sequence_number)
            if pending is not None:
                return ResponseInvalid(pending.request, pending.context, exc)
            return ProtocolViolation(exc, fatal=False)
        # §4.3: an unrecognised command or a malformed request gets generic_nack.
        self._queue(generic_nack(exc.sequence_number, exc.command_status))
        return ProtocolViolation(exc, fatal=False)

    def _handle_request(self, pdu: Pdu) -> Event | None:
        cid = pdu.command_id
        if not may_send(self._peer, self.state, cid):
            status = rejection_status(cid, self.state)
            if cid not in _NO_RESPONSE:
                self._queue(response_to(pdu, status))
            return ProtocolViolation(
                RemoteProtocolError(
                    f"{pdu.name} seq={pdu.sequence_number} not allowed in {self.state.name}",
                    status,
                ),
                fatal=False,
            )
        if cid == CommandId.ENQUIRE_LINK:
            self._queue(Pdu(_ENQUIRE_LINK_RESP, 0, pdu.sequence_number))
            return None
        if cid == _UNBIND:
            self._queue(response_to(pdu))
            self.state = State.UNBOUND
            return UnbindReceived(pdu)
        return PduReceived(pdu)

    def _handle_response(self, pdu: Pdu) -> Event | None:
        pending = self._take(pdu.sequence_number)
        if pending is None:
            return ProtocolViolation(
                RemoteProtocolError(
                    f"unexpected {pdu.name} seq={pdu.sequence_number} "
                    f"status={status_name(pdu.command_status)}"
                ),
                fatal=False,
            )
        request = pending.request
        cid = pdu.command_id
        if cid != _GENERIC_NACK and cid != request.command_id | RESPONSE_BIT:
            return ResponseInvalid(
                request,
                pending.context,
                RemoteProtocolError(f"{pdu.name} answers {request.name} seq={pdu.sequence_number}"),
            )
        if pending.context is _PROBE:
            return None
        if cid in _BIND_RESPONSES and pdu.command_status == 0 and self.state is State.OPEN:
            self.state = _BIND_RESPONSES[cid]
            self._timers.bound()
        return ResponseReceived(pdu, request, pending.context)

    def _take(self, sequence_number: int) -> Pending[Pdu, object] | None:
        pending = self._pending.pop(sequence_number)
        if pending is not None and pending.request.command_id not in _UNWINDOWED:
            self._in_window -= 1
        return pending

    # ------------------------------------------------------------------ output

    def send(
        self,
        pdu: Pdu,
        now: float | None = None,
        context: object = None,
        timeout: float | None = None,
    ) -> bytes:
        """Encode ``pdu`` for the wire, updating state; returns the bytes to write.

        A request with ``sequence_number == 0`` gets the next sequence number (written into
        ``pdu``). ``context`` comes back on the matching ResponseReceived/ResponseTimedOut;
        ``timeout`` overrides the response timeout for this request.

        Raises:
            SessionClosed: the session is closed.
            WindowFull: the window is full (not raised for enquire_link/unbind).
            LocalProtocolError: the request is not allowed in this state, or will not encode.
        """
        if now is not None:
            self._now = now
        if self.state is State.CLOSED:
            raise SessionClosed("session is closed")
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            data = encode_pdu(pdu)
            if cid in _BIND_RESPONSES and pdu.command_status == 0 and self.state is State.OPEN:
                self.state = _BIND_RESPONSES[cid]
                self._timers.bound()
            return data
        if not may_send(self.role, self.state, cid):
            raise LocalProtocolError(
                f"{pdu.name} not allowed in {self.state.name}", rejection_status(cid, self.state)
            )
        windowed = cid not in _UNWINDOWED
        if windowed and self._in_window >= self.window:
            raise WindowFull(self.window)
        if pdu.sequence_number == 0:
            pdu.sequence_number = self._allocate_sequence()
        elif pdu.sequence_number in self._pending:
            raise LocalProtocolError(f"sequence number {pdu.sequence_number} is in use")
        data = encode_pdu(pdu)
        if cid not in _NO_RESPONSE:
            self._pending.add(pdu.sequence_number, pdu, context, self._now, timeout)
            if windowed:
                self._in_window += 1
        if cid == _UNBIND:
            self.state = State.UNBOUND
        return data

    def data_to_send(self) -> bytes:
        """Drain the automatic replies (enquire_link_resp, generic_nack, ...) queued so far."""
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data

    def _queue(self, pdu: Pdu) -> None:
        self._out += encode_pdu(pdu)

    def _allocate_sequence(self) -> int:
        while True:
            seq = self._next_seq
            self._next_seq = 1 if seq >= MAX_SEQUENCE else seq + 1
            if seq not in self._pending:
                return seq

    # ------------------------------------------------------------------ time and teardown

    def tick(self, now: float) -> list[Event]:
        """Advance time: expire requests, fire link timers, queue a keep-alive probe.

        A probe (enquire_link) that goes unanswered yields ``LinkDead``; the owner should
        then close the connection.
        """
        self._now = now
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        for pending in self._pending.expired(now):
            if pending.request.command_id not in _UNWINDOWED:
                self._in_window -= 1
            if pending.context is _PROBE:
                events.append(LinkDead())
            else:
                events.append(ResponseTimedOut(pending.request, pending.context, pending.timeout))
        for timer in self._timers.expired(now):
            if timer is LinkTimer.ENQUIRE_LINK:
                if self.state.is_bound:
                    self._out += self.send(Pdu(CommandId.ENQUIRE_LINK), now, _PROBE)
            elif timer is LinkTimer.SESSION_INIT:
                if self.state is State.OPEN:
                    events.append(SessionExpired(timer.value))
            else:
                events.append(SessionExpired(timer.value))
        return events

    def close(self) -> list[Pending[Pdu, object]]:
        """Mark the session CLOSED; return the requests still awaiting a response.

        The owner fails each returned request's context (e.g. with ConnectionLost).
        """
        self.state = State.CLOSED
        self._in_window = 0
        return [p for p in self._pending.drain() if p.context is not _PROBE]
