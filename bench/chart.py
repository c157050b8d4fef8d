"""Draw docs/performance.png from bench/results/*-summary.json: throughput and latency.

    python bench/chart.py bench/results/<stamp>-summary.json [more summaries] [-o out.png]

Rows from several summaries are merged (a later file wins for the same scenario and
database), so a quick SQLite run and a full PostgreSQL run can share one chart.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs"


def load(paths: list[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        for r in json.loads(path.read_text())["results"]:
            if r.get("ok") or r.get("scenario") in ("send", "batch", "e2e"):
                rows[(r["scenario"], r.get("database") or "")] = r
    return rows


def throughput(r: dict[str, Any]) -> float:
    value = {
        "send": r.get("requests_per_s"),
        "batch": r.get("messages_per_s"),
        "e2e": r.get("e2e_messages_per_s"),
        "smpp-in": r.get("submit_sm_per_s"),
        "soak": r.get("paced_rate"),
    }.get(r["scenario"])
    if r["scenario"] == "smpp":
        value = (r.get("submit_sm_per_s") or {}).get("100")
    return float(value or 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("summaries", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=DOCS / "performance.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = load(args.summaries)
    order = ["send", "batch", "e2e", "smpp", "smpp-in", "soak"]
    keys = sorted(rows, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1]))
    labels = [f"{s}\n{d}" if d else s for s, d in keys]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    values = [throughput(rows[k]) for k in keys]
    bars = left.bar(range(len(keys)), values, color="#3572a5")
    left.set_yscale("log")
    left.set_xticks(range(len(keys)), labels, fontsize=8)
    left.set_ylabel("per second (log scale)")
    left.set_title(
        "Throughput: req/s (send), msg/s (batch, e2e, soak), submit_sm/s (smpp)", fontsize=9
    )
    for bar, value in zip(bars, values, strict=True):
        left.annotate(
            f"{value:,.0f}",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize=7,
        )

    lat: list[tuple[str, float, float]] = []
    for k in keys:
        r = rows[k]
        tag = f"{k[0]}\n{k[1]}" if k[1] else k[0]
        if k[0] in ("send", "batch", "soak"):
            lat.append(
                (
                    f"{tag}\nrequest",
                    r.get("p50_s") or r.get("accept_p50_s") or 0.0,
                    r.get("p99_s") or r.get("accept_p99_s") or 0.0,
                )
            )
        if k[0] == "e2e":
            lat.append(
                (
                    f"{tag}\nacc→sent",
                    r.get("accept_to_sent_p50_s") or 0.0,
                    r.get("accept_to_sent_p99_s") or 0.0,
                )
            )
            lat.append(
                (
                    f"{tag}\n→webhook",
                    r.get("receipt_to_webhook_p50_s") or 0.0,
                    r.get("receipt_to_webhook_p99_s") or 0.0,
                )
            )
    xs = range(len(lat))
    right.bar(
        [x - 0.2 for x in xs], [p50 * 1000 for _, p50, _ in lat], 0.4, label="p50", color="#6aa84f"
    )
    right.bar(
        [x + 0.2 for x in xs], [p99 * 1000 for _, _, p99 in lat], 0.4, label="p99", color="#cc4125"
    )
    right.set_yscale("log")
    right.set_xticks(list(xs), [name for name, _, _ in lat], fontsize=6)
    right.set_ylabel("milliseconds (log scale)")
    right.set_title("Latency p50 / p99", fontsize=9)
    right.legend(fontsize=8)
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
