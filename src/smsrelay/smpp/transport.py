"""The asyncio shell around a sans-IO :class:`~.session.Session` (httpcore's role for h11).

This is the only module in ``smpp/`` that awaits a socket. :class:`Connection` reads
whatever the stream offers (partial PDUs, many PDUs per read), feeds the session, turns
events into futures resolved and handler calls made, and writes what the session produces.
Client (:mod:`.client`) and server (:mod:`.server`) are thin roles over it.

Guarantees:

- Nothing the peer sends raises out of here: protocol violations are answered by the
  session and logged; socket errors and even a bug in a handler end in an orderly close.
- Every request sent through :meth:`Connection.request` resolves exactly once: with its
  response PDU (whatever its command_status), or with :class:`~.errors.ResponseTimeout`,
  :class:`~.errors.RemoteProtocolError` (malformed response), or
  :class:`~.errors.SessionClosed`/:class:`~.errors.ConnectionLost` when the session ends.
- Writes made in one event-loop turn are coalesced into one ``write`` call, which is what
  makes pipelined submission cheap.

Time comes from the ``now`` callable (house rule 8): tests pass a manual clock and a short
``tick_interval`` and advance the clock instead of sleeping through timeouts.

Slightly over 400 lines: the reader, the writer's coalescing and the timer tick share the
session and the socket, and each is short.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .constants import RESPONSE_BIT, CommandId, CommandStatus
from .errors import ConnectionLost, ResponseTimeout, SessionClosed, SmppError
from .events import (
    NEED_DATA,
    ConnectionClosed,
    LinkDead,
    PduReceived,
    ProtocolViolation,
    ResponseInvalid,
    ResponseReceived,
    ResponseTimedOut,
    SessionExpired,
    UnbindReceived,
)
from .pdu import Pdu, response_to, unbind
from .session import Session
from .states import State

__all__ = ["Connection", "RequestHandler"]

log = logging.getLogger(__name__)

#: Called with each request the peer sends (other than enquire_link/unbind). Return the
#: response PDU, ``None`` for no response, or an awaitable of either. A synchronous return
#: is answered in the same loop turn; an awaitable runs as its own task.
RequestHandler = Callable[[Pdu], "Pdu | Awaitable[Pdu | None] | None"]

_NO_RESPONSE = frozenset({CommandId.OUTBIND, CommandId.ALERT_NOTIFICATION})
_READ_SIZE = 65536


class Connection:
    """One SMPP session over an asyncio ``StreamReader``/``StreamWriter`` pair.

    Parameters:
        session: the sans-IO session (its role decides what may be sent).
        reader, writer: the connected stream.
        on_request: handler for peer requests, see :data:`RequestHandler`.
        on_closed: called once with the reason when the connection ends.
        now: monotonic clock in seconds.
        tick_interval: how often timers are checked (seconds of real time).
        write_buffer_limit: ``request`` waits for the socket to drain above this many bytes.
    """

    def __init__(
        self,
        session: Session,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_request: RequestHandler,
        on_closed: Callable[[SessionClosed], None] | None = None,
        now: Callable[[], float] = time.monotonic,
        tick_interval: float = 0.5,
        write_buffer_limit: int = 256 * 1024,
    ) -> None:
        self.session = session
        self._reader = reader
        self._writer = writer
        self._on_request = on_request
        self._on_closed = on_closed
        self._now = now
        self._tick_interval = tick_interval
        self._write_limit = write_buffer_limit
        self._loop = asyncio.get_running_loop()
        self._wbuf = bytearray()
        self._flush_scheduled = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._closed = False
        self._close_reason: SessionClosed | None = None
        self._done = asyncio.Event()
        self._unbinding = False
        peer = writer.get_extra_info("peername")
        self.peer: tuple[str, int] | None = (
            (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        )
        self._reader_task: asyncio.Task[None] | None = None
        self._ticker_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start reading and ticking. Call once."""
        self._reader_task = self._loop.create_task(self._read_loop())
        self._ticker_task = self._loop.create_task(self._tick_loop())

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def close_reason(self) -> SessionClosed | None:
        """Why the connection ended (``None`` while open)."""
        return self._close_reason

    async def wait_closed(self) -> None:
        """Wait until the connection has ended and its tasks are gone."""
        await self._done.wait()

    def close(self, reason: SessionClosed | None = None) -> None:
        """Close now: outstanding requests fail with ``reason``; buffered writes are flushed."""
        self._teardown(reason or SessionClosed("connection closed locally"))

    async def unbind(self, timeout: float = 5.0) -> None:
        """Graceful close (§4.2): send unbind, wait up to ``timeout`` for unbind_resp, close."""
        if self._closed:
            return
        if self.session.state.is_bound:
            self._unbinding = True
            try:
                future = self.request_nowait(unbind(), timeout=timeout)
                await asyncio.wait_for(asyncio.shield(future), timeout)
            except (TimeoutError, SmppError) as exc:
                log.debug("unbind did not complete cleanly: %s", exc)
        self.close(SessionClosed("unbound"))
        await self.wait_closed()

    # ------------------------------------------------------------------ requests

    def request_nowait(self, pdu: Pdu, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Send a request now and return a future for its response.

        Raises WindowFull when no window slot is free, SessionClosed when closed, and
        LocalProtocolError when the request is not allowed in the bind state.
        """
        if self._closed:
            raise self._close_reason or SessionClosed("connection closed")
        future: asyncio.Future[Pdu] = self._loop.create_future()
        self._write(self.session.send(pdu, self._now(), future, timeout))
        return future

    async def request(self, pdu: Pdu, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Wait for a window slot (flow control), send, and return the response future."""
        session = self.session
        while session.window_free <= 0 and not self._closed:
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_waiters()  # pass the slot we were given on
                raise
        transport = self._writer.transport
        if transport.get_write_buffer_size() > self._write_limit and not self._closed:
            self._flush()
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
        return self.request_nowait(pdu, timeout)

    def respond(self, pdu: Pdu) -> None:
        """Send a response; silently dropped if the connection is already closed."""
        if self._closed:
            log.debug("dropping %s seq=%d: connection closed", pdu.name, pdu.sequence_number)
            return
        self._write(self.session.send(pdu, self._now()))

    def _wake_waiters(self) -> None:
        free = self.session.window_free
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    # ------------------------------------------------------------------ writing

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self._wbuf += data
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._wbuf:
            data = bytes(self._wbuf)
            self._wbuf.clear()
            if not self._writer.is_closing():
                self._writer.write(data)

    # ------------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        reason: SessionClosed | None = None
        try:
            while not self._closed:
                data = await self._reader.read(_READ_SIZE)
                self.session.receive_data(data, self._now())
                self._drain_events()
                if not data:
                    break
        except (ConnectionError, OSError) as exc:
            reason = ConnectionLost(f"connection lost: {exc}")
        except asyncio.CancelledError:
            reason = SessionClosed("connection closed locally")
            raise
        except Exception:  # top of a long-lived loop: keep the process alive (house rule 7)
            log.exception("smpp connection peer=%s: unexpected error; closing", self.peer)
            reason = ConnectionLost("internal error while reading")
        finally:
            self._teardown(reason or self._peer_closed())

    async def _tick_loop(self) -> None:
        try:
            while not self._closed:
                await asyncio.sleep(self._tick_interval)
                for event in self.session.tick(self._now()):
                    self._dispatch(event)
                self._write(self.session.data_to_send())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("smpp connection peer=%s: timer error; closing", self.peer)
            self._teardown(ConnectionLost("internal error in timers"))

    def _drain_events(self) -> None:
        session = self.session
        while not self._closed:
            event = session.next_event()
            if event is NEED_DATA:
                break
            self._dispatch(event)
        out = session.data_to_send()
        if out:
            self._write(out)
        self._flush()

    def _dispatch(self, event: object) -> None:
        cls = event.__class__
        if cls is ResponseReceived:
            ev: Any = event
            future = ev.context
            if isinstance(future, asyncio.Future) and not future.done():
                future.set_result(ev.pdu)
            if self._waiters:
                self._wake_waiters()
            if ev.request.command_id == CommandId.UNBIND and not self._unbinding:
                self._close_after_flush(SessionClosed("unbound"))
        elif cls is PduReceived:
            self._handle_request(event.pdu)  # type: ignore[attr-defined]
        elif cls is ResponseTimedOut or cls is ResponseInvalid:
            ev = event
            error: SmppError = (
                ResponseTimeout(ev.request.command_id, ev.request.sequence_number, ev.timeout)
                if cls is ResponseTimedOut
                else ev.error
            )
            log.warning(
                "smpp peer=%s %s seq=%d failed: %s",
                self.peer,
                ev.request.name,
                ev.request.sequence_number,
                error,
            )
            if isinstance(ev.context, asyncio.Future) and not ev.context.done():
                ev.context.set_exception(error)
            self._wake_waiters()
        elif cls is UnbindReceived:
            log.info("smpp peer=%s sent unbind", self.peer)
            self._close_after_flush(SessionClosed("peer unbound"))
        elif cls is ProtocolViolation:
            ev = event
            log.warning(
                "smpp peer=%s protocol violation (fatal=%s): %s", self.peer, ev.fatal, ev.error
            )
            if ev.fatal:
                self._close_after_flush(ConnectionLost(f"protocol error: {ev.error}"))
        elif cls is LinkDead:
            log.warning("smpp peer=%s link dead: enquire_link unanswered", self.peer)
            self._teardown(ConnectionLost("link dead: enquire_link unanswered"))
        elif cls is SessionExpired:
            log.info("smpp peer=%s %s timer expired; closing", self.peer, event.timer)  # type: ignore[attr-defined]
            self._close_after_flush(SessionClosed(f"{event.timer} timer expired"))  # type: ignore[attr-defined]
        elif cls is ConnectionClosed:
            self._teardown(self._peer_closed())

    def _handle_request(self, pdu: Pdu) -> None:
        try:
            result = self._on_request(pdu)
        except Exception:
            log.exception(
                "smpp peer=%s handler failed on %s seq=%d", self.peer, pdu.name, pdu.sequence_number
            )
            result = self._error_response(pdu)
        if result is None:
            return
        if result.__class__ is Pdu:
            self.respond(result)
            return
        # Wrap the handler's awaitable itself (not a coroutine awaiting it): a task cancelled
        # before its first step then closes the handler cleanly instead of leaking it.
        task = asyncio.ensure_future(result)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._handler_done, pdu))

    def _handler_done(self, pdu: Pdu, task: asyncio.Future[Pdu | None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error(
                "smpp peer=%s handler failed on %s seq=%d",
                self.peer,
                pdu.name,
                pdu.sequence_number,
                exc_info=error,
            )
            result = self._error_response(pdu)
        else:
            result = task.result()
        if result is not None:
            try:
                self.respond(result)
            except SmppError as exc:
                log.error("smpp peer=%s cannot send %s: %s", self.peer, result.name, exc)

    @staticmethod
    def _error_response(pdu: Pdu) -> Pdu | None:
        if pdu.command_id in _NO_RESPONSE or pdu.command_id & RESPONSE_BIT:
            return None
        return response_to(pdu, CommandStatus.ESME_RSYSERR)

    # ------------------------------------------------------------------ teardown

    def _peer_closed(self) -> SessionClosed:
        if self._unbinding or self.session.state is State.UNBOUND:
            return SessionClosed("unbound")
        return ConnectionLost("connection closed by peer")

    def _close_after_flush(self, reason: SessionClosed) -> None:
        self._write(self.session.data_to_send())
        self._flush()
        self._teardown(reason)

    def _teardown(self, reason: SessionClosed) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason
        self._flush()
        for pending in self.session.close():
            future = pending.context
            if isinstance(future, asyncio.Future) and not future.done():
                future.set_exception(reason)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)  # the waiter re-checks and finds the session closed
        self._waiters.clear()
        current = asyncio.current_task()
        for task in (self._reader_task, self._ticker_task, *self._tasks):
            if task is not None and task is not current and not task.done():
                task.cancel()
        self._writer.close()
        if self._on_closed is not None:
            try:
                self._on_closed(reason)
            except Exception:
                log.exception("smpp on_closed callback failed")
        self._loop.create_task(self._finish())

    async def _finish(self) -> None:
        tasks = [
            t
            for t in (self._reader_task, self._ticker_task, *self._tasks)
            if t is not None and t is not asyncio.current_task()
        ]
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._done.set()

    @property
    def state(self) -> State:
        return self.session.state
