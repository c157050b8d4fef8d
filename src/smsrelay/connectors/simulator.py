"""The built-in carrier: a connector that accepts messages in-process and sends receipts later.

It lets the whole pipeline run with nothing else installed, and serves as the scriptable
carrier double in tests: submit latency, receipt delay, the mix of final outcomes and a share
of transient errors are all configurable, and a seed makes the outcomes reproducible.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Mapping

from smsrelay.connectors.base import ConnectorHealth, InboundSink
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import (
    DeliveryReport,
    OutboundMessage,
    ReceiptStatus,
    SubmitOutcome,
)

_OUTCOMES = {s.value: s for s in ReceiptStatus}


class SimulatorConnector:
    """An in-process carrier with configurable latency, receipt delay and outcomes."""

    def __init__(
        self,
        name: str = "simulator",
        *,
        latency: float = 0.005,
        dlr_delay: float = 0.2,
        outcomes: Mapping[str, float] | None = None,
        transient_error_rate: float = 0.0,
        seed: int | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.latency = latency
        self.dlr_delay = dlr_delay
        mix = dict(outcomes or {"delivered": 1.0})
        unknown = set(mix) - set(_OUTCOMES)
        if unknown:
            raise ValueError(f"unknown simulator outcome(s): {sorted(unknown)}")
        self._statuses = [_OUTCOMES[k] for k in mix]
        self._weights = list(mix.values())
        self.transient_error_rate = transient_error_rate
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._prefix = f"{self._rng.getrandbits(32):08x}"
        self._sink: InboundSink | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._now = now
        self.submitted: list[OutboundMessage] = []
        self.running = False

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink
        self.running = True

    async def stop(self) -> None:
        self.running = False
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        self._pending.clear()

    def health(self) -> ConnectorHealth:
        return ConnectorHealth(self.name, self.running, "in-process simulator")

    async def submit(self, message: OutboundMessage) -> SubmitOutcome:
        if not self.running:
            return SubmitOutcome(error=ErrorCode.CARRIER_UNAVAILABLE, detail="simulator stopped")
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.transient_error_rate and self._rng.random() < self.transient_error_rate:
            return SubmitOutcome(
                error=ErrorCode.CARRIER_SYSTEM_ERROR, detail="simulated transient error"
            )
        self.submitted.append(message)
        ids = tuple(f"{self._prefix}{next(self._ids):010x}" for _ in range(message.segments))
        status = self._rng.choices(self._statuses, self._weights)[0]
        task = asyncio.create_task(self._report_later(ids, status))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return SubmitOutcome(carrier_ids=ids)

    async def _report_later(self, ids: tuple[str, ...], status: ReceiptStatus) -> None:
        await asyncio.sleep(self.dlr_delay)
        if self._sink is None:
            return
        error = None if status is ReceiptStatus.DELIVERED else "000"
        for carrier_id in ids:
            await self._sink.report(
                DeliveryReport(
                    connector=self.name,
                    carrier_id=carrier_id,
                    status=status,
                    at=self._now(),
                    error=error,
                )
            )
