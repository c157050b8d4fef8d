"""The carrier simulator: an SMSC over real TCP that accepts, answers and reports like a carrier.

It stands on :mod:`smsrelay.smpp.server` (the MC role) and knows nothing of accounts or
storage. What it does:

- accepts binds: any system_id/password, or only the configured ones (ESME_RINVSYSID /
  ESME_RINVPASWD otherwise, §4.1);
- answers submit_sm, data_sm and submit_multi with a fresh message id (§4.4.2, §4.7.2,
  §4.5.2), written in hex (zero-padded, so id normalisation is exercised) or in decimal;
- sends a delivery receipt per accepted PDU after ``dlr_delay``: a deliver_sm with esm_class
  0x04 (§5.2.12), the Appendix B text, and the receipted_message_id and message_state TLVs
  (§5.3.2.12, §5.3.2.35); the outcome is drawn per PDU from ``outcomes``. A receipt goes to
  a receiver-capable bind of the same system_id; it waits while none is bound, and is sent
  again after ``receipt_retry`` when the deliver_sm fails or is answered with an error;
- injects the faults of :mod:`.faults`, and mobile-originated messages on request
  (:meth:`CarrierSimulator.inject_mo`).

``receipt_id_format`` reproduces a known carrier quirk: receipts naming the message in the
other base than the submit_sm_resp did.

Longer than 400 lines because it is one peer with one state: the submits it holds, the
receipts it owes and the sessions that receive them; the fault and MO parts already live in
their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from smsrelay.domain.encoding import decode_gsm7
from smsrelay.smpp.constants import CommandId, CommandStatus, EsmClass, MessageState
from smsrelay.smpp.errors import SessionClosed, SmppError
from smsrelay.smpp.pdu import Pdu, deliver_sm, response_to
from smsrelay.smpp.receipts import format_receipt
from smsrelay.smpp.server import BindRequest, ServerSession, SmppServer, SmscHandler
from smsrelay.smpp.specs import SmeAddress

from .faults import Faults, FaultState
from .mo import mo_pdus

__all__ = ["OUTCOME_STATES", "CarrierConfig", "CarrierSimulator", "parse_outcomes"]

log = logging.getLogger(__name__)

#: Outcome names (as in ``--outcomes delivered=0.9,undelivered=0.1``) → §5.2.28 state.
OUTCOME_STATES: dict[str, MessageState] = {
    "delivered": MessageState.DELIVERED,
    "undelivered": MessageState.UNDELIVERABLE,
    "expired": MessageState.EXPIRED,
    "rejected": MessageState.REJECTED,
}

#: The receipt's ``err:`` for each outcome (network error codes are carrier-specific).
_ERR = {
    MessageState.DELIVERED: 0,
    MessageState.UNDELIVERABLE: 1,
    MessageState.EXPIRED: 27,
    MessageState.REJECTED: 8,
}

_SUBMITS = frozenset({CommandId.SUBMIT_SM, CommandId.DATA_SM, CommandId.SUBMIT_MULTI})


def parse_outcomes(text: str) -> dict[str, float]:
    """``"delivered=0.9,undelivered=0.1"`` → weights. Raises ValueError on a bad entry."""
    mix: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, weight = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in OUTCOME_STATES:
            raise ValueError(f"bad outcome {item!r}: use {'|'.join(OUTCOME_STATES)}=weight")
        mix[name] = float(weight)
    if not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"bad outcome mix {text!r}")
    return mix


@dataclass(frozen=True, slots=True)
class CarrierConfig:
    """How the simulated carrier behaves when nothing goes wrong.

    Attributes:
        system_id, password: the credentials a bind must present (``None``: any).
        id_format: message ids in submit_sm_resp: ``hex`` (10 digits, zero-padded) or ``dec``.
        receipt_id_format: the id in receipts: ``same`` as the response, or always ``hex``
            or ``dec`` (the quirk of carriers that change base between the two).
        latency: seconds before a submit is answered (the carrier's response time); the
            PDU is accepted, and its receipt scheduled, when the answer goes out.
        dlr_delay: seconds from accepting a PDU to sending its receipt.
        outcomes: weights of the receipt outcomes, drawn per PDU.
        receipt_tlvs: add receipted_message_id and message_state to receipts.
        receipt_retry: seconds before a receipt whose deliver_sm failed is sent again.
        mc_system_id: the system_id this MC gives in bind responses.
        window: outstanding deliver_sm per session.
        seed: makes ids, outcomes and random faults reproducible.
    """

    system_id: str | None = None
    password: str | None = None
    id_format: Literal["hex", "dec"] = "hex"
    receipt_id_format: Literal["same", "hex", "dec"] = "same"
    latency: float = 0.0
    dlr_delay: float = 0.2
    outcomes: Mapping[str, float] = field(default_factory=lambda: {"delivered": 1.0})
    receipt_tlvs: bool = True
    receipt_retry: float = 1.0
    mc_system_id: str = "simulator"
    window: int = 100
    seed: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.outcomes) - set(OUTCOME_STATES)
        if unknown or not self.outcomes or sum(self.outcomes.values()) <= 0:
            raise ValueError(f"bad outcome mix {dict(self.outcomes)}")
        if self.latency < 0 or self.dlr_delay < 0:
            raise ValueError("latency and dlr_delay cannot be negative")


def _format_id(number: int, base: str) -> str:
    return format(number, "010x") if base == "hex" else str(number)


class CarrierSimulator(SmscHandler):
    """The simulated carrier. ``await start()`` listens; ``await stop()`` closes.

    Parameters beyond the config: ``host``/``port`` to listen on (port 0: ephemeral, read
    :attr:`port`), ``now`` (monotonic clock for faults and timers), ``wall`` (unix time for
    receipt dates), and the server's ``tick_interval``/``response_timeout``/
    ``enquire_link_interval``.

    For tests: ``accepted`` keeps the last accepted PDUs with their ids, ``stats`` counts
    what happened, and :meth:`stall`/:meth:`end_stall` change the stall fault at run time.
    """

    def __init__(
        self,
        config: CarrierConfig | None = None,
        faults: Faults | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        tick_interval: float = 0.5,
        response_timeout: float = 10.0,
        enquire_link_interval: float | None = 30.0,
        keep_accepted: int = 100_000,
    ) -> None:
        self.config = config or CarrierConfig()
        self._rng = random.Random(self.config.seed)
        self.faults = FaultState(faults or Faults(), self._rng)
        self._now = now
        self._wall = wall
        self.server = SmppServer(
            self,
            host,
            port,
            system_id=self.config.mc_system_id,
            window=self.config.window,
            response_timeout=response_timeout,
            enquire_link_interval=enquire_link_interval,
            now=now,
            tick_interval=tick_interval,
        )
        self._ids = itertools.count(self._rng.randrange(1, 1 << 32))
        self._states = [OUTCOME_STATES[name] for name in self.config.outcomes]
        self._cum_weights = list(itertools.accumulate(self.config.outcomes.values()))
        self._requests: dict[ServerSession, int] = {}
        self._due: deque[tuple[float, str, Pdu]] = deque()
        self._due_wake = asyncio.Event()
        self._outbox: dict[str, deque[Pdu]] = {}
        self._outbox_wake = asyncio.Event()
        self._turn = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.TimerHandle] = set()
        self.accepted: deque[tuple[str, Pdu]] = deque(maxlen=keep_accepted)
        self.stats = {
            "binds": 0,
            "accepted": 0,
            "throttled": 0,
            "errors": 0,
            "dropped": 0,
            "stalled": 0,
            "deliver_sm_ok": 0,
            "deliver_sm_failed": 0,
            "mo_sent": 0,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.server.start()
        self._tasks = [
            asyncio.create_task(self._schedule_loop(), name="carrier-receipts"),
            asyncio.create_task(self._deliver_loop(), name="carrier-deliver"),
        ]

    async def stop(self) -> None:
        for handle in self._retries:
            handle.cancel()
        self._retries.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.server.close(unbind_timeout=0.5)

    async def __aenter__(self) -> CarrierSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def set_outcomes(self, outcomes: Mapping[str, float]) -> None:
        """Draw receipts from ``outcomes`` from now on: a carrier whose delivery changes
        while it runs (raises ``ValueError`` for a bad mix, as the config does)."""
        self.config = replace(self.config, outcomes=dict(outcomes))
        self._states = [OUTCOME_STATES[name] for name in self.config.outcomes]
        self._cum_weights = list(itertools.accumulate(self.config.outcomes.values()))

    def stall(self, seconds: float | None = None) -> None:
        """Stop answering submits for ``seconds`` (``None``: until :meth:`end_stall`)."""
        self.faults.stall(self._now(), seconds)

    def end_stall(self) -> None:
        self.faults.end_stall()

    def drop_connections(self) -> None:
        """Close every connection now, as a carrier restart would."""
        for session in self.server.sessions:
            session.close()

    @property
    def pending_receipts(self) -> int:
        """Receipts scheduled or waiting for a receiver."""
        return len(self._due) + sum(len(q) for q in self._outbox.values())

    # ------------------------------------------------------------------ SmscHandler

    async def authenticate(self, request: BindRequest) -> int:
        c = self.config
        if c.system_id is not None and request.system_id != c.system_id:
            return CommandStatus.ESME_RINVSYSID
        if c.password is not None and request.password != c.password:
            return CommandStatus.ESME_RINVPASWD
        self.stats["binds"] += 1
        return CommandStatus.ESME_ROK

    def on_bound(self, session: ServerSession) -> None:
        if session.can_deliver:
            self._outbox_wake.set()  # receipts may have waited for this receiver

    def on_closed(self, session: ServerSession, reason: SessionClosed) -> None:
        self._requests.pop(session, None)

    def handle_request(
        self, session: ServerSession, pdu: Pdu
    ) -> Pdu | Awaitable[Pdu | None] | None:
        if pdu.command_id not in _SUBMITS:
            return response_to(pdu, CommandStatus.ESME_RINVCMDID)
        count = self._requests[session] = self._requests.get(session, 0) + 1
        verdict = self.faults.judge(session.system_id, count, self._now())
        if verdict.drop:
            self.stats["dropped"] += 1
            log.info(
                "carrier simulator: dropping connection peer=%s after %d requests",
                session.peer,
                count,
            )
            session.close()
            return None
        if verdict.stall:
            self.stats["stalled"] += 1
            return None
        if verdict.status:
            key = "throttled" if verdict.status == CommandStatus.ESME_RTHROTTLED else "errors"
            self.stats[key] += 1
            return response_to(pdu, verdict.status)
        if self.config.latency > 0:
            return self._accept_later(session, pdu)
        return self._accept(session, pdu)

    async def _accept_later(self, session: ServerSession, pdu: Pdu) -> Pdu:
        await asyncio.sleep(self.config.latency)
        return self._accept(session, pdu)

    def _accept(self, session: ServerSession, pdu: Pdu) -> Pdu:
        number = next(self._ids)
        message_id = _format_id(number, self.config.id_format)
        self.stats["accepted"] += 1
        self.accepted.append((message_id, pdu))
        if pdu.int_field("registered_delivery") & 0x03:
            self._schedule_receipts(session.system_id, pdu, number)
        fields: dict[str, object] = {"message_id": message_id}
        if pdu.command_id == CommandId.SUBMIT_MULTI:
            fields["unsuccess_sme"] = []
        return response_to(pdu, 0, fields)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ MO injection

    def inject(self, system_id: str, pdu: Pdu) -> None:
        """Queue any deliver_sm for a receiver of ``system_id`` (same retry as receipts)."""
        self._outbox.setdefault(system_id, deque()).append(pdu)
        self._outbox_wake.set()

    def inject_mo(
        self,
        system_id: str,
        source: str,
        destination: str,
        text: str,
        *,
        concat: Literal["udh", "sar"] = "udh",
    ) -> list[Pdu]:
        """Send a mobile-originated message (not a receipt) to ``system_id``'s receiver;
        long texts go as several concatenated deliver_sm. Returns the PDUs queued."""
        pdus = mo_pdus(source, destination, text, concat=concat, ref=self._rng.randrange(1, 256))
        for pdu in pdus:
            self.inject(system_id, pdu)
        self.stats["mo_sent"] += len(pdus)
        return pdus

    # ------------------------------------------------------------------ receipts

    def _schedule_receipts(self, system_id: str, pdu: Pdu, number: int) -> None:
        due = self._now() + self.config.dlr_delay
        if pdu.command_id == CommandId.SUBMIT_MULTI:
            raw = pdu.fields.get("dest_addresses")
            targets = [a for a in raw if isinstance(a, SmeAddress)] if isinstance(raw, list) else []
            dests = [(a.address, a.ton, a.npi) for a in targets]
        else:
            dests = [
                (
                    pdu.str_field("destination_addr"),
                    pdu.int_field("dest_addr_ton"),
                    pdu.int_field("dest_addr_npi"),
                )
            ]
        for dest in dests:
            state = self._rng.choices(self._states, cum_weights=self._cum_weights)[0]
            self._due.append((due, system_id, self._receipt(pdu, dest, number, state)))
        self._due_wake.set()

    def _receipt(
        self, pdu: Pdu, dest: tuple[str, int, int], number: int, state: MessageState
    ) -> Pdu:
        base = self.config.receipt_id_format
        rid = _format_id(number, self.config.id_format if base == "same" else base)
        when = datetime.fromtimestamp(self._wall(), UTC)
        text = format_receipt(
            rid,
            state,
            submit_date=when,
            done_date=when,
            err=_ERR.get(state, 0),
            text=self._snippet(pdu),
        )
        tlvs: dict[str | int, int | str | bytes] = {}
        if self.config.receipt_tlvs:
            tlvs = {"receipted_message_id": rid, "message_state": int(state)}
        # §4.6.1: in a receipt the addresses are those of the original message, swapped.
        return deliver_sm(
            dest[0],
            pdu.str_field("source_addr"),
            text.encode("latin-1", "replace"),
            tlvs=tlvs,
            source_addr_ton=dest[1],
            source_addr_npi=dest[2],
            dest_addr_ton=pdu.int_field("source_addr_ton"),
            dest_addr_npi=pdu.int_field("source_addr_npi"),
            esm_class=int(EsmClass.DELIVERY_RECEIPT),
        )

    @staticmethod
    def _snippet(pdu: Pdu) -> str:
        body = pdu.fields.get("short_message")
        if not isinstance(body, bytes) or pdu.int_field("esm_class") & EsmClass.UDHI:
            return ""
        if pdu.int_field("data_coding") == 0:
            return decode_gsm7(body[:20])
        if pdu.int_field("data_coding") in (1, 3):
            return body[:20].decode("latin-1")
        return ""

    async def _schedule_loop(self) -> None:
        """Move receipts whose delay has passed to the outbox (the delay is the same for
        all, so ``_due`` is in time order and one timer serves them all)."""
        while True:
            if not self._due:
                self._due_wake.clear()
                await self._due_wake.wait()
                continue
            wait = self._due[0][0] - self._now()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            now = self._now()
            while self._due and self._due[0][0] <= now:
                _, system_id, pdu = self._due.popleft()
                self._outbox.setdefault(system_id, deque()).append(pdu)
            self._outbox_wake.set()

    async def _deliver_loop(self) -> None:
        """Send queued deliver_sm to receivers, pipelined up to each session's window."""
        while True:
            self._outbox_wake.clear()
            for system_id, queue in list(self._outbox.items()):
                while queue:
                    receivers = self.server.receivers(system_id)
                    if not receivers:
                        break  # wait for on_bound
                    session = receivers[next(self._turn) % len(receivers)]
                    pdu = queue.popleft()
                    try:
                        future = await session.send_request(pdu)
                    except (SmppError, ConnectionError) as exc:
                        log.debug("carrier simulator: deliver_sm not sent: %s", exc)
                        queue.appendleft(pdu)
                        await asyncio.sleep(0)  # let the closed session leave the list
                        continue
                    future.add_done_callback(functools.partial(self._delivered, system_id, pdu))
            await self._outbox_wake.wait()

    def _delivered(self, system_id: str, pdu: Pdu, future: asyncio.Future[Pdu]) -> None:
        failed = future.cancelled() or future.exception() is not None
        if not failed and future.result().command_status == 0:
            self.stats["deliver_sm_ok"] += 1
            return
        self.stats["deliver_sm_failed"] += 1
        # A fresh sequence number on the retry: the session assigns one to seq 0.
        pdu.sequence_number = 0
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def retry() -> None:
            if handle is not None:
                self._retries.discard(handle)
            self.inject(system_id, pdu)

        handle = loop.call_later(self.config.receipt_retry, retry)
        self._retries.add(handle)


async def serve_forever(
    config: CarrierConfig,
    faults: Faults,
    host: str,
    port: int,
    announce: Callable[[str], object] = print,
) -> None:
    """Run a simulator until cancelled (the ``smsrelay simulate-carrier`` command)."""
    simulator = CarrierSimulator(config, faults, host=host, port=port)
    await simulator.start()
    announce(
        f"carrier simulator listening on {host}:{simulator.port} "
        f"(system_id {config.system_id or 'any'}, ids {config.id_format}, "
        f"receipts after {config.dlr_delay * 1000:.0f} ms)"
    )
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await simulator.stop()
