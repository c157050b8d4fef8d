"""A connector's throughput holds for the whole gateway: two gateway processes (two
``SmsRelay`` instances on one database, as ``SMSRELAY_WORKERS=2`` runs them) sending through
one connector limited to 100 messages/s together give the carrier 100 a second, not 200.
The rate is counted by the carrier, on its own clock."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from smsrelay.app import SmsRelay
from smsrelay.config import Settings
from smsrelay.connectors.options import SmppOptions
from smsrelay.engine.accept import SendRequest
from smsrelay.simulator import CarrierConfig, CarrierSimulator
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession
from smsrelay.store import accounts as account_store
from tests.support.gateway import database_url
from tests.support.servers import wait_for

RATE = 100.0
MESSAGES = 700


class TimingCarrier(CarrierSimulator):
    """Stamps every submit it accepts with its own clock."""

    def __init__(self) -> None:
        super().__init__(CarrierConfig(dlr_delay=0.05), port=0)
        self.times: list[float] = []

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu | None:
        answer = super().handle_request(session, pdu)
        if answer is not None and answer.command_status == 0:
            self.times.append(time.monotonic())
        return answer


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_workers_together_keep_the_connectors_rate(backend: str, tmp_path: Path) -> None:
    carrier = TimingCarrier()
    await carrier.start()
    relays: list[SmsRelay] = []
    try:
        async with database_url(backend, tmp_path) as url:
            for index in range(2):
                settings = Settings(
                    data_dir=tmp_path / "data",
                    database_url=url,
                    worker_index=index,
                    smpp_server_enabled=False,
                    connectors=[
                        SmppOptions(
                            name="limited",
                            port=carrier.port,
                            window=100,
                            throughput=RATE,
                        )
                    ],
                )
                relay = SmsRelay(settings)
                await relay.start()
                relays.append(relay)
            first = relays[0]
            assert first.db is not None
            async with first.db.read() as conn:
                account = (await account_store.list_accounts(conn))[0]
            rng = random.Random(3)
            for start in range(0, MESSAGES, 350):  # half through each worker
                await relays[start // 350 % 2].acceptor.accept(
                    account,
                    [
                        SendRequest(to="+14155552671", message=f"limited {n} {rng.random()}")
                        for n in range(start, start + 350)
                    ],
                    charge_rate=False,
                )
            await wait_for(lambda: len(carrier.times) >= MESSAGES, timeout=60, interval=0.1)
            workers = [r.dispatcher.stats["sent"] for r in relays]
            for relay in relays:
                await relay.stop()
            relays.clear()
    finally:
        for relay in relays:
            await relay.stop()
        await carrier.stop()
    assert len(carrier.times) == MESSAGES  # each message once
    assert all(sent > 0 for sent in workers), workers  # both workers sent
    times = sorted(carrier.times)
    begin, end = times[0] + 1.0, times[-1] - 1.0  # the steady part: no start-up burst
    seen = sum(1 for t in times if begin <= t < end) / (end - begin)
    assert RATE * 0.9 <= seen <= RATE * 1.1, f"the carrier saw {seen:.1f} msg/s"
