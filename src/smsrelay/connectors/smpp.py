"""The SMPP carrier connector: the engine's :class:`~smsrelay.connectors.base.Connector` over
:mod:`smsrelay.smpp.client` (SMPP 3.4 ESME role).

One connector holds ``binds`` sessions to one carrier: transceivers (§4.1.5), or a
transmitter and a receiver each (§4.1.1, §4.1.3). Every session is kept up by its own
supervisor task, which reconnects with backoff for as long as the connector is started
(a wrong password is retried too, slowly, since operators fix credentials without
restarting us). Submits go to the bound transmitter with the most free window slots.

Submitting a message (:meth:`SmppConnector.submit`):

- its submit_sm PDUs come from :func:`~smsrelay.connectors.smpp_submit.build_submits`
  (segmentation, data_coding, UDH/SAR/payload, TON/NPI, registered_delivery);
- each PDU waits for the connector's :class:`~smsrelay.connectors.pacing.Pacer` (the
  ``throughput`` limit across binds, counted in submit_sm PDUs, lowered for a while after
  ESME_RTHROTTLED) and for a window slot; all segments are pipelined on one session;
- the outcome is every segment's submit_sm_resp message_id, normalised, in segment order,
  or the catalogue error of the first failed segment: command_status through
  :data:`~smsrelay.connectors.smpp_submit.SUBMIT_STATUS_ERRORS`, no response within
  ``response_timeout`` → CARRIER_TIMEOUT, connection lost or nothing bound →
  CARRIER_UNAVAILABLE.

Partial failure: when some segments of a message were accepted and others failed, the
engine retries the whole message, so the carrier may receive the first parts twice (the
handset shows the duplicate parts of a concatenated message once, or the message twice).
To make this rarer, segments refused with ESME_RTHROTTLED or ESME_RMSGQFUL while others of
the same message were accepted are resent here, after the pacer's pause, up to
``continuation_retries`` times.

Inbound (deliver_sm/data_sm on receiver-capable sessions): a delivery receipt becomes a
:class:`~smsrelay.domain.messages.DeliveryReport` (see :mod:`.smpp_inbound` for the status
table and ``receipt_id_format``); anything else is a mobile-originated message, joined with
its other parts when concatenated. deliver_sm_resp is sent only after the sink has taken
the report or message, so a crash before that leaves it with the carrier, which resends it.

The module is longer than most: bind supervision, submitting and inbound handling share one
connector's sessions, window and pacer; the pure halves already live in :mod:`.smpp_submit`
and :mod:`.smpp_inbound`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import time
from collections.abc import Callable

from smsrelay.connectors.base import ConnectorHealth, InboundSink
from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.pacing import Pacer
from smsrelay.connectors.smpp_inbound import (
    MoAssembler,
    MoPart,
    mo_part_from_pdu,
    report_from_receipt,
)
from smsrelay.connectors.smpp_submit import SubmitOptions, build_submits, error_for_status
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import InboundMessage, OutboundMessage, SubmitOutcome
from smsrelay.smpp.client import Backoff, SmppClient, connect, connect_with_backoff
from smsrelay.smpp.constants import (
    ESM_TYPE_MASK,
    BindType,
    CommandId,
    CommandStatus,
    MessageState,
    status_name,
)
from smsrelay.smpp.errors import (
    BindError,
    LocalProtocolError,
    RemoteProtocolError,
    ResponseTimeout,
    SessionClosed,
    SmppError,
)
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.receipts import (
    Receipt,
    is_receipt,
    normalise_message_id,
    receipt_from_pdu,
)

__all__ = ["BIND_SLOTS", "SmppConnector"]

log = logging.getLogger(__name__)

#: ``bind`` option → the sessions one "bind" stands for.
BIND_SLOTS: dict[str, tuple[BindType, ...]] = {
    "transceiver": (BindType.TRANSCEIVER,),
    "transmitter+receiver": (BindType.TRANSMITTER, BindType.RECEIVER),
}

#: Refusals that mean "not now": a segment refused so is resent when others were accepted.
_SLOW_DOWN = frozenset({ErrorCode.CARRIER_THROTTLED, ErrorCode.CARRIER_QUEUE_FULL})

_Failure = tuple[ErrorCode, str]


def _failure(exc: SmppError) -> _Failure:
    """An exception from sending or awaiting a submit_sm → the catalogue error."""
    if isinstance(exc, ResponseTimeout):
        return ErrorCode.CARRIER_TIMEOUT, str(exc)
    if isinstance(exc, SessionClosed):
        return ErrorCode.CARRIER_UNAVAILABLE, str(exc)
    if isinstance(exc, LocalProtocolError):
        if exc.command_status == CommandStatus.ESME_RINVBNDSTS:  # session is unbinding
            return ErrorCode.CARRIER_UNAVAILABLE, str(exc)
        return ErrorCode.CARRIER_REJECTED, f"cannot send: {exc}"
    if isinstance(exc, RemoteProtocolError):
        return ErrorCode.CARRIER_SYSTEM_ERROR, f"bad response: {exc}"
    return ErrorCode.CARRIER_SYSTEM_ERROR, str(exc)


def _delivered_receipt(pdu: Pdu) -> Receipt | None:
    """A receipt whose TLVs already say "delivered" (§5.3.2.12, §5.3.2.35), read without
    parsing its text: the TLVs win anyway, and this is the bulk of all receipts."""
    rid, state = pdu.tlvs.get("receipted_message_id"), pdu.tlvs.get("message_state")
    if isinstance(rid, str) and rid and state == MessageState.DELIVERED:
        return Receipt(rid, "DELIVRD", MessageState.DELIVERED)
    return None


class SmppConnector:
    """A carrier over SMPP 3.4, built from its :class:`~.options.SmppOptions` whole (the
    options and their defaults are documented there and in docs/configuration.md).

    Time: ``now`` (monotonic seconds) drives pacing and the session timers, ``wall`` (unix
    seconds) stamps receipts and MO messages. They are the clock's, not options.
    """

    def __init__(
        self,
        options: SmppOptions,
        *,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.name = options.name
        self.options = options
        self.national_languages = options.sends_national_languages()
        self.host, self.port = options.host, options.port
        self._submit = SubmitOptions(
            long_messages=options.long_messages,
            data_coding=options.data_coding,
            gsm7_packing=options.gsm7_packing,
            service_type=options.service_type,
            default_sender=options.default_sender,
            national_languages=self.national_languages,
            dlt_tags=options.dlt_tlvs.by_field(),
            telemarketer_id=options.telemarketer_id,
        )
        self.pacer = Pacer(options.throughput)
        self._slots = [t for _ in range(options.binds) for t in BIND_SLOTS[options.bind]]
        self._clients: list[SmppClient | None] = [None] * len(self._slots)
        self._now, self._wall = now, wall
        self._assembler = MoAssembler(options.mo_timeout)
        self._refs = itertools.count(random.randrange(1 << 16))
        self._turn = itertools.count()
        self._bound_changed = asyncio.Event()
        # In-flight submit_sm across the connector's transmitters. Waiting here, one waiter
        # per free slot, rather than in every session's window queue, avoids waking many
        # waiters per response when thousands of messages are in flight.
        transmitters = sum(1 for t in self._slots if t is not BindType.RECEIVER)
        self._inflight = asyncio.Semaphore(options.window * transmitters)
        self._tasks: list[asyncio.Task[None]] = []
        self._sink: InboundSink | None = None
        self._running = False
        self.last_error = ""
        self.stats = {
            "submitted": 0,
            "segments": 0,
            "failed": 0,
            "receipts": 0,
            "mo": 0,
            "binds": 0,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: InboundSink) -> None:
        """Start the bind supervisors; wait up to ``start_wait`` seconds for a first
        transmitter so the first messages do not fail with carrier_unavailable (never fails
        itself: a carrier that is down is retried in the background)."""
        self._sink = sink
        self._running = True
        self._tasks = [
            asyncio.create_task(self._supervise(slot), name=f"{self.name}-bind{slot}")
            for slot in range(len(self._slots))
        ]
        self._tasks.append(asyncio.create_task(self._expire_loop(), name=f"{self.name}-mo"))
        await self._transmitter(self.options.start_wait)

    async def stop(self) -> None:
        """Unbind every session; submits in flight fail with CARRIER_UNAVAILABLE.
        Incomplete concatenated MO messages are handed on as they are."""
        self._running = False
        self._bound_changed.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        clients = [c for c in self._clients if c is not None]
        self._clients = [None] * len(self._slots)
        await asyncio.gather(*(c.unbind(1.0) for c in clients), return_exceptions=True)
        for part, text in self._assembler.flush():
            with contextlib.suppress(Exception):
                await self._hand_on_mo(part, text)

    def health(self) -> ConnectorHealth:
        bound = sum(1 for c in self._clients if c is not None and c.is_bound)
        up = self._running and self._pick() is not None
        detail = f"{bound}/{len(self._slots)} sessions bound to {self.host}:{self.port}"
        if self.pacer.slowed and self.pacer.limit is not None:
            detail += f"; slowed to {self.pacer.limit:.0f} msg/s after throttling"
        if self.last_error and (not up or bound < len(self._slots)):
            detail += f"; last error: {self.last_error}"
        return ConnectorHealth(self.name, up, detail)

    @property
    def bound_sessions(self) -> int:
        return sum(1 for c in self._clients if c is not None and c.is_bound)

    # ------------------------------------------------------------------ sessions

    async def _connect(self, bind_type: BindType, backoff: Backoff | None = None) -> SmppClient:
        """One connect and bind. A connection refused outright starts ``backoff`` over:
        nothing listens (the carrier is down or restarting), asking again costs it nothing,
        and a backoff grown through a long outage would keep a carrier that is back unbound
        (its traffic on other connectors) for up to ``reconnect_max``."""
        o = self.options
        try:
            client = await connect(
                self.host,
                self.port,
                o.system_id,
                o.password,
                bind_type,
                system_type=o.system_type,
                window=o.window,
                response_timeout=o.response_timeout,
                bind_timeout=o.bind_timeout,
                connect_timeout=o.bind_timeout,
                enquire_link_interval=o.enquire_link_interval,
                on_deliver=self._on_deliver,
                now=self._now,
                tick_interval=o.tick_interval,
            )
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, ConnectionRefusedError) and backoff is not None:
                backoff.reset()
            raise
        self.stats["binds"] += 1
        return client

    async def _supervise(self, slot: int) -> None:
        """Keep session ``slot`` bound while started (top of a long-lived task)."""
        bind_type = self._slots[slot]
        initial = self.options.reconnect_initial
        backoff = Backoff(initial=initial, maximum=self.options.reconnect_max)
        while self._running:
            try:
                client = await connect_with_backoff(
                    functools.partial(self._connect, bind_type, backoff), backoff=backoff
                )
            except BindError as exc:  # credentials refused: retried slowly, loudly
                log.error("connector=%s bind refused: %s", self.name, exc)
                await asyncio.sleep(max(backoff.next_delay(), initial))
                continue
            except Exception as exc:
                log.exception("connector=%s bind failed", self.name)
                self.last_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(backoff.next_delay())
                continue
            self._clients[slot] = client
            self._bound_changed.set()
            started = self._now()
            await client.wait_closed()
            self._clients[slot] = None
            if not self._running:
                return
            self.last_error = str(client.close_reason or "connection closed")
            log.warning(
                "connector=%s session %d (%s) ended: %s; reconnecting",
                self.name,
                slot,
                bind_type.name.lower(),
                self.last_error,
            )
            if self._now() - started < initial:
                await asyncio.sleep(backoff.next_delay())  # flapping: do not hammer the MC

    def _pick(self) -> SmppClient | None:
        """The bound transmitter with the most free window slots (ties in turn)."""
        n = len(self._clients)
        start = next(self._turn) % n
        best: SmppClient | None = None
        for i in range(n):
            client = self._clients[(start + i) % n]
            if (
                client is not None
                and client.bind_type is not BindType.RECEIVER
                and client.is_bound
                and (best is None or client.window_free > best.window_free)
            ):
                best = client
        return best

    async def _transmitter(self, wait: float) -> SmppClient | None:
        """A bound transmitter, waiting up to ``wait`` seconds for one to (re)bind."""
        client = self._pick()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while client is None and self._running and (remaining := deadline - loop.time()) > 0:
            self._bound_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bound_changed.wait(), remaining)
            client = self._pick()
        return client

    # ------------------------------------------------------------------ submitting

    async def submit(self, message: OutboundMessage) -> SubmitOutcome:
        """Submit every segment; see the module docstring. Never raises for carrier-side
        failures."""
        if not self._running:
            return SubmitOutcome(error=ErrorCode.CARRIER_UNAVAILABLE, detail="connector stopped")
        try:
            pdus = build_submits(message, self._submit, next(self._refs))
        except SmsError as exc:
            return SubmitOutcome(error=exc.code, detail=exc.detail)
        except ValueError as exc:
            return SubmitOutcome(error=ErrorCode.CARRIER_REJECTED, detail=str(exc))
        ids: list[str | None] = [None] * len(pdus)
        todo = list(range(len(pdus)))
        retries = 0
        while True:
            failures = await self._send(pdus, todo, ids)
            if not failures:
                self.stats["submitted"] += 1
                return SubmitOutcome(carrier_ids=tuple(i or "" for i in ids))
            some_accepted = any(i is not None for i in ids)
            if (
                some_accepted
                and retries < self.options.continuation_retries
                and all(code in _SLOW_DOWN for code, _ in failures.values())
            ):
                retries += 1
                todo = sorted(failures)
                continue
            self.stats["failed"] += 1
            first = min(failures)
            code, detail = failures[first]
            if len(pdus) > 1:
                detail = f"segment {first + 1}/{len(pdus)}: {detail}"
            return SubmitOutcome(error=code, detail=detail)

    async def _send(
        self, pdus: list[Pdu], todo: list[int], ids: list[str | None]
    ) -> dict[int, _Failure]:
        """Send ``pdus[i]`` for each i in ``todo`` on one session, pipelined; fill ``ids``
        with the accepted ones and return the failures by segment index."""
        client = await self._transmitter(self.options.bind_wait)
        if client is None:
            why = f"no bound session ({self.last_error or 'connecting'})"
            return {i: (ErrorCode.CARRIER_UNAVAILABLE, why) for i in todo}
        failures: dict[int, _Failure] = {}
        sent: list[tuple[int, asyncio.Future[Pdu]]] = []
        for k, i in enumerate(todo):
            pdu = pdus[i]
            pdu.sequence_number = 0  # a resend gets a fresh sequence number
            await self._inflight.acquire()
            try:
                await self._pace()
                future = await client.send_request(pdu, self.options.response_timeout)
            except BaseException as exc:
                self._inflight.release()
                if not isinstance(exc, SmppError):
                    raise
                failure = _failure(exc)
                failures.update((j, failure) for j in todo[k:])
                break
            future.add_done_callback(self._release)
            sent.append((i, future))
        self.stats["segments"] += len(sent)
        for i, future in sent:
            try:
                resp = await future
            except SmppError as exc:
                failures[i] = _failure(exc)
                continue
            status = resp.command_status
            if status == 0 and resp.command_id != CommandId.GENERIC_NACK:
                message_id = resp.str_field("message_id")
                if not message_id:
                    log.warning("connector=%s: submit_sm_resp without message_id", self.name)
                ids[i] = normalise_message_id(message_id)
                continue
            status = status or CommandStatus.ESME_RUNKNOWNERR
            if status == CommandStatus.ESME_RTHROTTLED:
                self.pacer.throttled(self._now())
            failures[i] = (error_for_status(status), status_name(status))
        return failures

    def _release(self, _: asyncio.Future[Pdu]) -> None:
        self._inflight.release()

    async def _pace(self) -> None:
        """Wait for this PDU's send time; reserve again if a throttle came meanwhile."""
        pacer = self.pacer
        while True:
            generation = pacer.generation
            delay = pacer.reserve(self._now())
            if delay > 0:
                await asyncio.sleep(delay)
            if pacer.generation == generation:
                return

    # ------------------------------------------------------------------ inbound

    async def _on_deliver(self, pdu: Pdu) -> int | None:
        """deliver_sm/data_sm from the carrier; the status returned is the response's."""
        sink = self._sink
        if sink is None or not self._running:
            return CommandStatus.ESME_RX_T_APPN  # not ready: the carrier keeps it, retries
        if pdu.command_id == CommandId.ALERT_NOTIFICATION:
            return None
        if is_receipt(pdu):
            receipt = _delivered_receipt(pdu) or receipt_from_pdu(pdu)
            report = (
                None
                if receipt is None
                else report_from_receipt(
                    self.name, receipt, self._wall(), self.options.receipt_id_format
                )
            )
            if report is None:
                log.warning("connector=%s: receipt without a message id; ignored", self.name)
                return None
            await sink.report(report)
            self.stats["receipts"] += 1
            return None
        if pdu.int_field("esm_class") & ESM_TYPE_MASK:
            # SME acknowledgements and intermediate notifications (§5.2.12): nothing to do.
            log.info(
                "connector=%s: deliver_sm esm_class=0x%02x ignored",
                self.name,
                pdu.int_field("esm_class"),
            )
            return None
        part = mo_part_from_pdu(pdu, gsm7_packing=self._submit.gsm7_packing)
        if part.total == 1:
            await self._hand_on_mo(part, part.text)
            return None
        text = self._assembler.add(part, self._now())
        if text is not None:
            await self._hand_on_mo(part, text)
        return None

    async def _hand_on_mo(self, part: MoPart, text: str) -> None:
        if self._sink is None:
            return
        await self._sink.mo(
            InboundMessage(
                connector=self.name,
                sender=part.source,
                to=part.destination,
                body=text,
                received_at=self._wall(),
            )
        )
        self.stats["mo"] += 1

    async def _expire_loop(self) -> None:
        """Hand on concatenated MO messages whose missing parts never came."""
        interval = max(0.05, min(1.0, self._assembler.timeout / 4))
        while True:
            await asyncio.sleep(interval)
            for part, text in self._assembler.expire(self._now()):
                log.warning(
                    "connector=%s: concatenated MO from %s incomplete after %.0fs; "
                    "handing on what arrived",
                    self.name,
                    part.source,
                    self._assembler.timeout,
                )
                try:
                    await self._hand_on_mo(part, text)
                except Exception:
                    log.exception("connector=%s: MO sink failed", self.name)
