"""ESME (client) role: connect, bind, submit with a window, receive deliver_sm (§2.1, §4).

A thin role over :class:`~.transport.Connection`, as smppex's ``ESME`` is over its session.
One :class:`SmppClient` is one bind: transceiver, or transmitter or receiver (open one of
each for a TX+RX pair). Reconnecting is the caller's decision; :func:`connect_with_backoff`
and :class:`Backoff` make it a one-liner.

Three ways to submit, from simplest to fastest:

- ``await client.submit(pdu)`` waits for a window slot, sends, and returns the response PDU
  (check ``resp.command_status``; ESME_RTHROTTLED and ESME_RMSGQFUL mean "slow down, retry");
- ``fut = await client.send_request(pdu)`` waits only for the window slot and returns the
  response future, so one task can keep the whole window busy (pipelining);
- ``fut = client.submit_nowait(pdu)`` raises :class:`~.errors.WindowFull` instead of waiting.

Every future resolves once: with the response, :class:`~.errors.ResponseTimeout`, or
:class:`~.errors.SessionClosed` / :class:`~.errors.ConnectionLost` when the connection ends
(requests that fail this way may or may not have reached the MC; resubmit them elsewhere).

Incoming deliver_sm and data_sm (receipts and MO messages) go to ``on_deliver``; its return
value (``None`` = ESME_ROK, or a command_status) is sent back in deliver_sm_resp/data_sm_resp
after it returns. Without a handler they are answered ESME_RX_T_APPN, a temporary error, so
the MC keeps them and retries rather than losing them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from ssl import SSLContext
from types import TracebackType
from typing import Any

from .constants import BindType, CommandId, CommandStatus
from .errors import BindError, ConnectionLost, ResponseTimeout, SessionClosed
from .framing import DEFAULT_MAX_PDU_SIZE
from .pdu import Pdu, bind, enquire_link, response_to
from .session import Session
from .states import Role, State
from .transport import Connection

__all__ = [
    "RETRYABLE_BIND_STATUSES",
    "Backoff",
    "DeliverHandler",
    "SmppClient",
    "connect",
    "connect_with_backoff",
]

log = logging.getLogger(__name__)

#: Handler for deliver_sm/data_sm/alert_notification: return ``None`` (ESME_ROK) or a
#: command_status, directly or from a coroutine. An exception answers ESME_RX_T_APPN.
DeliverHandler = Callable[[Pdu], "int | Awaitable[int | None] | None"]

_INBOUND = frozenset({CommandId.DELIVER_SM, CommandId.DATA_SM, CommandId.ALERT_NOTIFICATION})


class SmppClient:
    """One bound ESME session. Build it with :func:`connect`."""

    def __init__(
        self,
        connection: Connection,
        bind_type: BindType,
        on_deliver: DeliverHandler | None,
    ) -> None:
        self._conn = connection
        self.bind_type = bind_type
        self._on_deliver = on_deliver
        #: system_id the MC returned in bind_*_resp (§4.1.2).
        self.peer_system_id = ""

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> State:
        return self._conn.state

    @property
    def is_bound(self) -> bool:
        return self._conn.state.is_bound and not self._conn.closed

    @property
    def closed(self) -> bool:
        return self._conn.closed

    @property
    def close_reason(self) -> SessionClosed | None:
        return self._conn.close_reason

    @property
    def window(self) -> int:
        return self._conn.session.window

    @property
    def window_free(self) -> int:
        return self._conn.session.window_free

    @property
    def peer(self) -> tuple[str, int] | None:
        return self._conn.peer

    # ------------------------------------------------------------------ submitting

    async def submit(self, pdu: Pdu, timeout: float | None = None) -> Pdu:
        """Send any request (submit_sm, data_sm, query_sm, ...) and return its response.

        Waits while the window is full. Raises ResponseTimeout, SessionClosed/ConnectionLost,
        or LocalProtocolError (request not allowed in this bind, or will not encode).
        """
        future = await self._conn.request(pdu, timeout)
        return await future

    async def send_request(self, pdu: Pdu, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Wait for a window slot, send ``pdu``, and return its response future (pipelining)."""
        return await self._conn.request(pdu, timeout)

    def submit_nowait(self, pdu: Pdu, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Send now and return the response future; raises WindowFull if no slot is free."""
        return self._conn.request_nowait(pdu, timeout)

    async def enquire_link(self, timeout: float | None = None) -> Pdu:
        """Probe the link explicitly (the session also does so on its own when idle)."""
        return await self._conn.request_nowait(enquire_link(), timeout)

    # ------------------------------------------------------------------ closing

    async def unbind(self, timeout: float = 5.0) -> None:
        """Graceful close: unbind, wait for unbind_resp (at most ``timeout``), close."""
        await self._conn.unbind(timeout)

    def close(self) -> None:
        """Close without unbinding; outstanding requests fail with SessionClosed."""
        self._conn.close()

    async def wait_closed(self) -> None:
        """Wait until the connection has ended (by either side or link loss)."""
        await self._conn.wait_closed()

    async def __aenter__(self) -> SmppClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.unbind()

    # ------------------------------------------------------------------ inbound

    def _handle_request(self, pdu: Pdu) -> Pdu | Awaitable[Pdu | None] | None:
        if pdu.command_id not in _INBOUND:
            # Only outbind can get here (allowed in OPEN); we are already connected.
            return None
        if self._on_deliver is None:
            return self._answer(pdu, CommandStatus.ESME_RX_T_APPN)
        try:
            result = self._on_deliver(pdu)
        except Exception:
            log.exception("deliver handler failed on %s seq=%d", pdu.name, pdu.sequence_number)
            return self._answer(pdu, CommandStatus.ESME_RX_T_APPN)
        if result is None or isinstance(result, int):
            return self._answer(pdu, result or 0)
        return self._answer_later(pdu, result)

    async def _answer_later(self, pdu: Pdu, pending: Awaitable[int | None]) -> Pdu | None:
        try:
            status = await pending
        except Exception:
            log.exception("deliver handler failed on %s seq=%d", pdu.name, pdu.sequence_number)
            status = CommandStatus.ESME_RX_T_APPN
        return self._answer(pdu, status or 0)

    @staticmethod
    def _answer(pdu: Pdu, status: int) -> Pdu | None:
        if pdu.command_id == CommandId.ALERT_NOTIFICATION:
            return None  # §4.12: no response
        # §4.6.2/§4.7.2: message_id is unused (NULL) in deliver_sm_resp.
        return response_to(pdu, status, {"message_id": ""} if status == 0 else None)


async def connect(
    host: str,
    port: int,
    system_id: str,
    password: str,
    bind_type: BindType = BindType.TRANSCEIVER,
    *,
    system_type: str = "",
    interface_version: int = 0x34,
    addr_ton: int = 0,
    addr_npi: int = 0,
    address_range: str = "",
    window: int = 10,
    response_timeout: float = 10.0,
    bind_timeout: float = 10.0,
    connect_timeout: float = 10.0,
    enquire_link_interval: float | None = 30.0,
    on_deliver: DeliverHandler | None = None,
    on_closed: Callable[[SessionClosed], None] | None = None,
    max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
    now: Callable[[], float] = time.monotonic,
    tick_interval: float = 0.5,
    ssl: SSLContext | None = None,
) -> SmppClient:
    """Open a TCP connection to an MC and bind (§4.1). Returns a bound :class:`SmppClient`.

    ``ssl``: a client TLS context, for an MC that speaks SMPP over TLS.

    ``window`` bounds outstanding requests; ``response_timeout`` applies to each; an idle
    link is probed every ``enquire_link_interval`` seconds and declared dead (connection
    closed, outstanding requests failed with ConnectionLost) if the probe goes unanswered.
    ``on_closed`` is told why the connection ended, whoever ended it.

    Raises OSError/TimeoutError (cannot connect), BindError (bind rejected: see its
    ``command_status``), ResponseTimeout (no bind_resp), or ConnectionLost.
    """
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl), connect_timeout
    )
    session = Session(
        Role.ESME,
        window=window,
        response_timeout=response_timeout,
        enquire_link_interval=enquire_link_interval,
        max_pdu_size=max_pdu_size,
        now=now(),
    )
    holder: list[SmppClient] = []

    def on_request(pdu: Pdu) -> Pdu | Awaitable[Pdu | None] | None:
        return holder[0]._handle_request(pdu) if holder else None

    conn = Connection(
        session,
        reader,
        writer,
        on_request=on_request,
        on_closed=on_closed,
        now=now,
        tick_interval=tick_interval,
    )
    client = SmppClient(conn, bind_type, on_deliver)
    holder.append(client)
    conn.start()
    request = bind(
        bind_type,
        system_id,
        password,
        system_type=system_type,
        interface_version=interface_version,
        addr_ton=addr_ton,
        addr_npi=addr_npi,
        address_range=address_range,
    )
    try:
        response = await conn.request_nowait(request, timeout=bind_timeout)
    except BaseException:
        conn.close()
        raise
    if response.command_status != 0 or response.command_id == CommandId.GENERIC_NACK:
        conn.close(SessionClosed("bind rejected"))
        raise BindError(response.command_status or CommandStatus.ESME_RBINDFAIL)
    client.peer_system_id = response.str_field("system_id")
    log.info(
        "smpp bound %s to %s:%d as system_id=%s (mc=%s)",
        bind_type.name.lower(),
        host,
        port,
        system_id,
        client.peer_system_id,
    )
    return client


#: Bind rejections worth retrying: the MC is busy or failing, not refusing our credentials.
RETRYABLE_BIND_STATUSES = frozenset(
    {
        CommandStatus.ESME_RBINDFAIL,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RALYBND,
    }
)


class Backoff:
    """Exponential backoff with jitter: ``initial * factor**n`` capped at ``maximum``.

    ``jitter`` is the fraction of each delay drawn at random (0.2 → delays vary ±20 %), so
    many connectors restarting together do not reconnect in lockstep. ``rng`` is injectable.
    """

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one attempt."""
        base = min(self.maximum, self.initial * self.factor**self.attempts)
        self.attempts += 1
        spread = base * self.jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))

    def reset(self) -> None:
        """Call after a successful connection."""
        self.attempts = 0


async def connect_with_backoff(
    connect_once: Callable[[], Awaitable[SmppClient]],
    *,
    backoff: Backoff | None = None,
    max_attempts: int | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> SmppClient:
    """Call ``connect_once`` until it succeeds, sleeping ``backoff`` delays in between.

    Retries on network errors, timeouts, lost connections and the bind rejections in
    :data:`RETRYABLE_BIND_STATUSES`; any other BindError (wrong password, unknown system_id)
    is raised at once, as is the last error after ``max_attempts`` attempts. Example::

        client = await connect_with_backoff(
            lambda: connect(host, port, "user", "pw", window=100))
    """
    policy = backoff or Backoff()
    attempt = 0
    while True:
        attempt += 1
        try:
            client = await connect_once()
        except BindError as exc:
            if exc.command_status not in RETRYABLE_BIND_STATUSES:
                raise
            error: Exception = exc
        except (OSError, TimeoutError, ResponseTimeout, ConnectionLost) as exc:
            error = exc
        else:
            policy.reset()
            return client
        if max_attempts is not None and attempt >= max_attempts:
            raise error
        delay = policy.next_delay()
        log.warning("smpp connect attempt %d failed (%s); retrying in %.1fs", attempt, error, delay)
        await sleep(delay)
