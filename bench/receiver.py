"""Webhook receiver for the benchmarks: verifies every signature and counts callbacks.

POST to any path is a status callback (``create_listener`` checks its signature); GET /stats
answers the counts as JSON (add ``?ids=1`` for the number of final callbacks per message).
Receipt→webhook latency is the receive time minus the callback's ``timestamp`` (the time the
gateway recorded the final status).

    python bench/receiver.py --port 8090 --secret whsec_...
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from smsrelay.gateway.webhook_listener import create_listener

FINAL = frozenset(
    {"delivered", "undelivered", "expired", "rejected", "failed", "canceled", "unknown"}
)


class Counts:
    def __init__(self) -> None:
        self.verified = 0
        self.bad_signature = 0
        self.by_status: dict[str, int] = {}
        self.final: dict[str, int] = {}
        self.latencies: list[float] = []
        self.first_final_at = 0.0
        self.last_final_at = 0.0
        self.started = time.time()

    def on_callback(self, body: dict[str, Any], verified: bool) -> None:
        now = time.time()
        if not verified:
            self.bad_signature += 1
            return
        self.verified += 1
        status = str(body.get("status"))
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status not in FINAL:
            return
        message_id = str(body.get("message_id"))
        self.final[message_id] = self.final.get(message_id, 0) + 1
        if not self.first_final_at:
            self.first_final_at = now
        self.last_final_at = now
        stamp = body.get("timestamp")
        if isinstance(stamp, str):
            try:
                at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return
            self.latencies.append(now - at)

    def summary(self, with_ids: bool) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0

        out: dict[str, Any] = {
            "verified": self.verified,
            "bad_signature": self.bad_signature,
            "by_status": self.by_status,
            "final_callbacks": sum(self.final.values()),
            "final_messages": len(self.final),
            "duplicated": sum(1 for n in self.final.values() if n > 1),
            "first_final_at": self.first_final_at,
            "last_final_at": self.last_final_at,
            "receipt_to_webhook_p50_s": pct(0.5),
            "receipt_to_webhook_p99_s": pct(0.99),
            "latency_samples": len(ordered),
        }
        if with_ids:
            out["final"] = self.final
        return out


def create_app(secret: str) -> Starlette:
    counts = Counts()
    listener = create_listener(secret, counts.on_callback)

    async def stats(request: Request) -> Response:
        with_ids = request.query_params.get("ids") == "1"
        return Response(orjson.dumps(counts.summary(with_ids)), media_type="application/json")

    return Starlette(routes=[Route("/stats", stats, methods=["GET"]), Mount("/", app=listener)])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    uvicorn.run(
        create_app(args.secret),
        host="127.0.0.1",
        port=args.port,
        loop=loop,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
