"""Prices and balances in the engine: the price lists in memory, pricing an accept, refunds,
and the operator's changes (importing a price list, crediting a balance).

The accept path prices each message from its account's price list held here
(:class:`PriceBook`), so pricing costs no query; the debit itself is a statement in the unit
of work's turn (``batcher.py`` → ``store/pricing.charge``). Price lists change rarely and may
change in another process (the ``smsrelay pricing import`` command): the book asks the
database for a version at most every ``max_age`` seconds while sends come in, and reloads the
lists only when that version moved. A change made through this process's API applies at once.

Refunds (:func:`refund_outcomes`) run in the transaction that gives a message its final
status, for the statuses the operator chose (``refund_on``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.domain.pricing import DEFAULT, MICROS, Price, PriceError, PriceList, PriceRow
from smsrelay.domain.routing import PriceTable
from smsrelay.engine.notify import enqueue_status_callbacks
from smsrelay.store import accounts as account_store
from smsrelay.store import pricing as store
from smsrelay.store.db import Database

ACCOUNT = "account"
CONNECTOR = "connector"


class PriceBook:
    """Every price list, in memory; see the module docstring for how it stays current."""

    def __init__(
        self,
        db: Database | None,
        *,
        max_age: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._max_age = max_age
        self._monotonic = monotonic
        self._checked = float("-inf")
        self._version: tuple[int, float] | None = None
        self._lock = asyncio.Lock()
        self.accounts: dict[str, PriceList] = {}
        self.connectors: dict[str, PriceList] = {}

    async def fresh(self) -> None:
        """Reload if a price list may have changed (checked at most every ``max_age`` s)."""
        if self._db is None or self._monotonic() - self._checked < self._max_age:
            return
        async with self._lock:
            if self._monotonic() - self._checked < self._max_age:
                return  # another caller checked while this one waited
            await self._reload(force=False)

    async def reload(self) -> None:
        """Load every list now (after a change, and at start)."""
        if self._db is not None:
            async with self._lock:
                await self._reload(force=True)

    async def _reload(self, *, force: bool) -> None:
        assert self._db is not None
        async with self._db.read() as conn:
            version = await store.price_version(conn)
            if force or version != self._version:
                lists = await store.load_price_lists(conn)
                self.accounts = {o: PriceList(r) for (k, o), r in lists.items() if k == ACCOUNT}
                self.connectors = {o: PriceList(r) for (k, o), r in lists.items() if k == CONNECTOR}
                self._version = version
        self._checked = self._monotonic()

    def account_price(self, account_id: str, to: str, country: str | None) -> Price | None:
        """The account's price per segment for ``to``; None without a list or a matching row."""
        prices = self.accounts.get(account_id)
        return None if prices is None else prices.lookup(to, country)

    def priced(self, message: Message) -> Message:
        """``message`` with its price (segments x the account's price), or as it is."""
        prices = self.accounts.get(message.account_id)
        if prices is None:
            return message
        price = prices.lookup(message.to, message.country)
        if price is None:
            return message
        return dataclasses.replace(
            message, price_micros=price.of(message.segments), currency=price.currency
        )

    def connector_price(self, connector: str, to: str, country: str | None) -> Price | None:
        prices = self.connectors.get(connector)
        return None if prices is None else prices.lookup(to, country)

    def routing_prices(self, configured: PriceTable, to: str, country: str | None) -> PriceTable:
        """The price table least-cost routing compares for one destination: a connector's
        imported list (prefix-aware) replaces its ``prices`` option from the configuration."""
        if not self.connectors:
            return configured
        table: dict[str, Mapping[str, float]] = dict(configured)
        for name, prices in self.connectors.items():
            price = prices.lookup(to, country)
            table[name] = {} if price is None else {country or DEFAULT: price.price_micros / MICROS}
        return table


class _Due(Protocol):
    def note_due(self) -> None: ...


async def settle_changes(
    conn: AsyncConnection,
    changed: Sequence[Message | None],
    now: float,
    *,
    refund_on: Collection[str],
    outbox: _Due | None,
) -> int:
    """What every status change sets off, in the transaction that made it: the refund of
    the statuses the operator refunds, the status callbacks (and SMPP receipts) it owes, and
    a word to the outbox that callbacks are due. The number of callbacks queued."""
    await refund_outcomes(conn, changed, now, refund_on)
    queued = await enqueue_status_callbacks(conn, changed, now)
    if queued and outbox is not None:
        outbox.note_due()
    return queued


async def refund_outcomes(
    conn: AsyncConnection, changed: Iterable[Message | None], now: float, refund_on: Collection[str]
) -> int:
    """Credit back the price of the messages in ``changed`` whose new status is one the
    operator refunds, in the caller's transaction (the one of the status change)."""
    if not refund_on:
        return 0
    due = [m for m in changed if m is not None and m.price_micros and m.status in refund_on]
    return await store.refund(conn, due, now) if due else 0


# -- the operator's changes -------------------------------------------------------------------


async def import_price_list(
    db: Database,
    kind: str,
    owner: str,
    rows: Sequence[PriceRow],
    now: float,
    *,
    connectors: Collection[str] | None = None,
) -> str:
    """Replace the price list of account ``owner`` (its name) or connector ``owner``; returns
    the owner's key (the account id, or the connector name). ``LookupError`` for an unknown
    owner; ``PriceError`` when the list's currency is not the one of the account's balance
    (there is no conversion)."""
    currency = rows[0].currency if rows else None
    async with db.transaction() as conn:
        if kind == ACCOUNT:
            account = await account_store.get_account_by_name(conn, owner)
            if account is None:
                raise LookupError(f"no account named {owner!r}")
            key = account.id
            balance = await store.get_balance(conn, key)
            assert balance is not None
            if currency is not None:
                if balance.currency not in (None, currency) and balance.balance_micros is not None:
                    raise PriceError(
                        [(0, f"the account's balance is in {balance.currency}, not {currency}")]
                    )
                await store.set_currency(conn, key, currency)
        elif kind == CONNECTOR:
            if connectors is not None and owner not in connectors:
                raise LookupError(f"no connector named {owner!r}")
            key = owner
        else:
            raise ValueError(f"price lists belong to an account or a connector, not {kind!r}")
        await store.replace_price_list(conn, kind, key, rows, now)  # type: ignore[arg-type]
    return key


async def credit_account(
    db: Database, name: str, amount_micros: int, now: float, *, currency: str | None = None
) -> store.Balance:
    """Add ``amount_micros`` to the balance of account ``name`` (negative: a correction that
    takes money off). The balance's currency is the account's, else ``currency``, else its
    price list's. ``LookupError``/``ValueError`` say what is wrong."""
    async with db.transaction() as conn:
        account = await account_store.get_account_by_name(conn, name)
        if account is None:
            raise LookupError(f"no account named {name!r}")
        balance = await store.get_balance(conn, account.id)
        assert balance is not None
        lists = await store.load_price_lists(conn)
        listed = lists.get((ACCOUNT, account.id))
        chosen = balance.currency or currency or (listed[0].currency if listed else None)
        if chosen is None:
            raise ValueError("the account has no currency yet: give one (--currency EUR)")
        if currency is not None and currency != chosen:
            raise ValueError(f"the account's balance is in {chosen}, not {currency}")
        return await store.credit(conn, account.id, amount_micros, chosen, now, note="credit")
