"""Shared pieces for SMPP connector tests: a recording sink and connector↔simulator pairs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.smpp import SmppConnector
from smsrelay.domain.encoding_choice import analyze
from smsrelay.domain.messages import DeliveryReport, InboundMessage, OutboundMessage
from smsrelay.simulator import CarrierConfig, CarrierSimulator, Faults

#: Real seconds between timer checks; short so response timeouts fire promptly.
TICK = 0.02


class RecordingSink:
    """Keeps every report and MO message a connector hands on."""

    def __init__(self) -> None:
        self.reports: list[DeliveryReport] = []
        self.mos: list[InboundMessage] = []

    async def report(self, report: DeliveryReport) -> None:
        self.reports.append(report)

    async def mo(self, message: InboundMessage) -> None:
        self.mos.append(message)

    def ids(self) -> set[str]:
        return {r.carrier_id for r in self.reports}


def message(
    text: str = "Your verification code is 1234",
    *,
    to: str = "+4915112345678",
    sender: str | None = "Acme",
    message_id: str = "m1",
) -> OutboundMessage:
    """An outbound message encoded and counted the way the accept pipeline does it."""
    info = analyze(text)
    return OutboundMessage(
        message_id=message_id,
        to=to,
        body=info.text,
        encoding=info.encoding,
        segments=info.segments,
        sender=sender,
    )


@contextlib.asynccontextmanager
async def carrier(
    config: CarrierConfig | None = None, faults: Faults | None = None
) -> AsyncIterator[CarrierSimulator]:
    simulator = CarrierSimulator(
        config or CarrierConfig(dlr_delay=0.02), faults, tick_interval=TICK
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@contextlib.asynccontextmanager
async def connected(
    simulator: CarrierSimulator, sink: RecordingSink | None = None, **options: Any
) -> AsyncIterator[SmppConnector]:
    options.setdefault("reconnect_initial", 0.05)
    options.setdefault("reconnect_max", 0.2)
    options.setdefault("tick_interval", TICK)
    connector = SmppConnector(SmppOptions(name="carrier", port=simulator.port, **options))
    await connector.start(sink or RecordingSink())
    try:
        yield connector
    finally:
        await connector.stop()
