"""Crash safety: kill -9 the gateway in the middle of a load, restart it, count everything.

A carrier simulator runs in this process and records the text of every submit_sm it
accepts; each message has a unique text, so a message the gateway sent twice is seen twice.
The gateway (``smsrelay serve``, its own process) is killed with SIGKILL once half the load
is accepted, restarted on the same database, and the rest of the load is sent. Then:

* accepted: requests answered 202 (the promise: each of these is stored and reaches a final
  status);
* in doubt: requests in flight at the kill, never answered (either outcome is correct);
* lost: accepted messages missing from the database or never final (must be 0);
* duplicated: messages the carrier received more than once (at-least-once delivery; the
  messages in flight at the kill).

    python bench/crash_test.py [--messages 20000] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import free_port, start_gateway
from loadgen import LoadResult, post_request, run_load

from smsrelay.simulator.carrier import CarrierConfig, CarrierSimulator
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession
from smsrelay.store.db import Database
from smsrelay.store.queue import count_by_status

FINAL = {"delivered", "undelivered", "expired", "rejected", "failed", "canceled", "unknown"}


class RecordingCarrier(CarrierSimulator):
    """The simulator, counting every accepted submit by its text."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.texts: collections.Counter[bytes] = collections.Counter()

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu | None:
        answer = super().handle_request(session, pdu)
        if answer is not None and answer.command_status == 0:
            self.texts[bytes(pdu.fields.get("short_message") or b"")] += 1  # type: ignore[arg-type]
        return answer


def start_crashable_gateway(
    tmp: Path, port: int, database_url: str | None
) -> subprocess.Popen[bytes]:
    """The gateway under test: its carrier from smsrelay.toml, short leases to reclaim."""
    return start_gateway(
        tmp / "data",
        port,
        database_url,
        env_extra={
            "SMSRELAY_LOG_LEVEL": "error",
            "SMSRELAY_CONFIG": str(tmp / "smsrelay.toml"),
            "SMSRELAY_LEASE_SECONDS": "5",
        },
    )


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    carrier = RecordingCarrier(CarrierConfig(dlr_delay=0.05), port=0)
    await carrier.start()
    with tempfile.TemporaryDirectory(prefix="smsrelay-crash-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "smsrelay.toml").write_text(
            '[[connectors]]\nname = "carrier"\ntype = "smpp"\nhost = "127.0.0.1"\n'
            f"port = {carrier.port}\nwindow = 100\n"
        )
        url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'data' / 'smsrelay.db'}"
        port = free_port()
        proc = start_crashable_gateway(tmp, port, args.database_url)
        key = (tmp / "data" / "api-key").read_text().strip()
        make = post_request(
            "127.0.0.1",
            port,
            "/send",
            key,
            lambda i: orjson.dumps({"to": "+14155552671", "message": f"crash-test {i}"}),
        )
        counter, result = [0], LoadResult()
        load = asyncio.create_task(
            run_load(
                "127.0.0.1",
                port,
                make,
                total=args.messages,
                concurrency=64,
                keep_bodies=True,
                counter=counter,
                result=result,
            )
        )
        while len(result.answered) < args.messages // 2 and not load.done():
            await asyncio.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = len(result.answered)
        proc.wait()
        await load
        proc = start_crashable_gateway(tmp, port, args.database_url)
        await run_load(
            "127.0.0.1",
            port,
            make,
            total=args.messages,
            concurrency=64,
            keep_bodies=True,
            counter=counter,
            result=result,
        )
        accepted = {
            i: orjson.loads(body)["message_id"]
            for i, (status, body) in result.answered.items()
            if status == 202
        }
        db = await Database.open(url)
        started = time.time()
        try:
            while True:
                async with db.read() as conn:
                    counts = await count_by_status(conn)
                pending = sum(n for s, n in counts.items() if s not in FINAL)
                if not pending or time.time() - started > args.timeout:
                    break
                await asyncio.sleep(0.5)
            from smsrelay.store.messages import get_message

            lost = []
            async with db.read() as conn:
                for message_id in accepted.values():
                    message = await get_message(conn, message_id)
                    if message is None or str(message.status) not in FINAL:
                        lost.append(message_id)
        finally:
            await db.close()
            proc.terminate()
            proc.wait(timeout=30)
            await carrier.stop()
    texts = carrier.texts
    report: dict[str, object] = {
        "database": "postgresql" if args.database_url else "sqlite",
        "messages": args.messages,
        "killed_after_accepted": killed_at,
        "accepted": len(accepted),
        "in_doubt": len(result.unanswered),
        "stored": sum(counts.values()),
        "final": sum(n for s, n in counts.items() if s in FINAL),
        "by_status": counts,
        "lost": len(lost),
        "sent_to_carrier": sum(texts.values()),
        "distinct_at_carrier": len(texts),
        "duplicated": sum(1 for n in texts.values() if n > 1),
        "drain_s": round(time.time() - started, 1),
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--database-url", default=None, help="an EMPTY PostgreSQL database")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    print(json.dumps(report, indent=2))
    if report["lost"]:
        print("FAILED: accepted messages were lost", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
