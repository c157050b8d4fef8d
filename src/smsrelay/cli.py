"""Command line: a thin shell over the library (each command parses, calls, prints).

Over 400 lines because every command group (accounts, keys, routes, connectors, SMPP users,
send, fraud) is a few short functions of the same shape; splitting them would scatter one
``--help`` tree.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.cli_money import register as register_money
from smsrelay.cli_senders import register as register_senders
from smsrelay.cli_templates import register as register_templates
from smsrelay.config import Settings, load_settings
from smsrelay.domain.errors import ErrorCode, SmsError

if TYPE_CHECKING:
    from smsrelay.store.accounts import Account

T = TypeVar("T")

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="smsrelay: a self-hosted bulk SMS gateway."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
accounts_app = typer.Typer(no_args_is_help=True, help="Accounts (tenants).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys.")
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
routes_app = typer.Typer(no_args_is_help=True, help="Routing.")
app.add_typer(routes_app, name="routes")
connectors_app = typer.Typer(no_args_is_help=True, help="Connectors.")
app.add_typer(connectors_app, name="connectors")
smpp_users_app = typer.Typer(no_args_is_help=True, help="SMPP credentials for client binds.")
app.add_typer(smpp_users_app, name="smpp-users")
register_money(app, accounts_app)  # pricing import, accounts credit, accounts usage
register_senders(app)  # senders add, register, list, remove
register_templates(app)  # templates add, list, remove, import

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
            async with db.transaction() if write else db.read() as conn:
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
def accounts_create(
    name: str,
    webhook_url: str = typer.Option(None, help="Status callbacks."),
    operator: bool = typer.Option(
        False, "--operator", help="Make it an operator (global configuration); default: tenant."
    ),
) -> None:
    """Create an account (a tenant unless --operator); prints its webhook signing secret."""
    from smsrelay.store import accounts as store

    role = store.OPERATOR if operator else store.TENANT

    async def create(conn: AsyncConnection) -> store.Account:
        if webhook_url is not None:
            await _check_account_url(webhook_url, allow_private=operator, field="webhook_url")
        return await store.create_account(
            conn, name, time.time(), webhook_url=webhook_url, role=role
        )

    account = _run_db(create)
    out.print(f"account {account.name} ({account.id}), {account.role}")
    out.print(f"webhook secret: {account.webhook_secret}")


def _opt_out_texts(given: list[str]) -> dict[str, str]:
    """``--opt-out-text`` values (ISO=TEXT, default=TEXT, or none) as the account's texts."""
    if given == ["none"]:
        return {}
    texts: dict[str, str] = {}
    for item in given:
        key, sep, text = item.partition("=")
        if not sep:
            err.print(f"[red]error:[/red] --opt-out-text {item!r}: write it as ISO=TEXT")
            raise typer.Exit(1)
        texts[key.strip()] = text
    return texts


async def _check_account_url(url: str, *, allow_private: bool, field: str) -> None:
    """Refuse a tenant's webhook URL on a loopback or private address (unless allowed)."""
    from smsrelay.engine.callback_guard import check_callback_url

    await check_callback_url(url, allow_private=allow_private, field=field)


@accounts_app.command("update")
def accounts_update(
    name: str,
    webhook_url: str = typer.Option(None),
    rate_limit: float = typer.Option(None, help="messages/s; 0 = no limit"),
    rate_burst: int = typer.Option(None),
    inbound_webhook_url: str = typer.Option(None, help="Inbound (MO) webhook."),
    optout_exempt_otp: bool = typer.Option(
        None,
        "--optout-exempt-otp/--no-optout-exempt-otp",
        help="Let OTP messages reach numbers that opted out.",
    ),
    allow_private_callbacks: bool = typer.Option(
        None,
        "--allow-private-callbacks/--no-allow-private-callbacks",
        help="Let a tenant's callbacks go to loopback and private addresses.",
    ),
    transliterate: bool = typer.Option(
        None,
        "--transliterate/--no-transliterate",
        help="Let encoding=auto write letters outside GSM-7 as their closest GSM-7 form.",
    ),
    national_language: str = typer.Option(
        None,
        help="GSM-7 national shift tables its messages may use (tr, es, pt, ...; none clears).",
    ),
    opt_out_text: list[str] = typer.Option(
        None,
        help="Opt-out text added to marketing where the destination requires one, as "
        "ISO=TEXT or default=TEXT (repeat the option; none clears all).",
    ),
    dlt_entity_id: str = typer.Option(
        None,
        help="India's DLT Principal Entity id for its messages to India that name none "
        "(none clears).",
    ),
) -> None:
    """Change an account's webhook URLs, rate limit, opt-out exemption, callback rule,
    transliteration, national language, opt-out texts or DLT entity id."""
    from smsrelay.store import accounts as store

    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "webhook_url": webhook_url,
            "rate_limit": rate_limit,
            "rate_burst": rate_burst,
            "inbound_webhook_url": inbound_webhook_url,
            "optout_exempt_otp": optout_exempt_otp,
            "allow_private_callbacks": allow_private_callbacks,
            "transliterate": transliterate,
            "national_language": national_language,
            "dlt_entity_id": dlt_entity_id,
        }.items()
        if v is not None
    }
    for cleared in ("national_language", "dlt_entity_id"):
        if changes.get(cleared) == "none":
            changes[cleared] = None
    if opt_out_text:
        changes["opt_out_texts"] = _opt_out_texts(opt_out_text)

    async def update(conn: AsyncConnection) -> store.Account:
        account = await _account(conn, name)
        allowed = account.is_operator or changes.get(
            "allow_private_callbacks", account.allow_private_callbacks
        )
        for field in ("webhook_url", "inbound_webhook_url"):
            if changes.get(field):
                await _check_account_url(changes[field], allow_private=allowed, field=field)
        return await store.update_account(conn, name, **changes)

    account = _run_db(update)
    out.print(f"account {account.name} updated")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""
    from smsrelay.store import accounts as store

    rows = _run_db(store.list_accounts, write=False)
    table = Table("id", "name", "role", "webhook_url", "rate_limit", "private callbacks")
    for a in rows:
        table.add_row(
            a.id,
            a.name,
            a.role,
            a.webhook_url or "",
            "" if a.rate_limit is None else f"{a.rate_limit:g}",
            "allowed" if a.private_callbacks_allowed else "refused",
        )
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
def keys_create(
    account: str = typer.Option(..., help="Account name."),
    scope: str = typer.Option("send,read", help="Comma-separated: send,read,admin"),
    name: str = typer.Option(None, help="A label for the key."),
) -> None:
    """Create an API key; it is shown once."""
    from smsrelay.store import accounts as store

    async def op(conn: AsyncConnection) -> str:
        found = await _account(conn, account)
        _, key = await store.create_api_key(
            conn, found.id, scope.split(","), time.time(), name=name
        )
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
        table.add_row(
            k.id,
            k.prefix + "_…",
            k.account_id,
            ",".join(sorted(k.scopes)),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.created_at)),
            "" if k.revoked_at is None else "revoked",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key by id."""
    from smsrelay.store import accounts as store

    if not _run_db(lambda c: store.revoke_api_key(c, key_id, time.time())):
        err.print(f"[red]error:[/red] no active key {key_id!r}")
        raise typer.Exit(1)
    out.print(f"revoked {key_id}")


@smpp_users_app.command("create")
def smpp_users_create(
    account: str = typer.Option(..., help="Account name."),
    system_id: str = typer.Option(..., help="SMPP system_id (at most 15 characters)."),
    password: str = typer.Option(..., help="SMPP password (at most 8 characters)."),
    allowed_ips: str = typer.Option("", help="CIDRs, comma-separated; empty = any address."),
    max_binds: int = typer.Option(4, help="Simultaneous binds."),
    throughput: float = typer.Option(0.0, help="submit_sm/s per bind; 0 = no limit."),
) -> None:
    """Create SMPP credentials for an account (the password is stored hashed)."""
    from smsrelay.store import smpp_users

    async def op(conn: AsyncConnection) -> Any:
        found = await _account(conn, account)
        return await smpp_users.create_smpp_user(
            conn,
            found.id,
            system_id,
            password,
            time.time(),
            allowed_ips=allowed_ips,
            max_binds=max_binds,
            throughput=throughput,
        )

    user = _run_db(op)
    out.print(f"smpp user {user.system_id} ({user.id}) for account {account}")


@smpp_users_app.command("list")
def smpp_users_list() -> None:
    """List SMPP users (never their passwords)."""
    from smsrelay.store import smpp_users

    table = Table("id", "system_id", "account", "allowed_ips", "max_binds", "throughput")
    for u in _run_db(smpp_users.list_smpp_users, write=False):
        table.add_row(
            u.id,
            u.system_id,
            u.account_id,
            ",".join(u.allowed_ips) or "any",
            str(u.max_binds),
            f"{u.throughput:g}" if u.throughput else "no limit",
        )
    out.print(table)


@smpp_users_app.command("delete")
def smpp_users_delete(user_id: str) -> None:
    """Delete SMPP credentials by id or system_id (open binds stay until they close)."""
    from smsrelay.store import smpp_users

    if not _run_db(lambda c: smpp_users.delete_smpp_user(c, user_id)):
        err.print(f"[red]error:[/red] no SMPP user {user_id!r}")
        raise typer.Exit(1)
    out.print(f"deleted {user_id}")


async def _account(conn: AsyncConnection, name: str) -> Account:
    """The account named ``name``; NOT_FOUND (printed as the command's error) without it."""
    from smsrelay.store import accounts as store

    found = await store.get_account_by_name(conn, name)
    if found is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"no account named {name!r}", field="account")
    return found


async def _account_id(conn: AsyncConnection, name: str) -> str:
    return (await _account(conn, name)).id


def _api_key(settings: Settings, explicit: str | None) -> str:
    key = explicit or os.environ.get("SMSRELAY_API_KEY")
    if key:
        return key
    try:
        return settings.key_file.read_text().strip()
    except OSError:
        err.print(
            f"[red]error:[/red] no API key: set SMSRELAY_API_KEY or create {settings.key_file}"
        )
        raise typer.Exit(2) from None


@app.command()
def send(
    to: str = typer.Option(..., help="Destination in E.164, e.g. +14155552671."),
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
        response = httpx.post(
            f"{base}/v1/messages",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {_api_key(settings, key)}"},
        )
    except httpx.HTTPError as error:
        err.print(f"[red]error:[/red] cannot reach {base}: {error}")
        raise typer.Exit(2) from None
    out.print_json(response.text)
    if response.status_code >= 400:
        raise typer.Exit(1)


@app.command("simulate-carrier")
def simulate_carrier(
    port: int = typer.Option(2776),
    host: str = typer.Option("127.0.0.1"),
    latency_ms: float = typer.Option(0.0, help="Delay before each submit is answered."),
    dlr_delay_ms: float = typer.Option(200.0, help="Receipt delay."),
    outcomes: str = typer.Option("delivered=1", help="e.g. delivered=0.9,undelivered=0.1"),
    throttle: float = typer.Option(0.0, help="Submits/s per system_id; past it ESME_RTHROTTLED."),
    error_rate: float = typer.Option(0.0, help="Share of submits answered ESME_RSYSERR."),
    drop_every: int = typer.Option(0, help="Drop a connection at its N-th request."),
    stall: bool = typer.Option(False, help="Answer no submit at all."),
    id_format: str = typer.Option("hex", help="hex | dec"),
    receipt_id_format: str = typer.Option("same", help="same | hex | dec"),
    system_id: str = typer.Option(None, help="Required system_id (default: any)."),
    password: str = typer.Option(None, help="Required password (default: any)."),
    seed: int = typer.Option(None, help="Makes ids, outcomes and random faults reproducible."),
) -> None:
    """Run the SMPP carrier simulator (an SMSC) for smsrelay or any other ESME."""
    from smsrelay.simulator.standalone import run_standalone

    try:
        run_standalone(**{k: v for k, v in locals().items() if k != "run_standalone"})
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


@app.command("simulate-provider")
def simulate_provider(
    provider: str = typer.Argument(..., help="twilio | vonage | infobip | telnyx | plivo | sinch"),
    port: int = typer.Option(9101),
    host: str = typer.Option("127.0.0.1"),
    dlr_delay_ms: float = typer.Option(200.0, help="Delay before the status callback."),
    outcomes: str = typer.Option("delivered=1", help="e.g. delivered=0.9,undelivered=0.1"),
    error_rate: float = typer.Option(0.0, help="Share of sends answered with a server error."),
    throttle: float = typer.Option(0.0, help="Sends/s accepted; past it 'too many requests'."),
    credential: list[str] = typer.Option(
        [], help="KEY=VALUE the fake requires and signs with (repeat); defaults are printed."
    ),
    status_url: str = typer.Option("", help="Reports for sends that name no callback URL."),
    inbound_url: str = typer.Option("", help="Where POST /_fake/inbound delivers MO messages."),
    seed: int = typer.Option(None, help="Makes ids and outcomes reproducible."),
) -> None:
    """Run a local fake of an HTTP SMS provider's API that calls back like the real one."""
    from smsrelay.simulator.providers.standalone import run_provider_fake

    try:
        run_provider_fake(
            provider,
            host=host,
            port=port,
            dlr_delay_ms=dlr_delay_ms,
            outcomes=outcomes,
            error_rate=error_rate,
            throttle=throttle,
            credentials=credential,
            status_url=status_url,
            inbound_url=inbound_url,
            seed=seed,
        )
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


@app.command("webhook-listen")
def webhook_listen(
    port: int = typer.Option(8090),
    secret: str = typer.Option(...),
    host: str = typer.Option("127.0.0.1"),
) -> None:
    """Receive status callbacks, verify their signatures, print them."""
    import uvicorn

    from smsrelay.gateway.webhook_listener import create_listener

    def show(body: dict[str, Any], verified: bool) -> None:
        mark = "verified" if verified else "BAD SIGNATURE"
        sys.stdout.write(f"{mark} {orjson.dumps(body).decode()}\n")
        sys.stdout.flush()

    err.print(f"listening for callbacks on http://{host}:{port}/")
    uvicorn.run(create_listener(secret, show), host=host, port=port, log_level="warning")


@routes_app.command("test")
def routes_test(
    number: str,
    account: str = typer.Option("default", help="Account name."),
    kind: str = typer.Option("transactional", help="otp | transactional | marketing"),
    national_language: str | None = typer.Option(
        None, help="A message counted with this language's GSM-7 national tables (tr, es, ...)."
    ),
) -> None:
    """Explain which route and connectors a message to NUMBER would use, and why."""
    from smsrelay.app import routes_from
    from smsrelay.domain import numbers
    from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES
    from smsrelay.domain.routing import explain, select_route

    settings = load_settings()
    if national_language is not None and national_language not in NATIONAL_LANGUAGES:
        err.print(
            f"[red]error:[/red] national language: use one of {', '.join(NATIONAL_LANGUAGES)}"
        )
        raise typer.Exit(1)
    try:
        parsed = numbers.parse_number(number)
    except SmsError as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(1) from None
    out.print(
        f"{parsed.e164} (country {parsed.country or 'unknown'}), kind {kind}, account {account}"
    )
    connectors = settings.effective_connectors()
    prices = {c.name: c.prices for c in connectors}
    routes, adaptive = routes_from(settings), settings.routing.adaptive_weights()
    route = select_route(routes, to=parsed.e164, country=parsed.country, kind=kind, account=account)
    stats = None
    if route is not None and route.strategy == "adaptive":  # the scores as measured now
        stats = _stats_window((route.adaptive or adaptive).window)
    for line in explain(
        routes,
        to=parsed.e164,
        country=parsed.country,
        kind=kind,
        account=account,
        prices=prices,
        stats=stats,
        adaptive=adaptive,
        language=national_language,
        languages={c.name: c.sends_national_languages() for c in connectors},
    ).lines():
        out.print(line, highlight=False)


fraud_app = typer.Typer(no_args_is_help=True, help="The fraud guard of verifications.")
app.add_typer(fraud_app, name="fraud")


async def _any_account_id(conn: AsyncConnection, name: str | None) -> str | None:
    """The named account's id; None when no name is given (every account)."""
    return None if name is None else await _account_id(conn, name)


@fraud_app.command("blocks")
def fraud_blocks(account: str = typer.Option(None, help="Only this account's.")) -> None:
    """List the destinations the fraud guard blocks, and why."""
    from smsrelay.engine.notify import iso
    from smsrelay.store import accounts as account_store
    from smsrelay.store import fraud as store

    async def op(conn: AsyncConnection) -> tuple[list[Any], dict[str, str]]:
        rows = await store.list_blocks(
            conn, time.time(), account_id=await _any_account_id(conn, account)
        )
        return rows, {a.id: a.name for a in await account_store.list_accounts(conn)}

    rows, names = _run_db(op, write=False)
    table = Table("account", "scope", "key", "until", "reason")
    for row in rows:
        account_name = names.get(row.account_id, row.account_id)
        table.add_row(account_name, row.scope, row.key, iso(row.until), row.reason)
    out.print(table)


@fraud_app.command("lift")
def fraud_lift(
    prefix: str, account: str = typer.Option(None, help="Only this account's block.")
) -> None:
    """Lift the blocks on PREFIX (e.g. +232760) or a country code (e.g. SL)."""
    from smsrelay.store import fraud as store

    async def op(conn: AsyncConnection) -> int:
        account_id = await _any_account_id(conn, account)
        return await store.lift_blocks(conn, prefix.strip(), time.time(), account_id=account_id)

    lifted = _run_db(op)
    if not lifted:
        err.print(f"[red]error:[/red] no block in force on {prefix}")
        raise typer.Exit(1)
    out.print(f"lifted {lifted} block(s) on {prefix}")


@app.command()
def countries(
    iso: str = typer.Argument(None, help="One country (ISO 3166 alpha-2): every rule, sourced."),
) -> None:
    """Country rules in force (shipped data with the operator's overrides), with sources."""
    from smsrelay.app import open_database
    from smsrelay.domain.countries import FIELDS, country_code
    from smsrelay.engine.clock import SystemClock
    from smsrelay.engine.countries import CountryBook

    settings = load_settings()

    async def load() -> CountryBook:
        db = await open_database(settings)
        try:
            book = CountryBook(db, SystemClock(), settings.country_overrides())
            await book.refresh()
            return book
        finally:
            await db.close()

    book = asyncio.run(load())
    if iso is None:
        table = Table(
            "ISO", "country", "alphanumeric", "numeric required", "quiet hours", "sourced"
        )
        for c in book.rules:
            cells = [_rule_text(c.rule(f).value) for f in ("alphanumeric_sender",
                     "numeric_sender_required", "quiet_hours")]  # fmt: skip
            known = sum(1 for f in FIELDS if c.rule(f).known)
            table.add_row(c.iso, c.name, *cells, f"{known}/{len(FIELDS)}")
        out.print(table)
        return
    code = country_code(iso)
    country = book.rules.get(code) if code else None
    if country is None:
        err.print(f"[red]error:[/red] no country {iso!r} (an ISO 3166 alpha-2 code)")
        raise typer.Exit(1)
    out.print(f"{country.iso} {country.name} (+{country.calling_code})")
    table = Table("rule", "value", "source", "read on")
    for name in FIELDS:
        rule = country.rule(name)
        table.add_row(name, _rule_text(rule.value), rule.source, str(rule.read_on or ""))
        for alt in rule.alternatives:
            table.add_row("  other reading", _rule_text(alt.value), alt.source, str(alt.read_on))
    out.print(table)


def _rule_text(value: Any) -> str:
    from smsrelay.domain.countries import QuietHours
    from smsrelay.domain.countries.model import dump_value

    if value is None:
        return "?"
    if isinstance(value, QuietHours):
        return value.summary()
    shown = dump_value(value)
    return shown if isinstance(shown, str) else orjson.dumps(shown).decode()


def _stats_window(seconds: float) -> Any:
    """Measured delivery over the last ``seconds``, from the gateway's database."""
    from smsrelay.store import stats as stats_store

    since = time.time() - seconds
    return _run_db(lambda conn: stats_store.read_window(conn, since), write=False)


@connectors_app.command("stats")
def connectors_stats(
    window: str = typer.Option(None, help="e.g. 10m, 1h, 1d (default: the adaptive window)."),
) -> None:
    """Measured delivery per connector and destination country: delivery rate (final
    receipts), receipt latency p50/p95 (accepted submit to final receipt), submit errors, cost."""
    from smsrelay.domain.scoring import parse_duration

    settings = load_settings()
    try:
        seconds = parse_duration(window) if window else settings.routing.adaptive_weights().window
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    table = Table(title=f"measured delivery, last {_duration(seconds)}")
    for column in ("connector", "country", "submitted", "submit errors", "delivered", "failed"):
        table.add_column(column, justify="left" if column in ("connector", "country") else "right")
    for column in ("delivery rate", "latency p50", "latency p95", "cost"):
        table.add_column(column, justify="right")
    for name, by_country in sorted(_stats_window(seconds).items()):
        for country, s in sorted(by_country.items()):
            table.add_row(
                name,
                country or "-",
                str(s.submitted),
                f"{s.submit_errors} ({_percent(s.error_rate)})",
                str(s.delivered),
                str(s.failed),
                _percent(s.delivery_rate),
                _seconds(s.latency_p50),
                _seconds(s.latency_p95),
                f"{s.cost:.4f}",
            )
    out.print(table)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
