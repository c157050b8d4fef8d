"""``type = "simulator"``: the one carrier simulator, started in-process and reached over SMPP,
with its knobs (latency, receipt delay, outcome mix, error rate, seed) set from options."""

from __future__ import annotations

from smsrelay.connectors.embedded import EmbeddedSimulatorConnector
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import ReceiptStatus
from tests.connectors.smpp_support import RecordingSink, message
from tests.support.servers import wait_for


async def test_it_binds_to_its_own_carrier_and_reports_the_configured_outcome() -> None:
    sink = RecordingSink()
    options = SimulatorOptions(
        name="sim", latency_ms=1, dlr_delay_ms=10, outcomes={"undelivered": 1.0}
    )
    connector = EmbeddedSimulatorConnector(options)
    await connector.start(sink)
    try:
        assert connector.health().up and "embedded simulator" in connector.health().detail
        assert connector.port == connector.carrier.port != 0
        outcome = await connector.submit(message())
        assert outcome.ok and len(outcome.carrier_ids) == 1
        await wait_for(lambda: sink.reports)
        [report] = sink.reports
        assert (report.connector, report.status) == ("sim", ReceiptStatus.UNDELIVERED)
        assert report.carrier_id == outcome.carrier_ids[0]
    finally:
        await connector.stop()
    assert not connector.carrier.server.sessions
    assert not connector.health().up


async def test_error_rate_and_seed() -> None:
    failing = EmbeddedSimulatorConnector(SimulatorOptions(name="f", transient_error_rate=1.0))
    await failing.start(RecordingSink())
    try:
        outcome = await failing.submit(message())
        assert outcome.error is ErrorCode.CARRIER_SYSTEM_ERROR
    finally:
        await failing.stop()

    ids = []
    for _ in range(2):
        seeded = EmbeddedSimulatorConnector(SimulatorOptions(name="s", seed=7, latency_ms=0))
        await seeded.start(RecordingSink())
        try:
            ids.append((await seeded.submit(message())).carrier_ids)
        finally:
            await seeded.stop()
    assert ids[0] == ids[1]
