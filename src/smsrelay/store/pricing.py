"""Price lists, balances and the ledger: every statement that reads or moves money.

Amounts are integer micro-units (``domain/pricing.py``). The two statements on the engine's
paths run inside its turn's transaction (``engine/unit_of_work.py``):

- :func:`charge`: one conditional UPDATE per accepted send. It takes the send's price off the
  balance only if the balance stays at or above ``-credit_limit``; no row changed means the
  balance cannot cover it. The check and the debit are one statement, so two sends can never
  both see the same money: SQLite has one writer, PostgreSQL locks the account row for the
  UPDATE and re-evaluates the condition on the newest balance.
- :func:`refund`: marks messages ``refunded_at`` (only those not refunded yet) and credits
  their price back, in the transaction of their status change: once per message, whatever
  receipts or retries come later.

An account without a balance (``balance_micros`` NULL, every account until it is credited) is
postpaid: its sends are priced but never refused, and nothing is written to the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import Update, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.messages import Message
from smsrelay.domain.pricing import PriceRow
from smsrelay.store import hot
from smsrelay.store.hot import padded
from smsrelay.store.schema import accounts, ledger, messages, price_rows

__all__ = [
    "Balance",
    "Owner",
    "UsageRow",
    "charge",
    "credit",
    "get_balance",
    "load_price_lists",
    "price_version",
    "refund",
    "replace_price_list",
    "set_credit_limit",
    "usage_rows",
]

Owner = Literal["account", "connector"]


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's money: ``balance_micros`` None = no prepaid balance (postpaid)."""

    balance_micros: int | None
    credit_limit_micros: int
    currency: str | None


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One sent message as the usage report needs it."""

    country: str | None
    to: str
    segments: int
    connector: str | None
    price_micros: int | None
    currency: str | None
    refunded: bool


# -- price lists ------------------------------------------------------------------------------


async def replace_price_list(
    conn: AsyncConnection, kind: Owner, owner: str, rows: Sequence[PriceRow], now: float
) -> None:
    """Make ``rows`` the whole price list of ``owner`` (no rows: it has none)."""
    await conn.execute(
        delete(price_rows).where(price_rows.c.owner_kind == kind, price_rows.c.owner == owner)
    )
    if rows:
        await conn.execute(
            price_rows.insert(),
            [
                {
                    "owner_kind": kind,
                    "owner": owner,
                    "country": r.country,
                    "prefix": r.prefix,
                    "price_micros": r.price_micros,
                    "currency": r.currency,
                    "updated_at": now,
                }
                for r in rows
            ],
        )


async def load_price_lists(conn: AsyncConnection) -> dict[tuple[str, str], list[PriceRow]]:
    """Every price list, by (owner kind, owner)."""
    t = price_rows
    result = await conn.execute(
        select(t.c.owner_kind, t.c.owner, t.c.country, t.c.prefix, t.c.price_micros, t.c.currency)
    )
    lists: dict[tuple[str, str], list[PriceRow]] = {}
    for kind, owner, country, prefix, price, currency in result:
        lists.setdefault((kind, owner), []).append(PriceRow(country, prefix, price, currency))
    return lists


async def price_version(conn: AsyncConnection) -> tuple[int, float]:
    """Changes whenever a price list does (rows replaced, added or removed): cheap to ask."""
    row = (
        await conn.execute(
            select(func.count(), func.coalesce(func.max(price_rows.c.updated_at), 0.0))
        )
    ).one()
    return int(row[0]), float(row[1])


# -- balances ---------------------------------------------------------------------------------


async def get_balance(conn: AsyncConnection, account_id: str) -> Balance | None:
    """The account's balance, or None when there is no such account."""
    a = accounts
    row = (
        await conn.execute(
            select(a.c.balance_micros, a.c.credit_limit_micros, a.c.currency).where(
                a.c.id == account_id
            )
        )
    ).first()
    if row is None:
        return None
    return Balance(row[0], row[1], row[2])


async def credit(
    conn: AsyncConnection,
    account_id: str,
    amount_micros: int,
    currency: str,
    now: float,
    *,
    note: str | None = None,
) -> Balance:
    """Add ``amount_micros`` (negative: take off) to the balance, which starts at 0 for an
    account that had none; the account's currency becomes ``currency`` if it had none. The
    caller checks the currency matches (``engine/money.py``)."""
    a = accounts
    await conn.execute(
        update(a)
        .where(a.c.id == account_id)
        .values(
            balance_micros=func.coalesce(a.c.balance_micros, 0) + amount_micros,
            currency=func.coalesce(a.c.currency, currency),
        )
    )
    await conn.execute(
        ledger.insert().values(
            account_id=account_id, kind="credit", amount_micros=amount_micros, at=now, note=note
        )
    )
    found = await get_balance(conn, account_id)
    assert found is not None
    return found


async def set_credit_limit(conn: AsyncConnection, account_id: str, limit_micros: int) -> None:
    await conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(credit_limit_micros=limit_micros)
    )


async def set_currency(conn: AsyncConnection, account_id: str, currency: str) -> None:
    """The currency of the account's balance (set when its price list is imported)."""
    await conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(currency=currency)
    )


@cache
def _charge_statement() -> Update:
    a = accounts
    cost: Any = bindparam("c_cost")
    return (
        update(a)
        .where(
            a.c.id == bindparam("c_account"),
            or_(
                a.c.balance_micros.is_(None),
                a.c.balance_micros - cost >= -a.c.credit_limit_micros,
            ),
        )
        .values(balance_micros=a.c.balance_micros - cost)
        .returning(a.c.balance_micros)
    )


async def charge(
    conn: AsyncConnection,
    account_id: str,
    cost_micros: int,
    message_ids: Sequence[str],
    now: float,
) -> bool:
    """Take ``cost_micros`` for ``message_ids`` off the account's balance, in the caller's
    transaction; False (and nothing changed) when the balance cannot cover it. A postpaid
    account (no balance) is always True, with no ledger row."""
    found = await hot.rows(
        conn, _charge_statement(), {"c_account": account_id, "c_cost": cost_micros}
    )
    if not found:
        return False
    if found[0][0] is not None:
        await hot.execute(
            conn,
            _ledger_insert(),
            {
                "account_id": account_id,
                "message_id": message_ids[0],
                "kind": "debit",
                "amount_micros": -cost_micros,
                "messages": len(message_ids),
                "at": now,
            },
        )
    return True


@cache
def _ledger_insert() -> Any:
    return ledger.insert()


@cache
def _mark_refunded() -> Update:
    m = messages
    return (
        update(m)
        .where(
            m.c.id.in_(bindparam("r_ids", expanding=True)),
            m.c.refunded_at.is_(None),
            m.c.price_micros.is_not(None),
        )
        .values(refunded_at=bindparam("r_now"))
        .returning(m.c.id, m.c.account_id, m.c.price_micros)
    )


@cache
def _credit_back() -> Update:
    a = accounts
    return (
        update(a)
        .where(a.c.id == bindparam("r_account"), a.c.balance_micros.is_not(None))
        .values(balance_micros=a.c.balance_micros + bindparam("r_amount"))
        .returning(a.c.id)
    )


async def refund(conn: AsyncConnection, changed: Iterable[Message], now: float) -> int:
    """Credit back the price of ``changed`` messages (priced, not refunded before), in the
    caller's transaction; returns how many were refunded."""
    ids = sorted({m.id for m in changed if m.price_micros})
    if not ids:
        return 0
    marked = await hot.rows(conn, _mark_refunded(), {"r_ids": padded(ids), "r_now": now})
    per_account: dict[str, list[tuple[str, int]]] = {}
    for message_id, account_id, price in marked:
        per_account.setdefault(account_id, []).append((message_id, price))
    for account_id, items in sorted(per_account.items()):
        total = sum(price for _, price in items)
        credited = await hot.rows(
            conn, _credit_back(), {"r_account": account_id, "r_amount": total}
        )
        if credited:  # only a prepaid balance moves, and only then is there a ledger row
            await hot.execute_many(
                conn,
                _ledger_insert(),
                [
                    {
                        "account_id": account_id,
                        "message_id": message_id,
                        "kind": "refund",
                        "amount_micros": price,
                        "messages": 1,
                        "at": now,
                    }
                    for message_id, price in items
                ],
            )
    return len(marked)


# -- usage ------------------------------------------------------------------------------------


async def usage_rows(conn: AsyncConnection, account_id: str, since: float | None) -> list[UsageRow]:
    """The account's messages that reached a carrier (a connector was tried), since ``since``."""
    m = messages
    query = select(
        m.c.country,
        m.c.to_number,
        m.c.segments,
        m.c.connector,
        m.c.price_micros,
        m.c.currency,
        m.c.refunded_at,
    ).where(m.c.account_id == account_id)
    if since is not None:
        query = query.where(m.c.created_at >= since)
    result = await conn.execute(query)
    return [
        UsageRow(country, to, segments, connector, price, currency, refunded is not None)
        for country, to, segments, connector, price, currency, refunded in result
    ]
