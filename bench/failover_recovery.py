"""Does traffic return to a carrier that recovers?

Two carrier simulators behind one failover route ``[a, b]``. Carrier ``a`` is down (nothing
listens on its port) for ``--down`` seconds while messages keep coming at ``--rate`` a second
(they fail over to ``b``); then ``a`` starts listening again and ``--count`` new messages are
sent at the same rate. Reports which carrier took each of those, and whether every message
of the run reached exactly one carrier exactly once.

    python bench/failover_recovery.py --down 60 --rate 10 --count 200
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from smsrelay.app import SmsRelay
from smsrelay.config import RouteConfig, Settings
from smsrelay.connectors.options import SmppOptions
from smsrelay.engine.accept import SendRequest
from smsrelay.simulator.carrier import CarrierConfig, CarrierSimulator
from smsrelay.store import accounts as account_store
from smsrelay.store.schema import messages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _send(relay: SmsRelay, account: object, n: int, rate: float, tag: str) -> list[str]:
    """``n`` messages, one every 1/rate seconds (wall clock: the load a user would send)."""
    ids: list[str] = []
    start = time.monotonic()
    for k in range(n):
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        outcome = await relay.acceptor.accept(
            account,  # type: ignore[arg-type]
            [SendRequest(to="+14155552671", message=f"{tag} {k}")],
            charge_rate=False,
        )
        ids += [p.message.id for p in outcome.accepted]
    return ids


async def main_async(down: float, rate: float, count: int) -> None:
    second = CarrierSimulator(CarrierConfig(dlr_delay=0.05), port=0)
    await second.start()
    first_port = _free_port()
    first = CarrierSimulator(CarrierConfig(dlr_delay=0.05), port=first_port)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            smpp_server_enabled=False,
            retry_base=0.5,
            retry_cap=5.0,
            connectors=[
                SmppOptions(name="a", port=first_port, window=50),
                SmppOptions(name="b", port=second.port, window=50),
            ],
            routes=[RouteConfig(name="default", connectors=["a", "b"])],
        )
        relay = SmsRelay(settings)
        await relay.start()
        try:
            assert relay.db is not None
            async with relay.db.read() as conn:
                account = (await account_store.list_accounts(conn))[0]
            before = await _send(relay, account, int(down * rate), rate, "outage")
            await first.start()
            after = await _send(relay, account, count, rate, "recovered")
            every = before + after
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if len(first.accepted) + len(second.accepted) >= len(every):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # anything doubled would arrive now
            async with relay.db.read() as conn:
                rows = (
                    await conn.execute(
                        select(messages.c.id, messages.c.connector, messages.c.status).where(
                            messages.c.id.in_(after)
                        )
                    )
                ).all()
        finally:
            await relay.stop()
            await first.stop()
            await second.stop()
    via_a = sum(1 for r in rows if r.connector == "a")
    carried = len(first.accepted) + len(second.accepted)
    print(
        f"after {down:g} s down: {via_a} of {len(after)} new messages went through the "
        f"recovered carrier in the {count / rate:g} s after it came back "
        f"({100 * via_a / max(1, len(after)):.0f} %); "
        f"carriers took {carried} submits for {len(every)} messages"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--down", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main_async(args.down, args.rate, args.count))


if __name__ == "__main__":
    main()
