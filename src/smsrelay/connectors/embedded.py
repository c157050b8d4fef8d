"""``type = "simulator"``: the carrier simulator started inside this process, reached over SMPP.

There is one carrier simulator, :mod:`smsrelay.simulator`, a real SMSC on a TCP socket. This
connector starts one on 127.0.0.1 and is an :class:`~.smpp.SmppConnector` bound to it, so a
route through a simulated carrier runs exactly the code a real carrier's does (binds,
windows, submit_sm, receipts as deliver_sm) and nothing here imitates a carrier in-process.
It is what smsrelay runs when no connector is configured.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from smsrelay.connectors.base import ConnectorHealth, InboundSink
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.connectors.smpp import SmppConnector
from smsrelay.simulator import CarrierConfig, CarrierSimulator, Faults

__all__ = ["EmbeddedSimulatorConnector", "carrier_for"]

log = logging.getLogger(__name__)


def carrier_for(options: SimulatorOptions) -> CarrierSimulator:
    """The simulator the options describe, not yet listening."""
    config = CarrierConfig(
        latency=options.latency_ms / 1000.0,
        dlr_delay=options.dlr_delay_ms / 1000.0,
        outcomes=dict(options.outcomes),
        seed=options.seed,
    )
    faults = Faults(error_rate=options.transient_error_rate)
    return CarrierSimulator(config, faults, host="127.0.0.1", port=options.port)


class EmbeddedSimulatorConnector(SmppConnector):
    """An SMPP connector whose carrier it starts itself, on 127.0.0.1 (``options.port``, 0:
    ephemeral). ``carrier`` is the simulator, for tests that inject MO messages or look at
    what it accepted."""

    def __init__(
        self,
        options: SimulatorOptions,
        *,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(options.smpp(options.port), now=now, wall=wall)
        self.simulator_options = options
        self.carrier = carrier_for(options)

    async def start(self, sink: InboundSink) -> None:
        """Listen first, then bind to the port the simulator got."""
        await self.carrier.start()
        self.options = self.simulator_options.smpp(self.carrier.port)
        self.port = self.carrier.port
        log.info("connector=%s: carrier simulator on 127.0.0.1:%d", self.name, self.port)
        await super().start(sink)

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            with contextlib.suppress(Exception):
                await self.carrier.stop()

    def health(self) -> ConnectorHealth:
        health = super().health()
        return ConnectorHealth(health.name, health.up, f"embedded simulator; {health.detail}")
