"""Command line: a thin shell over the library (each command parses, calls, prints)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.config import Settings, load_settings
from smsrelay.domain.errors import ErrorCode, SmsError

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="smsrelay: a self-hosted bulk SMS gateway.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
accounts_app = typer.Typer(no_args_is_help=True, help="Accounts (tenants).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys.")
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")

# piped output keeps whole lines (ids are long), a terminal gets its own width
out = Console() if sys.stdout.isatty() else Console(width=240)
err = Console(stderr=True)


def main() -> None:
    app()


def _run_db(op: Callable[[AsyncConnection], Awaitable[T]], *, write: bool = True) -> T:
    """Migrate, open the configured database, run ``op`` in one transaction, close."""
    from smsrelay.app import open_database

    async def runner() -> T:
        db = await open_database(load_settings())
        try:
            async with (db.transaction() if write else db.read()) as conn:
                return await op(conn)
        finally:
            await db.close()

    try:
        return asyncio.run(runner())
    except SmsError as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(1) from None


@app.command()
def serve() -> None:
    """Run the gateway: HTTP API, dispatcher, connectors, webhooks."""
    from smsrelay.serve import run

    run(load_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from smsrelay.store.db import current_revision, upgrade

    settings = load_settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    out.print(f"database at revision {current_revision(settings.resolved_database_url)}")


@accounts_app.command("create")
def accounts_create(name: str, webhook_url: str = typer.Option(None, help="Status callbacks.")
                    ) -> None:
    """Create an account; prints its webhook signing secret."""
    from smsrelay.store import accounts as store

    account = _run_db(lambda c: store.create_account(c, name, time.time(),
                                                     webhook_url=webhook_url))
    out.print(f"account {account.name} ({account.id})")
    out.print(f"webhook secret: {account.webhook_secret}")


@accounts_app.command("update")
def accounts_update(name: str, webhook_url: str = typer.Option(None),
                    rate_limit: float = typer.Option(None, help="messages/s; 0 = no limit"),
                    rate_burst: int = typer.Option(None)) -> None:
    """Change an account's webhook URL or rate limit."""
    from smsrelay.store import accounts as store

    changes: dict[str, Any] = {k: v for k, v in {"webhook_url": webhook_url,
                                                 "rate_limit": rate_limit,
                                                 "rate_burst": rate_burst}.items()
                               if v is not None}
    account = _run_db(lambda c: store.update_account(c, name, **changes))
    out.print(f"account {account.name} updated")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""
    from smsrelay.store import accounts as store

    rows = _run_db(store.list_accounts, write=False)
    table = Table("id", "name", "webhook_url", "rate_limit")
    for a in rows:
        table.add_row(a.id, a.name, a.webhook_url or "", "" if a.rate_limit is None
                      else f"{a.rate_limit:g}")
    out.print(table)


@accounts_app.command("secret")
def accounts_secret(name: str) -> None:
    """Print the account's webhook signing secret."""
    from smsrelay.store import accounts as store

    account = _run_db(lambda c: store.get_account_by_name(c, name), write=False)
    if account is None:
        err.print(f"[red]error:[/red] no account named {name!r}")
        raise typer.Exit(1)
    out.print(account.webhook_secret)


@keys_app.command("create")
def keys_create(account: str = typer.Option(..., help="Account name."),
                scope: str = typer.Option("send,read", help="Comma-separated: send,read,admin"),
                name: str = typer.Option(None, help="A label for the key.")) -> None:
    """Create an API key; it is shown once."""
    from smsrelay.store import accounts as store

    async def op(conn: AsyncConnection) -> str:
        found = await store.get_account_by_name(conn, account)
        if found is None:
            raise SmsError(ErrorCode.NOT_FOUND, f"no account named {account!r}")
        _, key = await store.create_api_key(conn, found.id, scope.split(","), time.time(),
                                            name=name)
        return key

    key = _run_db(op)
    err.print("API key (shown once, store it now):")
    print(key)


@keys_app.command("list")
def keys_list(account: str = typer.Option(None, help="Only this account's keys.")) -> None:
    """List API keys (prefixes only)."""
    from smsrelay.store import accounts as store

    async def op(conn: AsyncConnection) -> list[Any]:
        account_id = None
        if account:
            found = await store.get_account_by_name(conn, account)
            account_id = found.id if found else "-"
        return await store.list_api_keys(conn, account_id)

    table = Table("id", "prefix", "account", "scopes", "created", "revoked")
    for k in _run_db(op, write=False):
        table.add_row(k.id, k.prefix + "_…", k.account_id, ",".join(sorted(k.scopes)),
                      time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.created_at)),
                      "" if k.revoked_at is None else "revoked")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key by id."""
    from smsrelay.store import accounts as store

    if not _run_db(lambda c: store.revoke_api_key(c, key_id, time.time())):
        err.print(f"[red]error:[/red] no active key {key_id!r}")
        raise typer.Exit(1)
    out.print(f"revoked {key_id}")


def _api_key(settings: Settings, explicit: str | None) -> str:
    key = explicit or os.environ.get("SMSRELAY_API_KEY")
    if key:
        return key
    try:
        return settings.key_file.read_text().strip()
    except OSError:
        err.print(f"[red]error:[/red] no API key: set SMSRELAY_API_KEY or create "
                  f"{settings.key_file}")
        raise typer.Exit(2) from None


@app.command()
def send(to: str = typer.Option(..., help="Destination in E.164, e.g. +14155552671."),
         message: str = typer.Option(..., help="Text (spintax allowed)."),
         sender: str = typer.Option(None, "--from", help="Sender ID or number."),
         kind: str = typer.Option("transactional", help="otp | transactional | marketing"),
         callback_url: str = typer.Option(None, help="Status webhook for this message."),
         url: str = typer.Option(None, help="API base URL (default from settings)."),
         key: str = typer.Option(None, help="API key (default: $SMSRELAY_API_KEY or key file)."),
         ) -> None:
    """Send one SMS through a running gateway and print the answer."""
    settings = load_settings()
    base = url or f"http://{settings.http_host}:{settings.http_port}"
    body = {"to": to, "message": message, "kind": kind}
    if sender:
        body["from"] = sender
    if callback_url:
        body["callback_url"] = callback_url
    try:
        response = httpx.post(f"{base}/v1/messages", json=body, timeout=30,
                              headers={"Authorization": f"Bearer {_api_key(settings, key)}"})
    except httpx.HTTPError as error:
        err.print(f"[red]error:[/red] cannot reach {base}: {error}")
        raise typer.Exit(2) from None
    out.print_json(response.text)
    if response.status_code >= 400:
        raise typer.Exit(1)


@app.command("webhook-listen")
def webhook_listen(port: int = typer.Option(8090), secret: str = typer.Option(...),
                   host: str = typer.Option("127.0.0.1")) -> None:
    """Receive status callbacks, verify their signatures, print them."""
    import uvicorn

    from smsrelay.gateway.webhook_listener import create_listener

    def show(body: dict[str, Any], verified: bool) -> None:
        mark = "verified" if verified else "BAD SIGNATURE"
        sys.stdout.write(f"{mark} {orjson.dumps(body).decode()}\n")
        sys.stdout.flush()

    err.print(f"listening for callbacks on http://{host}:{port}/")
    uvicorn.run(create_listener(secret, show), host=host, port=port, log_level="warning")


