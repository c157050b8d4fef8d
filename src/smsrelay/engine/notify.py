"""Status callbacks: which status changes are pushed, their JSON body, and where they go.

The body starts with the seed's three fields ``message_id``, ``status``, ``timestamp`` and then
``to``, ``segments``, ``error``, ``client_ref``. The exact bytes stored in the outbox are the
bytes signed and sent, so a retry is byte-identical to the first attempt.

Messages accepted over SMPP with registered_delivery also get a receipt queued for the
client's receiver bind (``smpp_outbox``) in the same transaction, from the same call: every
place that changes a status already calls :func:`enqueue_status_callbacks`. A message the
client sent as several parts gets a receipt per part, each for that part's own id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message, ReceiptStatus, request_priority
from smsrelay.domain.states import SETTLED, MessageStatus
from smsrelay.store import accounts as account_store
from smsrelay.store import smpp_outbox as smpp_store
from smsrelay.store import smpp_parts as parts_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.smpp_outbox import NewSmppDelivery

NOTIFIED = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.UNKNOWN,
        MessageStatus.FAILED,
        MessageStatus.CANCELED,
    }
)
"""Every status after acceptance that a customer acts on (queued is the API's own answer)."""


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def receipt_wanted(message: Message) -> bool:
    """An SMPP client asked for a receipt of this outcome (registered_delivery §5.2.17).

    1: any final outcome; 2: failures only. ``unknown`` (no carrier receipt in time) counts
    as an outcome: the client learns that nothing more is expected, and a late carrier
    receipt produces a second, final one.
    """
    if message.origin != "smpp" or message.status not in SETTLED:
        return False
    mode = message.receipt_requested
    return mode == 1 or (mode == 2 and message.status is not MessageStatus.DELIVERED)


_PART_FATE = {
    ReceiptStatus.DELIVERED: MessageStatus.DELIVERED,
    ReceiptStatus.UNDELIVERED: MessageStatus.UNDELIVERED,
    ReceiptStatus.EXPIRED: MessageStatus.EXPIRED,
    ReceiptStatus.REJECTED: MessageStatus.REJECTED,
    ReceiptStatus.UNKNOWN: MessageStatus.UNKNOWN,
}
"""A carrier segment's receipt as the status of the client part it carried."""


def part_statuses(
    message: Message, client_parts: int, carrier: Mapping[int, str]
) -> list[MessageStatus]:
    """The fate of each part a client sent a long message in.

    When the message went to the carrier in as many segments as the client sent parts,
    part n shares segment n's fate (a segment with no final word yet takes the message's
    status); otherwise there is no one-to-one match and every part reports the message's.
    """
    if sorted(carrier) != list(range(1, client_parts + 1)):
        return [message.status] * client_parts
    return [_PART_FATE.get(ReceiptStatus(carrier[n]), message.status) for n in sorted(carrier)]


def _receipt(m: Message, ref_id: str, status: MessageStatus, now: float) -> NewSmppDelivery:
    failed = status is not MessageStatus.DELIVERED
    return NewSmppDelivery(
        account_id=m.account_id,
        smpp_user_id=m.smpp_user_id,
        kind="receipt",
        ref_id=ref_id,
        source_addr=m.to.lstrip("+"),
        destination_addr=m.sender or "",
        body=m.body[:20],
        status=str(status),
        error_code=(m.error_code or None) if failed else None,
        submitted_at=m.created_at,
        done_at=now,
    )


async def enqueue_client_receipts(
    conn: AsyncConnection, messages: Sequence[Message | None], now: float
) -> int:
    """Queue a deliver_sm receipt for each SMPP-accepted message that asked for one.

    A message the client sent in parts gets one receipt per part, for the part's own id
    (``store/smpp_parts.py``) with the part's own fate (:func:`part_statuses`); with
    registered_delivery 2 only the parts that failed are reported.
    """
    wanted = [m for m in messages if m is not None and receipt_wanted(m)]
    if not wanted:
        return 0
    split = await parts_store.client_parts_of(conn, [m.id for m in wanted])
    carrier = await parts_store.carrier_part_statuses(conn, list(split))
    items: list[NewSmppDelivery] = []
    for m in wanted:
        count = split.get(m.id)
        if count is None:
            items.append(_receipt(m, m.id, m.status, now))
            continue
        for n, status in enumerate(part_statuses(m, count, carrier.get(m.id, {})), start=1):
            if m.receipt_requested == 2 and status is MessageStatus.DELIVERED:
                continue
            items.append(_receipt(m, parts_store.part_id(m.id, n), status, now))
    await smpp_store.enqueue_smpp(conn, items, now)
    return len(items)


async def enqueue_status_callbacks(
    conn: AsyncConnection, messages: Sequence[Message | None], now: float
) -> int:
    """Queue one callback per message whose new status is notified and that has a target.

    Also queues the SMPP receipts those changes owe (:func:`enqueue_client_receipts`); the
    count returned is the webhooks only (the SMPP server polls its outbox).
    """
    await enqueue_client_receipts(conn, messages, now)
    items = []
    urls: dict[str, str | None] = {}
    for message in messages:
        if message is None or message.status not in NOTIFIED:
            continue
        url = message.callback_url
        if url is None:
            if message.account_id not in urls:
                urls[message.account_id] = await account_store.webhook_url_of(
                    conn, message.account_id
                )
            url = urls[message.account_id]
        if url:
            items.append((message.account_id, message.id, url, status_payload(message, now)))
    if items:
        await webhook_store.enqueue_webhooks(conn, items, now)
    return len(items)
