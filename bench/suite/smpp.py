"""SMPP scenarios, each in its own processes (the existing SMPP benchmarks, run as scripts).

* our ESME → our MC over loopback, submit_sm/s at window 10 and 100 (bench/smpp_bench.py);
* the gateway's SMPP server ingest from one client bind, window 100, committed before the
  submit_sm_resp (bench/smpp_server_bench.py), on SQLite or a fresh PostgreSQL database.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from typing import Any

from .stack import BENCH, PG


def _run(args: list[str], timeout: float) -> tuple[str, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=BENCH.parent,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return done.stdout, wall, cpu


def esme(count: int, timeout: float = 600) -> dict[str, Any]:
    text, wall, cpu = _run(
        [
            str(BENCH / "smpp_bench.py"),
            "--count",
            str(count),
            "--windows",
            "10",
            "100",
            "--codec-seconds",
            "0.3",
        ],
        timeout,
    )
    rates = {
        int(w): float(v.replace(",", ""))
        for w, v in re.findall(r"submit_sm/s loopback, window (\d+)\s+([\d,]+)", text)
    }
    codec = {
        name.strip(): float(v.replace(",", ""))
        for name, v in re.findall(r"^(submit_sm[^\n]*?(?:encode|decode))\s+([\d,]+)$", text, re.M)
    }
    ok = 10 in rates and 100 in rates
    return {
        "scenario": "smpp",
        "database": "",
        "count_per_window": count,
        "submit_sm_per_s": rates,
        "codec_per_s": codec,
        "wall_s": wall,
        "children_cpu_s": cpu,
        "output": text,
        "throughput_text": f"{rates.get(100, 0):,.0f} sub/s",
        "detail": (
            f"ESME→MC loopback: w10 {rates.get(10, 0):,.0f}/s, "
            f"w100 {rates.get(100, 0):,.0f}/s ({count} each)"
        ),
        "ok": ok,
    }


def ingest(database: str, count: int, timeout: float = 600) -> dict[str, Any]:
    args = [str(BENCH / "smpp_server_bench.py"), "--count", str(count), "--window", "100"]
    name = None
    try:
        if database == "postgresql":
            name = f"smsrelay_ingest_{int(time.time() * 1000) % 10**8}"
            subprocess.run([*PG, f"CREATE DATABASE {name}"], check=True, timeout=60)
            args += ["--database-url", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"]
        text, wall, cpu = _run(args, timeout)
    finally:
        if name:
            subprocess.run(
                [*PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False, timeout=60
            )
    found = re.search(r":\s*([\d,]+)/s \((\d+) submits, (\d+) refused\)", text)
    rate = float(found.group(1).replace(",", "")) if found else 0.0
    refused = int(found.group(3)) if found else -1
    return {
        "scenario": "smpp-in",
        "database": database,
        "count": count,
        "submit_sm_per_s": rate,
        "refused": refused,
        "wall_s": wall,
        "children_cpu_s": cpu,
        "output": text,
        "throughput_text": f"{rate:,.0f} sub/s",
        "detail": f"server ingest, 1 bind, w100, committed; {count} sent, {refused} refused",
        "ok": bool(found) and refused == 0,
    }
