"""Memory with a large backlog: RSS of `smsrelay serve` with 100,000 messages queued.

The gateway's only connector is throttled to 10 msg/s, so what is accepted stays in the
database queue; the dispatcher holds only what its send lane can send in about two seconds.

    python bench/queued_rss.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import free_port, start_gateway
from suite.procs import rss_bytes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsrelay-rss-") as name:
        tmp = Path(name)
        (tmp / "smsrelay.toml").write_text(
            '[[connectors]]\nname = "slow"\ntype = "simulator"\nthroughput = 10\n'
        )
        port = free_port()
        proc = start_gateway(
            tmp / "data", port, env_extra={"SMSRELAY_CONFIG": str(tmp / "smsrelay.toml")}
        )
        try:
            key = (tmp / "data" / "api-key").read_text().strip()
            start = rss_bytes(proc.pid) / 2**20
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                timeout=60,
                headers={"Authorization": f"Bearer {key}"},
            )
            began = time.time()
            for batch in range(args.messages // 1000):
                response = client.post(
                    "/v1/messages/batch",
                    json={
                        "messages": [
                            {"to": "+14155552671", "message": f"q {batch} {i}", "kind": "marketing"}
                            for i in range(1000)
                        ]
                    },
                )
                response.raise_for_status()
            accepted_in = time.time() - began
            time.sleep(5)
            print(
                json.dumps(
                    {
                        "messages": args.messages,
                        "rss_start_mb": round(start, 1),
                        "rss_queued_mb": round(rss_bytes(proc.pid) / 2**20, 1),
                        "accept_s": round(accepted_in, 1),
                    }
                )
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
