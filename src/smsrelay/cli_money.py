"""Command line for money: ``pricing import``, ``accounts credit`` and ``accounts usage``.

Kept apart from ``cli.py`` (already long) and registered there; each command parses, calls
the engine (``engine/money.py``) or the store, and prints.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from smsrelay.config import Settings, load_settings
from smsrelay.domain.pricing import (
    PriceError,
    PriceList,
    currency_code,
    money,
    parse_csv,
    to_micros,
)
from smsrelay.domain.routing import price_of
from smsrelay.store.db import Database

T = TypeVar("T")

pricing_app = typer.Typer(no_args_is_help=True, help="Price lists (per account and connector).")
out = Console(width=240)
err = Console(stderr=True)


def register(app: typer.Typer, accounts_app: typer.Typer) -> None:
    """Add the money commands to the CLI's groups."""
    app.add_typer(pricing_app, name="pricing")
    accounts_app.command("credit")(accounts_credit)
    accounts_app.command("usage")(accounts_usage)


def _with_db(op: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Migrate and open the configured database, run ``op``, close."""
    from smsrelay.app import open_database

    async def runner() -> T:
        settings = load_settings()
        db = await open_database(settings)
        try:
            return await op(db, settings)
        finally:
            await db.close()

    return asyncio.run(runner())


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


@pricing_app.command("import")
def pricing_import(
    file: Path = typer.Argument(..., help="CSV with the columns country,prefix,price,currency."),
    account: str = typer.Option(None, help="The account whose price list (sell) this is."),
    connector: str = typer.Option(None, help="The connector whose price list (cost) this is."),
) -> None:
    """Replace an account's or a connector's price list with the rows of FILE."""
    from smsrelay.engine import money as engine_money

    if (account is None) == (connector is None):
        raise _fail("give either --account NAME or --connector NAME")
    try:
        rows = parse_csv(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise _fail(f"cannot read {file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise _fail(f"{file} is not UTF-8 text") from None
    except PriceError as error:
        for line, message in error.problems:
            err.print(f"{file}:{line}: {message}", highlight=False)
        raise _fail(f"{len(error.problems)} problem(s); nothing imported") from None
    kind = engine_money.ACCOUNT if account is not None else engine_money.CONNECTOR
    owner = account if account is not None else connector

    async def run(db: Database, settings: Settings) -> None:
        names = await _connector_names(db, settings)
        await engine_money.import_price_list(db, kind, owner, rows, time.time(), connectors=names)

    try:
        _with_db(run)
    except (LookupError, PriceError) as error:
        raise _fail(str(error)) from None
    currency = rows[0].currency if rows else "-"
    out.print(f"{len(rows)} price(s) in {currency} for {kind} {owner}", highlight=False)


async def _connector_names(db: Database, settings: Settings) -> set[str]:
    """The configured connectors and those added through the admin API."""
    from smsrelay.store import routes as routes_store

    names = {c.name for c in settings.effective_connectors()}
    async with db.read() as conn:
        names |= {d["name"] for d in await routes_store.load_connectors(conn)}
    return names


def accounts_credit(
    name: str,
    amount: str = typer.Option(..., help="Decimal amount; negative takes money off."),
    currency: str = typer.Option(None, help="Only when the account has no currency yet."),
) -> None:
    """Add AMOUNT to the account's prepaid balance (an account without one gets one)."""
    from smsrelay.engine import money as engine_money

    try:
        micros = to_micros(amount)
        code = currency_code(currency) if currency else None
    except ValueError as error:
        raise _fail(str(error)) from None
    if micros == 0:
        raise _fail("the amount is zero")

    async def run(db: Database, settings: Settings) -> Any:
        return await engine_money.credit_account(db, name, micros, time.time(), currency=code)

    try:
        balance = _with_db(run)
    except (LookupError, ValueError) as error:
        raise _fail(str(error)) from None
    out.print(
        f"{name}: balance {money(balance.balance_micros or 0)} {balance.currency}",
        highlight=False,
    )


_DURATION = re.compile(r"^(\d+)([hd])$")


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if match:
        hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
        return time.time() - hours * 3600
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"--since {value!r}: an ISO date or time, or a duration like 24h or 7d"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def accounts_usage(
    name: str,
    since: str = typer.Option(None, help="ISO date/time, or a duration like 24h or 7d."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per country: messages, segments, what the account paid (sell), what the connectors
    that carried them charge (cost, from their price lists) and the margin."""
    from smsrelay.engine.money import PriceBook
    from smsrelay.store import accounts as account_store
    from smsrelay.store import pricing as store

    start = _since(since)

    async def run(db: Database, settings: Settings) -> list[dict[str, Any]]:
        async with db.read() as conn:
            account = await account_store.get_account_by_name(conn, name)
            if account is None:
                raise LookupError(f"no account named {name!r}")
            rows = await store.usage_rows(conn, account.id, start)
        book = PriceBook(db)  # the connectors' price lists, as the running gateway reads them
        await book.reload()
        configured = {c.name: c.prices for c in settings.effective_connectors()}
        return _usage(rows, book.connectors, configured)

    try:
        report = _with_db(run)
    except LookupError as error:
        raise _fail(str(error)) from None
    if as_json:
        out.print_json(orjson.dumps(report).decode())
        return
    table = Table("country", "messages", "segments", "sell", "cost", "margin", "currency")
    for r in report:
        table.add_row(
            r["country"] or "?",
            str(r["messages"]),
            str(r["segments"]),
            r["sell"],
            r["cost"] or "-",
            r["margin"] or "-",
            r["currency"] or "",
        )
    out.print(table)


def _usage(
    rows: list[Any], costs: dict[str, PriceList], configured: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Sum the rows per country. Refunded messages are not sold; cost counts messages that
    reached a connector. A margin needs sell and cost in one currency (no conversion)."""
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = per.setdefault(
            r.country or "",
            {
                "messages": 0,
                "segments": 0,
                "sell": 0,
                "cost": 0,
                "sell_cur": set(),
                "cost_cur": set(),
                "unpriced": 0,
            },
        )
        entry["messages"] += 1
        entry["segments"] += r.segments
        if r.price_micros is not None and not r.refunded:
            entry["sell"] += r.price_micros
            entry["sell_cur"].add(r.currency)
        if r.connector is None:
            continue
        listed = costs.get(r.connector)
        if listed is not None:
            price = listed.lookup(r.to, r.country)
            if price is None:
                entry["unpriced"] += 1
                continue
            entry["cost"] += price.of(r.segments)
            entry["cost_cur"].add(price.currency)
            continue
        value = price_of(configured, r.connector, r.country)
        if value is None:
            entry["unpriced"] += 1
            continue
        entry["cost"] += to_micros(str(value)) * r.segments
    report = []
    for country, e in sorted(per.items()):
        sell_cur, cost_cur = e["sell_cur"], e["cost_cur"]
        currency = next(iter(sell_cur)) if len(sell_cur) == 1 else None
        comparable = currency is not None and cost_cur <= {currency}
        report.append(
            {
                "country": country or None,
                "messages": e["messages"],
                "segments": e["segments"],
                "sell": money(e["sell"]),
                "cost": money(e["cost"]) if e["cost"] or not e["unpriced"] else None,
                "margin": money(e["sell"] - e["cost"]) if comparable else None,
                "currency": currency,
            }
        )
    return report


__all__ = ["pricing_app", "register"]
