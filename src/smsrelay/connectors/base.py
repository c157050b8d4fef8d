"""The one seam between the engine and a carrier.

A connector submits one message at a time and reports back, through the sink it is started
with, every delivery receipt (and later, mobile-originated message) the carrier sends. It does
no routing and no retries: it answers each submit with the carrier ids of the segments or a
catalogue error, and the engine decides what happens next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from smsrelay.domain.messages import (
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    SubmitOutcome,
)


class InboundSink(Protocol):
    """Where a connector hands what the carrier sends us.

    Both methods must return quickly (they queue, they do not process), because a connector
    calls them from its read loop and answers the carrier only afterwards.
    """

    async def report(self, report: DeliveryReport) -> None: ...

    async def mo(self, message: InboundMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class ConnectorHealth:
    name: str
    up: bool
    detail: str = ""


class Connector(Protocol):
    name: str

    async def start(self, sink: InboundSink) -> None:
        """Open connections; from now on receipts flow into ``sink``."""
        ...

    async def stop(self) -> None:
        """Close connections; pending submits fail with carrier_unavailable."""
        ...

    async def submit(self, message: OutboundMessage) -> SubmitOutcome:
        """Submit every segment of ``message``; never raises for carrier-side failures."""
        ...

    def health(self) -> ConnectorHealth: ...
