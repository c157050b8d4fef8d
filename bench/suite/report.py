"""One table row per scenario on stdout, one JSON file per scenario in bench/results/."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from . import procs

RESULTS = Path(__file__).resolve().parent.parent / "results"
STAMP = time.strftime("%Y%m%d-%H%M%S")
COLUMNS = [
    ("scenario", 8),
    ("db", 10),
    ("throughput", 17),
    ("p50", 9),
    ("p99", 9),
    ("detail", 46),
    ("loadgen CPU", 11),
    ("gateway CPU", 11),
    ("load avg", 8),
    ("result", 6),
]


def header() -> str:
    cells = [name.ljust(width) for name, width in COLUMNS]
    rule = ["-" * width for _, width in COLUMNS]
    return "| " + " | ".join(cells) + " |\n|-" + "-|-".join(rule) + "-|"


def ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f} ms"


def row(result: dict[str, Any]) -> str:
    cells = [
        result.get("scenario", ""),
        result.get("database", ""),
        result.get("throughput_text", ""),
        result.get("p50_text", ""),
        result.get("p99_text", ""),
        result.get("detail", ""),
        _share(result, "loadgen_cpu_s"),
        _share(result, "gateway_cpu_s"),
        f"{result.get('load_average', [0])[0]:.2f}",
        "ok" if result.get("ok") else "FAILED",
    ]
    return (
        "| " + " | ".join(str(c).ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)) + " |"
    )


def _share(result: dict[str, Any], key: str) -> str:
    """CPU seconds as a share of one core over the measured wall time."""
    wall = result.get("loadgen_wall_s" if key == "loadgen_cpu_s" else "", result.get("wall_s"))
    cpu = result.get(key)
    if cpu is None or not wall:
        return ""
    return f"{cpu / wall * 100:.0f}% core"


def finish(result: dict[str, Any]) -> dict[str, Any]:
    """Stamp the load average, print the row, write the JSON; return the result."""
    result["load_average"] = list(procs.load_average())
    result["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(row(result), flush=True)
    RESULTS.mkdir(exist_ok=True)
    name = f"{STAMP}-{result['scenario']}-{result.get('database') or 'none'}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]
