"""A webhook receiver that is down for a while, then answers: every callback arrives, in
order per message, once, and every failed attempt is on record."""

from __future__ import annotations

import socket
from pathlib import Path

from smsrelay.gateway.webhook_listener import create_listener
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store
from tests.support.gateway import Callbacks, running_gateway
from tests.support.servers import serve_app_on, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_callbacks_survive_a_receiver_outage(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens here yet: connection refused
    async with running_gateway(tmp_path, webhook_retry_base=0.2, webhook_retry_cap=0.5) as gw:
        async with gw.relay.db.transaction() as conn:
            account = await account_store.update_account(
                conn, "default", webhook_url=f"http://127.0.0.1:{port}/hooks"
            )
        ids = []
        for n in range(20):
            r = await gw.client.post(
                "/send", headers=gw.auth(), json={"to": "+14155552671", "message": f"m{n}"}
            )
            ids.append(r.json()["message_id"])

        stats = gw.relay.webhooks.stats

        def probed_while_down() -> bool:  # every first callback failed, then probes did
            return stats["failed_attempts"] >= len(ids) + 3

        await wait_for(probed_while_down, timeout=20)
        callbacks = Callbacks()
        async with serve_app_on(create_listener(account.webhook_secret, callbacks.add), port):
            await wait_for(
                lambda: all(callbacks.for_message(i) == ["sent", "delivered"] for i in ids),
                timeout=30,
            )
        assert all(verified for _, verified in callbacks.received)
        async with gw.relay.db.read() as conn:
            first = (await webhook_store.list_webhook_deliveries(conn, ids[0]))[0]
            attempts = await webhook_store.list_webhook_attempts(conn, first.id)
        assert first.state == "delivered"
        assert attempts[-1].status_code == 200
        assert all(a.status_code is None and a.error for a in attempts[:-1])
