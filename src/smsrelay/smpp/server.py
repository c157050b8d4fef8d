"""SMSC/MC role base: listen, accept binds, enforce per-bind throughput, deliver (§2.1, §4).

A thin role over :class:`~.transport.Connection`, as smppex's ``MC`` is over its session.
The owner (the carrier simulator, the gateway's SMPP server for client binds) subclasses
:class:`SmscHandler` and passes it to :class:`SmppServer`:

- ``authenticate(BindRequest)`` decides each bind (return ESME_ROK or a rejection status;
  the password is in the request and must not be logged). A rejected bind is answered and
  the connection closed. A connection that does not bind within ``session_init_timeout``
  is dropped.
- ``handle_request(session, pdu)`` answers submit_sm, data_sm, query_sm, cancel_sm,
  replace_sm and submit_multi. Return the response directly (answered in the same loop
  turn: the fast path) or a coroutine producing it. Before it is called, submit_sm,
  submit_multi and data_sm past the session's ``throughput`` are answered ESME_RTHROTTLED.
- ``on_bound`` / ``on_closed`` track sessions, e.g. to know where to push receipts.

The owner sends deliver_sm with ``await session.deliver(pdu)``, which respects the window and
response timeout and returns the deliver_sm_resp (or raises ResponseTimeout/SessionClosed).
enquire_link, unbind, generic_nack and bind-state checks are handled below this layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ssl import SSLContext
from types import TracebackType

from .constants import BindType, CommandId, CommandStatus, status_name
from .errors import SessionClosed
from .framing import DEFAULT_MAX_PDU_SIZE
from .pdu import Pdu, response_to
from .session import Session
from .states import Role, State
from .timers import TokenBucket
from .transport import Connection

__all__ = ["BindRequest", "ServerSession", "SmppServer", "SmscHandler"]

log = logging.getLogger(__name__)

_BINDS = frozenset({BindType.TRANSMITTER, BindType.RECEIVER, BindType.TRANSCEIVER})
_THROTTLED = frozenset({CommandId.SUBMIT_SM, CommandId.SUBMIT_MULTI, CommandId.DATA_SM})


@dataclass(frozen=True, slots=True)
class BindRequest:
    """A bind as the owner's ``authenticate`` sees it (§4.1.1). ``repr`` hides the password."""

    bind_type: BindType
    system_id: str
    password: str
    system_type: str
    interface_version: int
    addr_ton: int
    addr_npi: int
    address_range: str
    peer: tuple[str, int] | None

    def __repr__(self) -> str:
        return (
            f"BindRequest({self.bind_type.name.lower()}, system_id={self.system_id!r}, "
            f"system_type={self.system_type!r}, peer={self.peer})"
        )


class SmscHandler:
    """The owner's side of an :class:`SmppServer`. Override what you need.

    The defaults accept every bind and answer every request ESME_RINVCMDID ("not
    supported"), which is enough for a test that only exercises binds.
    """

    async def authenticate(self, request: BindRequest) -> int:
        """Return ESME_ROK to accept, or a status such as ESME_RINVPASWD to reject."""
        return CommandStatus.ESME_ROK

    def on_bound(self, session: ServerSession) -> None:
        """A session has bound (it is now in ``server.sessions`` with ``bind`` set)."""

    def on_closed(self, session: ServerSession, reason: SessionClosed) -> None:
        """A session has ended, bound or not."""

    def handle_request(
        self, session: ServerSession, pdu: Pdu
    ) -> Pdu | Awaitable[Pdu | None] | None:
        """Answer one request from a bound ESME; see the module docstring."""
        return response_to(pdu, CommandStatus.ESME_RINVCMDID)


class ServerSession:
    """One ESME connection on the server. ``bind`` is set once it has bound."""

    def __init__(self, server: SmppServer, connection: Connection, throughput: float) -> None:
        self._server = server
        self._conn = connection
        self.bind: BindRequest | None = None
        self._binding = False
        self._bucket: TokenBucket | None = None
        self.throughput = throughput

    @property
    def throughput(self) -> float:
        """Accepted submit_sm/submit_multi/data_sm per second; 0 = no limit."""
        return self._throughput

    @throughput.setter
    def throughput(self, rate: float) -> None:
        self._throughput = rate
        self._bucket = TokenBucket(rate, self._server.now()) if rate > 0 else None

    @property
    def system_id(self) -> str:
        return self.bind.system_id if self.bind else ""

    @property
    def peer(self) -> tuple[str, int] | None:
        return self._conn.peer

    @property
    def state(self) -> State:
        return self._conn.state

    @property
    def closed(self) -> bool:
        return self._conn.closed

    @property
    def can_deliver(self) -> bool:
        """Bound as receiver or transceiver and still open: deliver_sm may be sent."""
        return not self._conn.closed and self._conn.state in (State.BOUND_RX, State.BOUND_TRX)

    @property
    def window_free(self) -> int:
        return self._conn.session.window_free

    async def deliver(self, pdu: Pdu, timeout: float | None = None) -> Pdu:
        """Send deliver_sm (or data_sm, alert_notification...) and return the response.

        Waits while the window is full. Raises ResponseTimeout, SessionClosed, or
        LocalProtocolError if the ESME is not bound to receive.
        """
        future = await self._conn.request(pdu, timeout)
        return await future

    async def send_request(self, pdu: Pdu, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Wait for a window slot, send, and return the response future (pipelining)."""
        return await self._conn.request(pdu, timeout)

    def deliver_nowait(self, pdu: Pdu, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Send now and return the response future; raises WindowFull if no slot is free."""
        return self._conn.request_nowait(pdu, timeout)

    async def unbind(self, timeout: float = 5.0) -> None:
        """Graceful close from the MC side (§4.2)."""
        await self._conn.unbind(timeout)

    def close(self) -> None:
        """Drop the connection now."""
        self._conn.close()

    async def wait_closed(self) -> None:
        await self._conn.wait_closed()

    # ------------------------------------------------------------------ inbound

    def _handle_request(self, pdu: Pdu) -> Pdu | Awaitable[Pdu | None] | None:
        cid = pdu.command_id
        if cid in _BINDS:
            return self._bind(pdu)
        bucket = self._bucket
        if cid in _THROTTLED and bucket is not None and not bucket.take(self._server.now()):
            return response_to(pdu, CommandStatus.ESME_RTHROTTLED)
        return self._server.handler.handle_request(self, pdu)

    async def _bind(self, pdu: Pdu) -> Pdu | None:
        if self._binding or self.bind is not None:
            return response_to(pdu, CommandStatus.ESME_RALYBND)
        self._binding = True
        request = BindRequest(
            BindType(pdu.command_id),
            pdu.str_field("system_id"),
            pdu.str_field("password"),
            pdu.str_field("system_type"),
            pdu.int_field("interface_version"),
            pdu.int_field("addr_ton"),
            pdu.int_field("addr_npi"),
            pdu.str_field("address_range"),
            self.peer,
        )
        try:
            status = await self._server.handler.authenticate(request)
        except Exception:
            log.exception("smpp authenticate failed for %r", request)
            status = CommandStatus.ESME_RSYSERR
        finally:
            self._binding = False
        if self._conn.closed:
            return None
        if status != CommandStatus.ESME_ROK:
            log.info(
                "smpp bind rejected system_id=%s peer=%s status=%s",
                request.system_id,
                self.peer,
                status_name(status),
            )
            self._conn.respond(response_to(pdu, status))
            self._conn.close(SessionClosed(f"bind rejected: {status_name(status)}"))
            return None
        self._conn.respond(
            response_to(
                pdu,
                0,
                {"system_id": self._server.system_id},
                {"sc_interface_version": 0x34},  # §5.3.2.25: we speak SMPP 3.4
            )
        )
        self.bind = request
        log.info(
            "smpp bound %s system_id=%s peer=%s",
            request.bind_type.name.lower(),
            request.system_id,
            self.peer,
        )
        try:
            self._server.handler.on_bound(self)
        except Exception:
            log.exception("smpp on_bound failed for system_id=%s", request.system_id)
        return None


class SmppServer:
    """Listen on (host, port) and run one :class:`ServerSession` per connection.

    Parameters:
        handler: the owner's :class:`SmscHandler`.
        host, port: where to listen; port 0 picks a free port (see :attr:`port`).
        system_id: returned in bind_*_resp.
        window: outstanding deliver_sm per session.
        response_timeout: seconds each deliver_sm may wait for its response.
        session_init_timeout: connections that have not bound by then are dropped.
        enquire_link_interval: probe idle sessions; a silent peer is dropped as link dead.
        inactivity_timeout: drop sessions that send nothing for this long (``None``: never).
        throughput: per-bind limit on submit_sm/submit_multi/data_sm per second (0: none);
            adjustable per session in ``on_bound`` via ``session.throughput``.
        max_pdu_size: larger command_length closes the connection.
        now: monotonic clock; tick_interval: real seconds between timer checks.
        ssl: a server-side TLS context: SMPP over TLS on the same listener (no STARTTLS in
            SMPP 3.4, so TLS is per port).
    """

    def __init__(
        self,
        handler: SmscHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        system_id: str = "smsrelay",
        window: int = 10,
        response_timeout: float = 10.0,
        session_init_timeout: float | None = 10.0,
        enquire_link_interval: float | None = 30.0,
        inactivity_timeout: float | None = None,
        throughput: float = 0.0,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        now: Callable[[], float] = time.monotonic,
        tick_interval: float = 0.5,
        ssl: SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self._ssl = ssl
        self.host = host
        self._port = port
        self.system_id = system_id
        self.window = window
        self.response_timeout = response_timeout
        self.session_init_timeout = session_init_timeout
        self.enquire_link_interval = enquire_link_interval
        self.inactivity_timeout = inactivity_timeout
        self.throughput = throughput
        self.max_pdu_size = max_pdu_size
        self.now = now
        self.tick_interval = tick_interval
        self._server: asyncio.Server | None = None
        self._sessions: set[ServerSession] = set()

    @property
    def port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    @property
    def sessions(self) -> list[ServerSession]:
        """Open sessions, bound or not."""
        return list(self._sessions)

    def receivers(self, system_id: str | None = None) -> list[ServerSession]:
        """Open sessions that may receive deliver_sm, optionally for one system_id."""
        return [
            s
            for s in self._sessions
            if s.can_deliver and (system_id is None or s.system_id == system_id)
        ]

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(
            self._accept, self.host, self._port, ssl=self._ssl
        )
        log.info(
            "smpp server listening on %s:%d%s", self.host, self.port, " (TLS)" if self._ssl else ""
        )

    async def close(self, unbind_timeout: float = 1.0) -> None:
        """Stop listening, unbind every session (waiting at most ``unbind_timeout``), close."""
        if self._server is not None:
            self._server.close()
        sessions = list(self._sessions)
        await asyncio.gather(*(s.unbind(unbind_timeout) for s in sessions), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> SmppServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(
            Role.MC,
            window=self.window,
            response_timeout=self.response_timeout,
            enquire_link_interval=self.enquire_link_interval,
            inactivity_timeout=self.inactivity_timeout,
            session_init_timeout=self.session_init_timeout,
            max_pdu_size=self.max_pdu_size,
            now=self.now(),
        )
        holder: list[ServerSession] = []

        def on_request(pdu: Pdu) -> Pdu | Awaitable[Pdu | None] | None:
            return holder[0]._handle_request(pdu)

        def on_closed(reason: SessionClosed) -> None:
            server_session = holder[0]
            self._sessions.discard(server_session)
            try:
                self.handler.on_closed(server_session, reason)
            except Exception:
                log.exception("smpp on_closed failed")

        conn = Connection(
            session,
            reader,
            writer,
            on_request=on_request,
            on_closed=on_closed,
            now=self.now,
            tick_interval=self.tick_interval,
        )
        server_session = ServerSession(self, conn, self.throughput)
        holder.append(server_session)
        self._sessions.add(server_session)
        conn.start()
