"""Status callbacks: which status changes are pushed, their JSON body, and where they go.

The body starts with the seed's three fields ``message_id``, ``status``, ``timestamp`` and then
``to``, ``segments``, ``error``, ``client_ref``. The exact bytes stored in the outbox are the
bytes signed and sent, so a retry is byte-identical to the first attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message, request_priority
from smsrelay.domain.states import MessageStatus
from smsrelay.store import accounts as account_store
from smsrelay.store import webhooks as webhook_store

NOTIFIED = frozenset({
    MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED,
    MessageStatus.EXPIRED, MessageStatus.REJECTED, MessageStatus.UNKNOWN,
    MessageStatus.FAILED, MessageStatus.CANCELED,
})
"""Every status after acceptance that a customer acts on (queued is the API's own answer)."""


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def status_payload(message: Message, at: float) -> str:
    error = None
    if message.error_code:
        error = {"code": message.error_code, "message": message.error_message}
    body = {
        "message_id": message.id,
        "status": str(message.status),
        "timestamp": iso(at),
        "to": message.to,
        "segments": message.segments,
        "error": error,
        "client_ref": message.client_ref,
        "kind": str(message.kind),
        "priority": request_priority(message.priority),
        "variant": message.variant,
    }
    return orjson.dumps(body).decode()


async def enqueue_status_callbacks(conn: AsyncConnection, messages: Sequence[Message | None],
                                   now: float) -> int:
    """Queue one callback per message whose new status is notified and that has a target."""
    items = []
    urls: dict[str, str | None] = {}
    for message in messages:
        if message is None or message.status not in NOTIFIED:
            continue
        url = message.callback_url
        if url is None:
            if message.account_id not in urls:
                account = await account_store.get_account(conn, message.account_id)
                urls[message.account_id] = account.webhook_url if account else None
            url = urls[message.account_id]
        if url:
            items.append((message.account_id, message.id, url, status_payload(message, now)))
    if items:
        await webhook_store.enqueue_webhooks(conn, items, now)
    return len(items)
