"""Sender adaptation in the accept path: each message leaves with a sender its destination
allows (``domain/senders.py`` decides; this module feeds it the account's pool).

Pools are read from the database and kept for ``refresh`` seconds per account (a change
through this process's API or CLI is seen at once: :meth:`SenderAdapter.forget`; another
process's within ``refresh``). What each country allows comes from ``policy_of``, built from
the country rules by the composition root.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.ids import new_id
from smsrelay.domain.marketing_tags import mark
from smsrelay.domain.messages import Message, MessageKind
from smsrelay.domain.senders import (
    UNKNOWN,
    PoolSender,
    SenderPolicy,
    SenderType,
    choose,
    pool_countries,
    pool_registration,
    pool_sender_value,
)
from smsrelay.engine.clock import Clock
from smsrelay.engine.prepare import Prepared
from smsrelay.store import numbers as number_store
from smsrelay.store import senders as sender_store
from smsrelay.store.db import Database

__all__ = ["SenderAdapter", "add_to_pool", "register_in_pool", "remove_from_pool"]

PolicyOf = Callable[[str | None], SenderPolicy]


def _unknown(country: str | None) -> SenderPolicy:
    return UNKNOWN


class SenderAdapter:
    """Replaces a sender the destination does not allow, or refuses the message."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        policy_of: PolicyOf = _unknown,
        refresh: float = 10.0,
    ) -> None:
        """``policy_of``: a destination's sender policy, its marketing sender mark included,
        from the country rules in force."""
        self._db = db
        self._clock = clock
        self.policy_of = policy_of
        self._refresh = refresh
        self._pools: dict[str, tuple[float, list[PoolSender]]] = {}

    def forget(self, account_id: str) -> None:
        """The account's pool changed: read it again on its next message."""
        self._pools.pop(account_id, None)

    async def pool(self, account_id: str) -> list[PoolSender]:
        now = self._clock.now()
        cached = self._pools.get(account_id)
        if cached is not None and now - cached[0] < self._refresh:
            return cached[1]
        async with self._db.read() as conn:
            pool = await sender_store.pool_of(conn, account_id)
        self._pools[account_id] = (now, pool)
        return pool

    async def adapt(
        self, account_id: str, results: list[Prepared | SmsError]
    ) -> list[Prepared | SmsError]:
        """Each prepared message with its sender chosen, or ``sender_not_allowed``."""
        if not any(isinstance(r, Prepared) for r in results):
            return results
        pool = await self.pool(account_id)
        # a batch repeats its sender and countries: each is parsed and looked up once
        senders: dict[str, numbers.Sender] = {}
        policies: dict[str | None, SenderPolicy] = {}
        out: list[Prepared | SmsError] = []
        for result in results:
            if not isinstance(result, Prepared):
                out.append(result)
                continue
            message = result.message
            if message.sender is None and not pool:
                out.append(result)
                continue
            requested = None
            if message.sender is not None:
                if message.sender not in senders:
                    senders[message.sender] = numbers.parse_sender(message.sender)
                requested = senders[message.sender]
            if message.country not in policies:
                policies[message.country] = self.policy_of(message.country)
            try:
                choice = choose(
                    requested, country=message.country, policy=policies[message.country], pool=pool
                )
                sender, reason = _marked(
                    message, policies[message.country], choice.sender, choice.reason
                )
            except SmsError as error:
                out.append(error)
                continue
            if sender == message.sender:
                out.append(result)
                continue
            adapted = (
                (message.sender, reason)
                if message.sender is not None and reason is not None
                else None
            )
            changed = dataclasses.replace(message, sender=sender, sender_adapted=adapted)
            out.append(dataclasses.replace(result, message=changed))
        return out


def _marked(
    message: Message, policy: SenderPolicy, sender: str | None, reason: str | None
) -> tuple[str | None, str | None]:
    """``sender`` with the destination's marketing mark when ``message`` is marketing, and
    the reasons it differs from the one asked for (joined)."""
    rule = policy.marketing_tag
    if sender is None or rule is None or message.kind is not MessageKind.MARKETING:
        return sender, reason
    marked = mark(sender, rule, message.country or "the destination")
    if marked.reason is None:
        return sender, reason
    return marked.sender, marked.reason if reason is None else f"{reason}; {marked.reason}"


async def add_to_pool(
    conn: AsyncConnection,
    now: float,
    account_id: str,
    type: SenderType,
    value: str,
    countries: Iterable[str] = (),
    registration: tuple[str, str] | None = None,
) -> PoolSender:
    """Add a sender to the account's pool, in the caller's transaction (API and CLI alike).

    ``registration`` is a number's (type, id): ``("10dlc", campaign id)`` for a long code,
    ``("toll_free", verification id)`` for a toll-free number (``domain/senders.py`` checks
    that it fits the sender). A number (long code, short code, toll-free) is also assigned to
    the account for inbound messages, so replies to it reach the account; one another account
    owns is refused (``already_exists``), as is a value the pool holds already.
    """
    stored = pool_sender_value(type, value)
    listed = pool_countries(countries)
    registered = pool_registration(type, *registration) if registration is not None else None
    if type is not SenderType.ALPHANUMERIC:
        owner = (await number_store.owners_of(conn, [stored])).get(stored)
        if owner is not None and owner != account_id:
            raise SmsError(
                ErrorCode.ALREADY_EXISTS,
                f"number {stored} belongs to another account",
                field="value",
            )
        if owner is None:
            await number_store.add_number(conn, stored, account_id, now)
    return await sender_store.add_sender(
        conn,
        sender_id=new_id("snd", now, secrets.token_bytes(10)),
        account_id=account_id,
        type=type,
        value=stored,
        countries=listed,
        now=now,
        registration=registered,
    )


async def register_in_pool(
    conn: AsyncConnection,
    account_id: str,
    sender_id: str,
    registration: tuple[str, str] | None,
) -> PoolSender:
    """Change the registration of a sender of the account's pool, as (type, id) checked
    against the sender as :func:`add_to_pool` checks it; None clears it. NOT_FOUND when the
    pool has no sender of that id."""
    sender = await sender_store.get_sender(conn, account_id, sender_id)
    if sender is None:
        raise SmsError(
            ErrorCode.NOT_FOUND, f"no sender {sender_id!r} in the pool", field="sender_id"
        )
    registered = pool_registration(sender.type, *registration) if registration else None
    changed = await sender_store.set_registration(conn, account_id, sender_id, registered)
    assert changed is not None  # read in the same transaction
    return changed


async def remove_from_pool(conn: AsyncConnection, account_id: str, sender_id: str) -> bool:
    """Remove a sender of the account's pool, releasing its number for inbound messages."""
    sender = await sender_store.get_sender(conn, account_id, sender_id)
    if sender is None:
        return False
    await sender_store.remove_sender(conn, account_id, sender_id)
    if sender.type is not SenderType.ALPHANUMERIC:
        await number_store.remove_number(conn, sender.value, account_id)
    return True
