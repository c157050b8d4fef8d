"""Messages/s through the SMPP connector to the carrier simulator over loopback.

The simulator runs in its own process (receipts included), the connector in this one, so the
figure is what one core running the connector achieves: build PDUs, pace, pipeline, match
responses, and parse the receipts coming back.

    python bench/smpp_e2e_bench.py                 # 20,000 one-segment messages, window 100
    python bench/smpp_e2e_bench.py --count 50000 --window 10 --binds 2 --no-uvloop
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import time
from multiprocessing.connection import Connection

from smsrelay.connectors.options import SmppOptions
from smsrelay.connectors.smpp import SmppConnector
from smsrelay.domain.messages import (
    DeliveryReport,
    Encoding,
    InboundMessage,
    OutboundMessage,
)
from smsrelay.simulator import CarrierConfig, CarrierSimulator


def _loop_factory(use_uvloop: bool) -> None:
    if use_uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _serve(pipe: Connection, use_uvloop: bool) -> None:
    _loop_factory(use_uvloop)
    logging.disable(logging.WARNING)

    async def main() -> None:
        simulator = CarrierSimulator(CarrierConfig(dlr_delay=0.05, window=100))
        await simulator.start()
        pipe.send(simulator.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        await simulator.stop()

    asyncio.run(main())


class _Counter:
    def __init__(self) -> None:
        self.reports = 0

    async def report(self, report: DeliveryReport) -> None:
        self.reports += 1

    async def mo(self, message: InboundMessage) -> None:
        pass


async def _run(port: int, count: int, window: int, binds: int) -> tuple[float, float]:
    logging.disable(logging.WARNING)
    sink = _Counter()
    connector = SmppConnector(SmppOptions(name="bench", port=port, window=window, binds=binds))
    await connector.start(sink)
    inflight = asyncio.Semaphore(2000)  # the dispatcher's default max_inflight

    async def one(i: int) -> bool:
        async with inflight:
            outcome = await connector.submit(
                OutboundMessage(
                    f"m{i}",
                    "+4915112345678",
                    "Your verification code is 123456",
                    Encoding.GSM7,
                    1,
                    sender="Acme",
                )
            )
            return outcome.ok

    start = time.perf_counter()
    ok = await asyncio.gather(*(one(i) for i in range(count)))
    submitted = time.perf_counter() - start
    while sink.reports < count and time.perf_counter() - start < 60:
        await asyncio.sleep(0.01)
    receipted = time.perf_counter() - start
    await connector.stop()
    assert all(ok), "some submits failed"
    return count / submitted, sink.reports / receipted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    use_uvloop = not args.no_uvloop
    try:
        import uvloop  # noqa: F401
    except ImportError:
        use_uvloop = False
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(child, use_uvloop), daemon=True)
    proc.start()
    port = parent.recv()
    _loop_factory(use_uvloop)
    submits, receipts = asyncio.run(_run(port, args.count, args.window, args.binds))
    parent.send("stop")
    proc.join(10)
    loop = "uvloop" if use_uvloop else "asyncio"
    print(f"{args.count} messages, window {args.window}, {args.binds} bind(s), {loop}:")
    print(f"  submitted (submit_sm_resp received)   {submits:10,.0f} msg/s")
    print(f"  receipted (deliver_sm handed on)      {receipts:10,.0f} msg/s")


if __name__ == "__main__":
    main()
