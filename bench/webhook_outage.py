"""How soon a webhook backlog goes out after its receiving host returns.

A receiver on 127.0.0.1 refuses connections for ``--outage`` seconds while callbacks for
``--messages`` messages (``sent`` then ``delivered``) are queued during the first half of the
outage; then it listens and answers 200. Reported: the time from its return to the last
callback, whether every callback arrived once and in order per message, and how many
requests the host got while it was down. Real time and real sockets; the engine's webhook
outbox as the gateway runs it (default concurrency, per-host limit and retry policy).

    python bench/webhook_outage.py --outage 90 --outage 600
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

import orjson

from smsrelay.domain.retry import WebhookRetryPolicy
from smsrelay.engine.clock import SystemClock
from smsrelay.engine.outbox import WebhookOutbox
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.engine.webhooks import WebhookSender
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.db import Database, sqlite_url, upgrade


class Receiver:
    """A minimal HTTP/1.1 keep-alive server: answers every POST 200, keeps what it got."""

    def __init__(self) -> None:
        self.got: list[tuple[int, str, str]] = []  # delivery id, message id, status
        self.last_at = 0.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(
                    line.split(":", 1) for line in head.decode("latin-1").split("\r\n")[1:] if line
                )
                fields = {k.strip().lower(): v.strip() for k, v in headers.items()}
                body = orjson.loads(await reader.readexactly(int(fields["content-length"])))
                self.got.append(
                    (int(fields["x-smsrelay-delivery"]), body["message_id"], body["status"])
                )
                self.last_at = time.monotonic()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_outage(outage: float, messages: int, database_url: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or sqlite_url(Path(tmp))
        upgrade(url)
        db = await Database.open(url)
        clock = SystemClock()
        uow = UnitOfWork(db, clock)
        await uow.start()
        policy = WebhookRetryPolicy()
        outbox = WebhookOutbox(
            uow, clock, WebhookSender(db, clock, host_backoff=policy.backoff), policy=policy
        )
        port = _free_port()
        hook = f"http://127.0.0.1:{port}/hook"
        async with db.transaction() as conn:
            account = await account_store.create_account(conn, "bench", clock.now())
        await outbox.start()
        await outbox.run()
        started = time.monotonic()
        # the messages' callbacks are queued through the first half of the outage
        for n in range(messages):
            for status in ("sent", "delivered"):
                payload = orjson.dumps({"message_id": f"m{n}", "status": status}).decode()
                async with db.transaction() as conn:
                    await webhook_store.enqueue_webhooks(
                        conn, [(account.id, f"m{n}", hook, payload)], clock.now()
                    )
                outbox.wake()
            await asyncio.sleep(outage / 2 / messages)
        await asyncio.sleep(max(0.0, started + outage - time.monotonic()))
        failed_while_down = outbox.stats["failed_attempts"]
        receiver = Receiver()
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", port)
        returned = time.monotonic()
        while len(receiver.got) < 2 * messages and time.monotonic() - returned < 3600:
            await asyncio.sleep(0.05)
        drained = receiver.last_at - returned
        await outbox.stop()
        await uow.stop()
        server.close()
        await db.close()
    in_order = all(
        [s for _, m, s in receiver.got if m == f"m{n}"] == ["sent", "delivered"]
        for n in range(messages)
    )
    return {
        "outage_s": outage,
        "callbacks": len(receiver.got),
        "distinct": len({d for d, _, _ in receiver.got}),
        "in_order": in_order,
        "requests_while_down": failed_while_down,
        "return_to_last_s": round(drained, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outage", type=float, action="append", help="seconds (repeatable)")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    for outage in args.outage or [90.0]:
        print(orjson.dumps(await one_outage(outage, args.messages, args.database_url)).decode())


if __name__ == "__main__":
    asyncio.run(main())
