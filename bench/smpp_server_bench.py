"""SMPP server ingest: submit_sm/s accepted (committed) from one client bind, window 100.

The gateway (SmsRelay: SMPP server, accept with group commit, dispatcher, in-process carrier
simulator) runs in a child process; this process is the client, our own ESME from
``smsrelay.smpp.client``, pipelining submit_sm over one transceiver bind. A submit_sm_resp
is only sent after the message is committed, so the figure is persisted messages per second.

    python bench/smpp_server_bench.py                      # SQLite in a temp folder
    python bench/smpp_server_bench.py --count 50000 --window 100 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1/smsrelay_bench
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import connect


def _serve(pipe: Connection, data_dir: str, database_url: str | None) -> None:
    from smsrelay.app import SmsRelay
    from smsrelay.config import Settings
    from smsrelay.connectors.options import SimulatorOptions
    from smsrelay.store import accounts, smpp_users

    async def main() -> None:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=database_url,
            smpp_port=0,
            rate_limit=0,
            connectors=[SimulatorOptions(name="simulator", latency_ms=1, dlr_delay_ms=100)],
        )
        relay = SmsRelay(settings)
        await relay.start()
        assert relay.db is not None and relay.smpp_server is not None
        async with relay.db.transaction() as conn:
            account = await accounts.get_account_by_name(conn, "default")
            assert account is not None
            if await smpp_users.find_smpp_user(conn, "bench") is None:
                await smpp_users.create_smpp_user(conn, account.id, "bench", "bench", time.time())
        pipe.send(relay.smpp_server.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        await relay.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


async def _run(port: int, count: int, window: int) -> tuple[float, int]:
    client = await connect("127.0.0.1", port, "bench", "bench", window=window)
    failed = 0

    def submit(i: int) -> P.Pdu:
        return P.submit_sm(
            "Acme",
            f"4915{i % 10_000_000:09d}",
            b"Your verification code is 123456",
            source_addr_ton=5,
            dest_addr_ton=1,
            dest_addr_npi=1,
            registered_delivery=0,
        )

    warm = [await client.send_request(submit(i)) for i in range(min(2000, count))]
    await asyncio.gather(*warm)
    start = time.perf_counter()
    futures = []
    for i in range(count):
        futures.append(await client.send_request(submit(i)))
    for response in await asyncio.gather(*futures):
        failed += not response.ok
    elapsed = time.perf_counter() - start
    await client.unbind()
    return count / elapsed, failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = ctx.Process(target=_serve, args=(child, data_dir, args.database_url), daemon=True)
        proc.start()
        port = parent.recv()
        try:
            rate, failed = asyncio.run(_run(port, args.count, args.window))
        finally:
            parent.send("stop")
            proc.join(30)
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"submit_sm accepted and committed, one bind, window {args.window}, {backend}: "
        f"{rate:,.0f}/s ({args.count} submits, {failed} refused)"
    )


if __name__ == "__main__":
    main()
