"""Inbound (MO) messages: store, assign to the owning account, act on STOP/START, forward.

Connectors hand MO messages to :meth:`InboundProcessor.mo`, which only queues (the
connector's read loop must not wait for the database). A background task applies whatever
has arrived as one write per batch in the engine's turn, like the receipt processor:

- the message is stored, with the account that owns the destination number (or none);
- an opt-out keyword adds the sender to that account's suppression list, an opt-in keyword
  removes it (``domain/optout.py`` decides what the first word means);
- the account's inbound webhook is queued in the webhook outbox (signed and retried like
  status callbacks), and a deliver_sm for its SMPP receiver binds in the SMPP outbox.

Writing the forwards in the transaction that stores the message means an MO is either not
taken at all or stored and forwarded, never stored and forgotten.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.ids import new_id
from smsrelay.domain.messages import InboundMessage
from smsrelay.domain.optout import DEFAULT_OPTIN, DEFAULT_OPTOUT, KeywordAction, match_keyword
from smsrelay.engine.batch_worker import BatchWorker, clean_text
from smsrelay.engine.clock import Clock
from smsrelay.engine.notify import iso
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.store import accounts as account_store
from smsrelay.store import inbound as inbound_store
from smsrelay.store import numbers as number_store
from smsrelay.store import smpp_outbox as smpp_store
from smsrelay.store import smpp_users as smpp_user_store
from smsrelay.store import suppressions as suppression_store
from smsrelay.store import webhooks as webhook_store
from smsrelay.store.inbound import StoredInbound

log = logging.getLogger(__name__)


def normalise_address(address: str) -> str:
    """A carrier's address in the form ``numbers`` stores: E.164 with ``+`` for a full
    number (carriers often drop the ``+`` or write ``00``), a short code as it is."""
    value = address.strip().replace(" ", "")
    if value.startswith("00") and value[2:].isdigit():
        value = "+" + value[2:]
    if value.isdigit() and len(value) > 6:
        return "+" + value
    return value


def inbound_payload(item: StoredInbound) -> str:
    """The inbound webhook body (signed and sent as is)."""
    return orjson.dumps(
        {
            "type": "inbound",
            "inbound_id": item.id,
            "from": item.from_number,
            "to": item.to_number,
            "message": item.body,
            "timestamp": iso(item.received_at),
            "keyword": item.keyword,
        }
    ).decode()


class InboundProcessor(BatchWorker[InboundMessage]):
    """Receives MO messages from connectors and applies them in batched transactions."""

    name = "inbound"

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        optout_keywords: Iterable[str] = DEFAULT_OPTOUT,
        optin_keywords: Iterable[str] = DEFAULT_OPTIN,
        outbox: Claimant[Any] | None = None,
        max_batch: int = 500,
    ) -> None:
        """``outbox``: the webhook outbox, which claims the inbound webhooks a batch queues
        in the same turn."""
        super().__init__(clock, max_batch=max_batch)
        self._uow = uow
        self._optout = tuple(optout_keywords)
        self._optin = tuple(optin_keywords)
        self._outbox = outbox

    async def mo(self, message: InboundMessage) -> None:
        """The connectors' sink: returns once the message is stored (then it may be acked)."""
        await self.submit(
            dataclasses.replace(
                message,
                sender=clean_text(message.sender, 64),
                to=clean_text(message.to, 64),
                body=clean_text(message.body, 10_000),
                carrier_id=None
                if message.carrier_id is None
                else clean_text(message.carrier_id, 80),
            )
        )

    async def _apply_batch(self, batch: Sequence[InboundMessage]) -> None:
        if not batch:
            return
        outbox = self._outbox

        async def write(conn: AsyncConnection, now: float) -> list[StoredInbound]:
            owners = await number_store.owners_of(conn, [normalise_address(m.to) for m in batch])
            stored = [self._stored(m, owners, now) for m in batch]
            await inbound_store.insert_inbound(conn, stored)
            await self._apply_keywords(conn, stored, now)
            if await self._forward(conn, stored, now) and outbox is not None:
                outbox.note_due()
            return stored

        stored = await self._uow.run(write, weight=len(batch))
        for item in stored:
            log.info(
                "inbound stored id=%s connector=%s account=%s keyword=%s",
                item.id,
                item.connector,
                item.account_id,
                item.keyword,
            )

    def _stored(self, message: InboundMessage, owners: dict[str, str], now: float) -> StoredInbound:
        to = normalise_address(message.to)
        found = match_keyword(message.body, self._optout, self._optin)
        return StoredInbound(
            id=new_id("mo", now),
            account_id=owners.get(to),
            connector=message.connector,
            from_number=normalise_address(message.sender)[:21],
            to_number=to[:21],
            body=message.body,
            carrier_id=message.carrier_id,
            keyword=found.keyword[:16] if found else None,
            received_at=message.received_at,
            created_at=now,
        )

    async def _apply_keywords(
        self, conn: AsyncConnection, stored: Sequence[StoredInbound], now: float
    ) -> None:
        for item in stored:
            if item.account_id is None or item.keyword is None:
                continue
            found = match_keyword(item.keyword, self._optout, self._optin)
            if found is None:
                continue
            if found.action is KeywordAction.OPT_OUT:
                await suppression_store.add_suppression(
                    conn, item.account_id, item.from_number, reason="optout", source="mo", now=now
                )
            else:
                await suppression_store.remove_suppression(conn, item.account_id, item.from_number)

    async def _forward(
        self, conn: AsyncConnection, stored: Sequence[StoredInbound], now: float
    ) -> int:
        """Queue the inbound webhook and the SMPP deliver_sm of each assigned message."""
        hooks: list[tuple[str, str, str, str]] = []
        smpp: list[smpp_store.NewSmppDelivery] = []
        urls: dict[str, str | None] = {}
        has_smpp: dict[str, bool] = {}
        for item in stored:
            account_id = item.account_id
            if account_id is None:
                continue
            if account_id not in urls:
                account = await account_store.get_account(conn, account_id)
                urls[account_id] = account.inbound_webhook_url if account else None
                has_smpp[account_id] = bool(await smpp_user_store.list_smpp_users(conn, account_id))
            url = urls[account_id]
            if url:
                hooks.append((account_id, item.id, url, inbound_payload(item)))
            if has_smpp[account_id]:
                smpp.append(
                    smpp_store.NewSmppDelivery(
                        account_id=account_id,
                        smpp_user_id=None,
                        kind="mo",
                        ref_id=item.id,
                        source_addr=item.from_number.lstrip("+"),
                        destination_addr=item.to_number.lstrip("+"),
                        body=item.body,
                    )
                )
        await webhook_store.enqueue_webhooks(conn, hooks, now)
        await smpp_store.enqueue_smpp(conn, smpp, now)
        return len(hooks)
