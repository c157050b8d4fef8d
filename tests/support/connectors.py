"""A scripted stand-in for the Connector interface, for engine tests on the manual clock.

Not a carrier simulator (that is :mod:`smsrelay.simulator`, over real SMPP): it has no
latency, receipt delay or outcome mix of its own. It answers each submit at once, from a
script, and sends a receipt only when the test calls :meth:`ScriptedConnector.receipt`, so
a dispatcher test decides every event itself and never waits on sockets or the wall clock.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from smsrelay.connectors.base import ConnectorHealth, InboundSink
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import (
    DeliveryReport,
    OutboundMessage,
    ReceiptStatus,
    SubmitOutcome,
)

Script = Callable[[OutboundMessage, tuple[str, ...]], SubmitOutcome | None]


class ScriptedConnector:
    """Accepts everything unless ``fail_with`` or ``script`` says otherwise."""

    def __init__(
        self,
        name: str,
        *,
        fail_with: ErrorCode | None = None,
        script: Script | None = None,
        national_languages: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.national_languages = national_languages
        self.fail_with = fail_with
        self.script = script
        self.sink: InboundSink | None = None
        self.submitted: list[OutboundMessage] = []
        self.carrier_ids: dict[str, tuple[str, ...]] = {}
        self._ids = itertools.count(1)
        self.before_answer: Callable[[OutboundMessage, tuple[str, ...]], object] | None = None

    async def start(self, sink: InboundSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def health(self) -> ConnectorHealth:
        return ConnectorHealth(self.name, True)

    async def submit(self, message: OutboundMessage) -> SubmitOutcome:
        self.submitted.append(message)
        ids = tuple(f"{self.name}-{next(self._ids)}" for _ in range(message.segments))
        if self.script is not None:
            scripted = self.script(message, ids)
            if scripted is not None:
                return scripted
        if self.fail_with is not None:
            return SubmitOutcome(error=self.fail_with, detail="scripted failure")
        self.carrier_ids[message.message_id] = ids
        if self.before_answer is not None:
            result = self.before_answer(message, ids)
            if asyncio.iscoroutine(result):
                await result
        return SubmitOutcome(carrier_ids=ids)

    async def receipt(self, carrier_id: str, status: ReceiptStatus, at: float = 0.0) -> None:
        assert self.sink is not None
        await self.sink.report(DeliveryReport(self.name, carrier_id, status, at))
