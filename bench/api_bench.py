"""Throughput of the accept path: POST /send and POST /v1/messages/batch, on a real server.

Starts ``smsrelay serve`` as its own process on a fresh data folder (SQLite by default, or
``--database-url``), drives it from this process over keep-alive connections, then checks
that every accepted message is in the database and reaches a final status. Prints one row per
scenario and writes JSON to bench/results/.

    python bench/api_bench.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import post_request, run_load
from suite.procs import free_port


def start_gateway(
    data_dir: Path,
    port: int,
    database_url: str | None = None,
    *,
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `smsrelay serve` on ``port`` as its own process; return once it answers."""
    env = {
        **os.environ,
        "SMSRELAY_DATA_DIR": str(data_dir),
        "SMSRELAY_HTTP_PORT": str(port),
        "SMSRELAY_SMPP_PORT": "0",
        "SMSRELAY_RATE_LIMIT": "0",
        "SMSRELAY_LOG_LEVEL": "warning",
        **(env_extra or {}),
    }
    if database_url:
        env["SMSRELAY_DATABASE_URL"] = database_url
    exe = Path(sys.executable).with_name("smsrelay")
    proc = subprocess.Popen([str(exe), "serve"], env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gateway did not start: " + (proc.stderr.read() or b"").decode()[-2000:])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(name: str, value: str, extra: str = "") -> None:
    print(f"| {name:<38} | {value:>22} | {extra:<44} |", flush=True)


async def scenarios(port: int, key: str, args: argparse.Namespace, pid: int) -> dict:
    results: dict = {}
    send_body = b'{"to": "+14155552671", "message": "Your verification code is 1234"}'
    total = args.requests
    cpu0 = cpu_seconds(pid)
    r = await run_load(
        "127.0.0.1",
        port,
        post_request("127.0.0.1", port, "/send", key, lambda i: send_body),
        total=total,
        concurrency=args.concurrency,
    )
    server_cpu = cpu_seconds(pid) - cpu0
    rps = r.requests / r.elapsed
    results["send"] = {
        "requests": r.requests,
        "statuses": r.statuses,
        "rps": rps,
        "p50_ms": r.percentile(0.5) * 1000,
        "p99_ms": r.percentile(0.99) * 1000,
        "loadgen_cpu_s": r.cpu,
        "server_cpu_s": server_cpu,
        "elapsed_s": r.elapsed,
    }
    row(
        f"POST /send (c={args.concurrency})",
        f"{rps:,.0f} req/s",
        f"p50 {r.percentile(0.5) * 1000:.1f} ms p99 {r.percentile(0.99) * 1000:.1f} ms "
        f"{r.statuses}",
    )
    row(
        "  load generator / server CPU",
        f"{r.cpu:.1f} s / {server_cpu:.1f} s",
        f"over {r.elapsed:.1f} s wall",
    )

    items = b",".join(
        b'{"to": "+4915112345678", "message": "Batch message %d"}' % i for i in range(100)
    )
    batch_body = b'{"messages": [' + items + b"]}"
    batches = max(10, args.requests // 100)
    r = await run_load(
        "127.0.0.1",
        port,
        post_request("127.0.0.1", port, "/v1/messages/batch", key, lambda i: batch_body),
        total=batches,
        concurrency=min(8, args.concurrency),
    )
    mps = r.requests * 100 / r.elapsed
    results["batch"] = {
        "batches": r.requests,
        "statuses": r.statuses,
        "messages_per_s": mps,
        "p50_ms": r.percentile(0.5) * 1000,
        "p99_ms": r.percentile(0.99) * 1000,
    }
    row(
        "POST /v1/messages/batch of 100",
        f"{mps:,.0f} msg/s",
        f"p50 {r.percentile(0.5) * 1000:.1f} ms p99 {r.percentile(0.99) * 1000:.1f} ms",
    )
    results["accepted"] = (
        results["send"]["statuses"].get(202, 0) + results["batch"]["statuses"].get(202, 0) * 100
    )
    return results


async def drain(database_url: str, timeout: float) -> dict:
    """Wait until no message is queued, sending or sent; count them all by status."""
    from smsrelay.store.db import Database
    from smsrelay.store.queue import count_by_status

    db = await Database.open(database_url)
    started = time.time()
    try:
        while True:
            async with db.read() as conn:
                counts = await count_by_status(conn)
            pending = sum(counts.get(s, 0) for s in ("scheduled", "queued", "sending", "sent"))
            if pending == 0 or time.time() - started > timeout:
                return {
                    "pending": pending,
                    "drain_s": time.time() - started,
                    "by_status": counts,
                    "total": sum(counts.values()),
                }
            await asyncio.sleep(0.5)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.requests is None:
        args.requests = 3000 if args.quick else 20000
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="smsrelay-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        proc = start_gateway(data_dir, port, args.database_url)
        try:
            key = (data_dir / "api-key").read_text().strip()
            print(f"| {'scenario':<38} | {'result':>22} | {'detail':<44} |")
            print(f"|{'-' * 40}|{'-' * 24}|{'-' * 46}|")
            results = asyncio.run(scenarios(port, key, args, proc.pid))
            url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'smsrelay.db'}"
            results["drain"] = drained = asyncio.run(drain(url, 120))
            row(
                "drain to final status",
                f"{drained['drain_s']:.1f} s",
                f"stored {drained['total']} of {results['accepted']} accepted, "
                f"pending {drained['pending']}",
            )
            if drained["total"] != results["accepted"] or drained["pending"]:
                print("FAILED RUN: accepted messages missing or not final", file=sys.stderr)
                raise SystemExit(1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"api-{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
