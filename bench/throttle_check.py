"""Does a connector limited to N messages/s deliver N messages/s to the carrier?

Runs a carrier simulator that timestamps every accepted submit_sm, and a whole gateway in
this process whose only connector is limited to ``--rate`` messages/s; queues a backlog,
then reports the rate the carrier saw over a steady window (first and last seconds left out).
``--workers N`` runs N gateways on one database, as ``SMSRELAY_WORKERS=N`` does: the limit
is the gateway's, so the carrier should still see ``--rate``.

    python bench/throttle_check.py --rate 100 --seconds 12
    python bench/throttle_check.py --rate 100 --seconds 12 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from smsrelay.app import SmsRelay
from smsrelay.config import Settings
from smsrelay.connectors.options import SmppOptions
from smsrelay.engine.accept import SendRequest
from smsrelay.simulator.carrier import CarrierConfig, CarrierSimulator
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession
from smsrelay.store import accounts as account_store


class TimingCarrier(CarrierSimulator):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.times: list[float] = []

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu | None:
        answer = super().handle_request(session, pdu)
        if answer is not None and answer.command_status == 0:
            self.times.append(time.monotonic())
        return answer


async def main_async(rate: float, seconds: float, workers: int) -> None:
    carrier = TimingCarrier(CarrierConfig(dlr_delay=0.05), port=0)
    await carrier.start()
    relays: list[SmsRelay] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for index in range(workers):
                settings = Settings(
                    data_dir=Path(tmp),
                    smpp_server_enabled=False,
                    worker_index=index if workers > 1 else None,
                    connectors=[
                        SmppOptions(
                            name="limited",
                            port=carrier.port,
                            window=100,
                            binds=2,
                            throughput=rate,
                        )
                    ],
                )
                relay = SmsRelay(settings)
                await relay.start()
                relays.append(relay)
            db = relays[0].db
            assert db is not None
            async with db.read() as conn:
                account = (await account_store.list_accounts(conn))[0]
            total = int(rate * (seconds + 3))
            rng = random.Random(1)
            for start in range(0, total, 500):
                await relays[start // 500 % workers].acceptor.accept(
                    account,
                    [
                        SendRequest(to="+14155552671", message=f"throttle {n} {rng.random()}")
                        for n in range(start, min(total, start + 500))
                    ],
                    charge_rate=False,
                )
            deadline = time.monotonic() + seconds + 30
            while len(carrier.times) < total and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        finally:
            for relay in relays:
                await relay.stop()
            await carrier.stop()
    times = carrier.times
    first, last = times[0] + 1.0, times[-1] - 1.0
    window = [t for t in times if first <= t < last]
    measured = len(window) / (last - first)
    print(
        f"connector limit {rate:g} msg/s, {workers} worker(s): carrier received "
        f"{measured:.1f} msg/s over {last - first:.1f} s ({len(times)} messages, 2 binds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main_async(args.rate, args.seconds, max(1, args.workers)))


if __name__ == "__main__":
    main()
