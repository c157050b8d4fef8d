"""The benchmark suite: every scenario of issue 7, each component in its own process.

    python bench/run.py --quick                       # under a minute: SQLite, short runs
    python bench/run.py                               # full: 20,000 messages, 10-minute soak
    python bench/run.py --database both --only send,batch,e2e

Scenarios: ``send`` (POST /send, c=64), ``batch`` (POST /v1/messages/batch of 100), ``e2e``
(accept → submit_sm → receipt → signed webhook, counted), ``provider`` (the same through an
HTTP provider connector and ``smsrelay simulate-provider twilio``: API call, signed status
callback, webhook), ``smpp`` (ESME → MC submit_sm/s at
window 10 and 100, and the SMPP server's persisted ingest), ``soak`` (half the e2e rate; RSS).
Each prints one table row and writes bench/results/<timestamp>-<scenario>-<db>.json; the run
exits 1 if any row FAILED (a lost or doubled message, an error, RSS growth past 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import accept, e2e, procs, report, smpp
from suite.stack import Stack

SCENARIOS = ("send", "batch", "e2e", "provider", "smpp", "soak")
LEGEND = """\
p50/p99: send, batch, soak = request latency at the load generator; e2e = accept → sent
(created_at → `sent` event, sampled on 300 messages). e2e throughput = accepted messages /
(first request → last final callback); acc = accept rate; cb = final status recorded →
signed webhook received, p50/p99; drain = last request → last final callback; counted =
accepted = distinct final callbacks = final rows in the database. CPU = share of one core
over the scenario's wall time (gateway: its whole process tree)."""


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_start": list(procs.load_average()),
    }


def run_async(coro: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[no-any-return]
    except ImportError:
        return asyncio.run(coro)


def attempt(name: str, database: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one scenario; an exception becomes a FAILED row instead of ending the run."""
    try:
        result = fn()
    except Exception as error:  # a failed scenario is reported, the others still run
        traceback.print_exc(file=sys.stderr)
        result = {
            "scenario": name,
            "ok": False,
            "error": repr(error)[:500],
            "detail": f"error: {repr(error)[:40]}",
        }
    result.setdefault("database", database)
    return report.finish(result)


def with_stack(
    database: str,
    tag: str,
    workers: int,
    body: Callable[[Stack], Coroutine[Any, Any, dict[str, Any]]],
    provider: str | None = None,
) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        with Stack(database, tag=tag, workers=workers, provider=provider) as stack:
            return run_async(body(stack))

    return run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs, no soak (SQLite unless --database says otherwise)",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--only", default="", help=f"comma-separated: {','.join(SCENARIOS)}")
    parser.add_argument(
        "--messages",
        type=int,
        default=None,
        help="messages for send, batch and e2e (default 20,000; --quick 600)",
    )
    parser.add_argument("--soak-seconds", type=float, default=600.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gateway processes (SMSRELAY_WORKERS; default: the README's advice, "
        "1 on SQLite and one per core on PostgreSQL)",
    )
    parser.add_argument(
        "--soak-rate",
        type=float,
        default=None,
        help="messages/s for the soak (default: half the e2e rate of the run)",
    )
    parser.add_argument(
        "--priced",
        action="store_true",
        help="the sending account has a price list and a prepaid balance (debited per send)",
    )
    args = parser.parse_args()
    if args.priced:
        os.environ["SMSRELAY_BENCH_PRICED"] = "1"
    only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.quick and not args.only:
        only.remove("soak")
    n = args.messages or (600 if args.quick else 20000)
    smpp_count = 3000 if args.quick else 50000
    drain_timeout = 120.0 if args.quick else 900.0
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]

    def workers(db: str) -> int:
        return int(args.workers or (1 if db == "sqlite" else os.cpu_count() or 1))

    info = machine()
    info["workers"] = {db: workers(db) for db in databases}
    shown = ", ".join(f"{db} {w}" for db, w in info["workers"].items())
    print(
        f"smsrelay bench {report.STAMP}: {info['nproc']} cpu ({info['cpu']}), "
        f"{info['memory_gb']} GB, Python {info['python']}, SMSRELAY_WORKERS: {shown}, "
        f"load average "
        f"{' '.join(f'{x:.2f}' for x in info['load_average_start'])}",
        flush=True,
    )
    print(report.header(), flush=True)
    results: list[dict[str, Any]] = []
    if "smpp" in only:
        results.append(attempt("smpp", "", lambda: smpp.esme(smpp_count)))
    for db in databases:
        e2e_rate = 0.0
        if "send" in only:  # each scenario on a fresh stack: no backlog from the one before
            results.append(
                attempt(
                    "send", db, with_stack(db, "send", workers(db), lambda s: accept.send(s, n))
                )
            )
        if "batch" in only:
            results.append(
                attempt(
                    "batch",
                    db,
                    with_stack(
                        db, "batch", workers(db), lambda s: accept.batch(s, max(10, n // 100))
                    ),
                )
            )
        if "e2e" in only:
            results.append(
                attempt(
                    "e2e",
                    db,
                    with_stack(db, "e2e", workers(db), lambda s: e2e.e2e(s, n, drain_timeout)),
                )
            )
            e2e_rate = float(results[-1].get("e2e_messages_per_s") or 0.0)
        if "provider" in only:
            results.append(
                attempt(
                    "provider",
                    db,
                    with_stack(
                        db,
                        "provider",
                        workers(db),
                        lambda s: e2e.e2e(s, n, drain_timeout, scenario="provider"),
                        provider="twilio",
                    ),
                )
            )
        if "smpp" in only:
            results.append(
                attempt(
                    "smpp-in",
                    db,
                    lambda d=db: smpp.ingest(  # type: ignore[misc]
                        d, 1000 if args.quick else 20000
                    ),
                )
            )
        if "soak" in only:
            rate = args.soak_rate or (e2e_rate / 2 if e2e_rate else 200.0)
            results.append(
                attempt(
                    "soak",
                    db,
                    with_stack(
                        db,
                        "soak",
                        workers(db),
                        lambda s, r=rate: e2e.soak(  # type: ignore[misc]
                            s, args.soak_seconds, r, drain_timeout
                        ),
                    ),
                )
            )

    info["load_average_end"] = list(procs.load_average())
    summary = {
        "stamp": report.STAMP,
        "quick": args.quick,
        "machine": info,
        "results": [
            {k: v for k, v in r.items() if k not in ("rss_samples", "output", "db_by_status")}
            for r in results
        ],
    }
    report.RESULTS.mkdir(exist_ok=True)
    (report.RESULTS / f"{report.STAMP}-summary.json").write_text(
        json.dumps(summary, indent=2, default=str) + "\n"
    )
    failed = [r["scenario"] for r in results if not r.get("ok")]
    print(LEGEND)
    print(
        f"load average at the end: "
        f"{' '.join(f'{x:.2f}' for x in info['load_average_end'])}; "
        f"{'FAILED: ' + ', '.join(failed) if failed else 'all rows ok'}",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"({time.time() - started:.0f} s)")
    sys.exit(code)
