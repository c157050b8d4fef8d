"""Command line for sender pools: ``senders add|register|list|remove``.

Kept apart from ``cli.py`` (already long) and registered there; each command parses, calls
the engine's pool functions (``engine/senders.py``: the same checks as ``/v1/senders``) or
the store, and prints. A running gateway sees a change within its sender adapter's refresh.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

senders_app = typer.Typer(no_args_is_help=True, help="Accounts' sender pools.")


def register(app: typer.Typer) -> None:
    """Add the ``senders`` group to the CLI."""
    app.add_typer(senders_app, name="senders")


@senders_app.command("add")
def senders_add(
    account: str = typer.Option(..., help="Account name."),
    type: str = typer.Option(..., help="alphanumeric | long_code | short_code | toll_free"),
    value: str = typer.Option(..., help="The sender id, number or short code."),
    countries: str = typer.Option("", help="ISO codes it may be used in, e.g. US,CA; empty: any."),
    registration: str = typer.Option(
        "", help="A number's registration as TYPE:ID: 10dlc:CAMPAIGN (long code), toll_free:ID."
    ),
) -> None:
    """Add a sender to an account's pool (a number also receives the account's replies)."""
    from smsrelay.cli import _account_id, _run_db, err, out
    from smsrelay.domain.senders import SenderType
    from smsrelay.engine.senders import add_to_pool

    try:
        kind = SenderType(type)
    except ValueError:
        err.print(f"[red]error:[/red] --type: one of {', '.join(t.value for t in SenderType)}")
        raise typer.Exit(2) from None
    registered = _registration(registration) if registration else None

    async def op(conn: AsyncConnection) -> Any:
        account_id = await _account_id(conn, account)
        return await add_to_pool(
            conn, time.time(), account_id, kind, value, countries.split(","), registered
        )

    sender = _run_db(op)
    where = ",".join(sorted(sender.countries)) or "any country"
    extra = f", {sender.registration}" if sender.registration else ""
    out.print(
        f"sender {sender.value} ({sender.type}, {where}{extra}) added to {account}: {sender.id}"
    )


def _registration(given: str) -> tuple[str, str]:
    """``--registration TYPE:ID`` as (type, id); the sender's own check follows."""
    from smsrelay.cli import err

    reg_type, colon, reg_id = given.partition(":")
    if not colon:
        err.print("[red]error:[/red] --registration: TYPE:ID, e.g. 10dlc:C1A2B3C")
        raise typer.Exit(2)
    return reg_type, reg_id


@senders_app.command("register")
def senders_register(
    sender_id: str,
    account: str = typer.Option(..., help="Account name."),
    registration: str = typer.Option(
        ..., help="TYPE:ID (10dlc:CAMPAIGN for a long code, toll_free:ID), or none to clear."
    ),
) -> None:
    """Change the registration of a number of an account's pool."""
    from smsrelay.cli import _account_id, _run_db, out
    from smsrelay.engine.senders import register_in_pool

    registered = None if registration == "none" else _registration(registration)

    async def op(conn: AsyncConnection) -> Any:
        return await register_in_pool(conn, await _account_id(conn, account), sender_id, registered)

    sender = _run_db(op)
    out.print(f"sender {sender.value} ({sender.id}): {sender.registration or 'not registered'}")


@senders_app.command("list")
def senders_list(account: str = typer.Option(..., help="Account name.")) -> None:
    """An account's sender pool."""
    from smsrelay.cli import _account_id, _run_db, out
    from smsrelay.store import senders as store

    async def op(conn: AsyncConnection) -> Any:
        return await store.pool_of(conn, await _account_id(conn, account))

    table = Table("id", "type", "value", "countries", "registration")
    for s in _run_db(op, write=False):
        where = ",".join(sorted(s.countries)) or "any"
        table.add_row(s.id, str(s.type), s.value, where, str(s.registration or "-"))
    out.print(table)


@senders_app.command("remove")
def senders_remove(sender_id: str, account: str = typer.Option(..., help="Account name.")) -> None:
    """Remove a sender from an account's pool (a number stops receiving its replies)."""
    from smsrelay.cli import _account_id, _run_db, err, out
    from smsrelay.engine.senders import remove_from_pool

    async def op(conn: AsyncConnection) -> bool:
        return await remove_from_pool(conn, await _account_id(conn, account), sender_id)

    if not _run_db(op):
        err.print(f"[red]error:[/red] no sender {sender_id!r} in {account}'s pool")
        raise typer.Exit(1)
    out.print(f"removed {sender_id}")
