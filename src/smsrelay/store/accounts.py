"""Accounts and their API keys.

A key is shown once, at creation, and stored only as a SHA-256 hash. Its visible prefix
(``sr_<12 chars>``) is unique and indexed, so authenticating a request is one primary-key-like
lookup plus a constant-time hash comparison, never a scan over hashes. SHA-256 rather than a slow
password hash is deliberate: keys carry 256 bits of randomness, so there is nothing to brute
force, and auth runs on every request.

Key format: ``sr_<public>_<secret>``, where ``public`` is 12 lowercase base32 characters of the
key's id and ``secret`` is ``secrets.token_urlsafe(32)`` (which may itself contain ``_``).

Over 400 lines because an account's settings (webhooks, rate, roles, encoding, opt-out texts,
DLT entity id) are each a column read and written here with their checks, and keys stay beside
accounts: every key lookup answers with its account, in one query on the request path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

import orjson
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES
from smsrelay.domain.ids import new_id
from smsrelay.domain.optout_text import parse_opt_out_texts
from smsrelay.domain.registration import check_id
from smsrelay.store import hot
from smsrelay.store.db import already_exists
from smsrelay.store.schema import accounts, api_keys

__all__ = [
    "OPERATOR",
    "ROLES",
    "SCOPES",
    "TENANT",
    "UNSET",
    "Account",
    "ApiKey",
    "create_account",
    "create_api_key",
    "find_api_key",
    "get_account",
    "get_account_by_name",
    "list_accounts",
    "list_api_keys",
    "revoke_api_key",
    "touch_api_key",
    "update_account",
]

SCOPES: Final = frozenset({"send", "read", "admin"})
OPERATOR: Final = "operator"  # runs the gateway: routes, connectors, every account's numbers
TENANT: Final = "tenant"  # a customer: its own messages, numbers, keys and callbacks only
ROLES: Final = frozenset({OPERATOR, TENANT})
_KEY_PREFIX = "sr_"
_PUBLIC_LEN = 12
_PUBLIC_ALPHABET = frozenset("0123456789abcdefghjkmnpqrstvwxyz")  # domain.ids' alphabet
_MAX_PRESENTED = 200  # real keys are ~60 chars; longer input is garbage, not worth hashing


class _Unset:
    """Marker for "argument not given", distinct from None (which clears a column)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class Account:
    """A customer of the gateway. ``webhook_secret`` signs its webhooks; never log it."""

    id: str
    name: str
    webhook_url: str | None
    webhook_secret: str
    inbound_webhook_url: str | None
    rate_limit: float | None
    rate_burst: int | None
    disabled: bool
    created_at: float
    optout_exempt_otp: bool = True
    role: str = TENANT
    allow_private_callbacks: bool = False
    transliterate: bool = False  # encoding=auto may transliterate letters to GSM-7
    national_language: str | None = None  # GSM-7 national tables allowed by default ("tr")
    # added to marketing where the destination requires opt-out text (domain/optout_text.py)
    opt_out_texts: Mapping[str, str] = field(default_factory=dict)
    dlt_entity_id: str | None = None  # DLT entity id of its messages to India that name none

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    @property
    def private_callbacks_allowed(self) -> bool:
        """The operator's callbacks go anywhere; a tenant's only where the operator allows."""
        return self.is_operator or self.allow_private_callbacks


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: everything except the secret, which only its owner has."""

    id: str
    account_id: str
    prefix: str
    scopes: frozenset[str]
    name: str | None
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    def allows(self, scope: str) -> bool:
        """``admin`` implies every scope."""
        return scope in self.scopes or "admin" in self.scopes


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        inbound_webhook_url=row.inbound_webhook_url,
        rate_limit=row.rate_limit,
        rate_burst=row.rate_burst,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        optout_exempt_otp=bool(row.optout_exempt_otp),
        role=row.role,
        allow_private_callbacks=bool(row.allow_private_callbacks),
        transliterate=bool(row.transliterate),
        national_language=row.national_language,
        opt_out_texts=orjson.loads(row.opt_out_texts) if row.opt_out_texts else {},
        dlt_entity_id=row.dlt_entity_id,
    )


def _api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        prefix=row.prefix,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def create_account(
    conn: AsyncConnection,
    name: str,
    now: float,
    *,
    webhook_url: str | None = None,
    role: str = TENANT,
) -> Account:
    """Create an account (a tenant unless ``role`` says operator) with a fresh webhook secret.

    Raises ``SmsError(ALREADY_EXISTS)`` when the name is taken; the caller's transaction stays
    usable (the INSERT runs in a savepoint).
    """
    if role not in ROLES:
        raise SmsError(ErrorCode.VALIDATION_ERROR, f"invalid role {role!r}", field="role")
    account = Account(
        id=new_id("acc", now),
        name=name,
        webhook_url=webhook_url,
        webhook_secret="whsec_" + secrets.token_urlsafe(32),
        inbound_webhook_url=None,
        rate_limit=None,
        rate_burst=None,
        disabled=False,
        created_at=now,
        role=role,
    )
    with already_exists(f"account {name!r}"):
        async with conn.begin_nested():
            await conn.execute(
                accounts.insert().values(
                    id=account.id,
                    name=account.name,
                    webhook_url=account.webhook_url,
                    webhook_secret=account.webhook_secret,
                    disabled=False,
                    created_at=now,
                    role=role,
                )
            )
    return account


async def get_account(conn: AsyncConnection, account_id: str) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return _account(row) if row else None


@cache
def _webhook_url_statement() -> Select[Any]:
    return select(accounts.c.webhook_url).where(accounts.c.id == bindparam("a_id"))


async def webhook_url_of(conn: AsyncConnection, account_id: str) -> str | None:
    """The account's webhook URL (None for none or no such account): read for every batch of
    status callbacks, so a hot statement (``hot.py``)."""
    rows = await hot.rows(conn, _webhook_url_statement(), {"a_id": account_id})
    return rows[0][0] if rows else None


async def get_account_by_name(conn: AsyncConnection, name: str) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.name == name))).first()
    return _account(row) if row else None


async def list_accounts(conn: AsyncConnection) -> list[Account]:
    """Every account, oldest first."""
    return [_account(r) for r in await conn.execute(select(accounts).order_by(accounts.c.id))]


async def update_account(
    conn: AsyncConnection,
    name: str,
    *,
    webhook_url: str | _Unset | None = UNSET,
    inbound_webhook_url: str | _Unset | None = UNSET,
    rate_limit: float | _Unset | None = UNSET,
    rate_burst: int | _Unset | None = UNSET,
    disabled: bool | _Unset = UNSET,
    optout_exempt_otp: bool | _Unset = UNSET,
    allow_private_callbacks: bool | _Unset = UNSET,
    transliterate: bool | _Unset = UNSET,
    national_language: str | _Unset | None = UNSET,
    opt_out_texts: Mapping[str, str] | _Unset | None = UNSET,
    dlt_entity_id: str | _Unset | None = UNSET,
) -> Account:
    """Change the given settings of account ``name`` (None clears one); NOT_FOUND if missing,
    VALIDATION_ERROR for a national language TS 23.038 does not define, opt-out texts
    ``domain/optout_text.py`` refuses or a DLT entity id that is not 1 to 64 printable ASCII
    characters."""
    if opt_out_texts and not isinstance(opt_out_texts, _Unset):
        try:
            opt_out_texts = parse_opt_out_texts(opt_out_texts)
        except ValueError as error:
            raise SmsError(ErrorCode.VALIDATION_ERROR, str(error), field="opt_out_texts") from None
    if isinstance(dlt_entity_id, str):
        try:
            check_id(dlt_entity_id)
        except ValueError as error:
            raise SmsError(
                ErrorCode.VALIDATION_ERROR, f"dlt_entity_id {error}", field="dlt_entity_id"
            ) from None
    if isinstance(national_language, str) and national_language not in NATIONAL_LANGUAGES:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"unknown national language {national_language!r}; "
            f"known: {', '.join(NATIONAL_LANGUAGES)}",
            field="national_language",
        )
    given = {
        "webhook_url": webhook_url,
        "inbound_webhook_url": inbound_webhook_url,
        "rate_limit": rate_limit,
        "rate_burst": rate_burst,
        "disabled": disabled,
        "optout_exempt_otp": optout_exempt_otp,
        "allow_private_callbacks": allow_private_callbacks,
        "transliterate": transliterate,
        "national_language": national_language,
        "opt_out_texts": (
            opt_out_texts
            if isinstance(opt_out_texts, _Unset)
            else orjson.dumps(dict(opt_out_texts)).decode()
            if opt_out_texts
            else None
        ),
        "dlt_entity_id": dlt_entity_id,
    }
    values = {k: v for k, v in given.items() if not isinstance(v, _Unset)}
    if values:
        stmt = update(accounts).where(accounts.c.name == name).values(values).returning(*accounts.c)
        row = (await conn.execute(stmt)).first()
    else:
        row = (await conn.execute(select(accounts).where(accounts.c.name == name))).first()
    if row is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"no account named {name!r}", field="account")
    return _account(row)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _parse_prefix(presented: object) -> str | None:
    """The ``sr_<public>`` prefix of a well-formed key, else None (never raises)."""
    if not isinstance(presented, str) or len(presented) > _MAX_PRESENTED:
        return None
    if not presented.isascii():  # real keys are; and a lone surrogate could not be hashed
        return None
    if not presented.startswith(_KEY_PREFIX):
        return None
    public, sep, secret = presented[len(_KEY_PREFIX) :].partition("_")
    if not sep or not secret or len(public) != _PUBLIC_LEN:
        return None
    if not set(public) <= _PUBLIC_ALPHABET:
        return None
    return _KEY_PREFIX + public


async def create_api_key(
    conn: AsyncConnection,
    account_id: str,
    scopes: Iterable[str],
    now: float,
    *,
    name: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for ``account_id``; returns the stored key and the plaintext (only now).

    Raises ``SmsError(VALIDATION_ERROR)`` for an empty or unknown scope, ``NOT_FOUND`` for a
    missing account.
    """
    wanted = frozenset(s.strip().lower() for s in scopes)
    if not wanted or not wanted <= SCOPES:
        bad = ", ".join(sorted(wanted - SCOPES)) or "(none)"
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"invalid scope {bad}; valid scopes: admin, read, send",
            field="scopes",
        )
    if await get_account(conn, account_id) is None:
        raise SmsError(ErrorCode.NOT_FOUND, "no such account", field="account")
    key_id = new_id("key", now)
    # the random tail of the id: unique, and it ties the visible prefix to the stored row
    prefix = _KEY_PREFIX + key_id[-_PUBLIC_LEN:]
    plaintext = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=key_id,
        account_id=account_id,
        prefix=prefix,
        scopes=wanted,
        name=name,
        created_at=now,
        last_used_at=None,
        revoked_at=None,
    )
    with already_exists("API key"):
        async with conn.begin_nested():
            await conn.execute(
                api_keys.insert().values(
                    id=key.id,
                    account_id=account_id,
                    prefix=prefix,
                    key_hash=_hash(plaintext),
                    scopes=",".join(sorted(wanted)),
                    name=name,
                    created_at=now,
                )
            )
    return key, plaintext


async def find_api_key(conn: AsyncConnection, presented: str) -> ApiKey | None:
    """The live key matching what a client presented, or None (malformed, unknown, revoked).

    Never raises on bad input: this sits directly behind the ``Authorization`` header.
    """
    prefix = _parse_prefix(presented)
    if prefix is None:
        return None
    row = (await conn.execute(select(api_keys).where(api_keys.c.prefix == prefix))).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(presented)):
        return None
    return _api_key(row)


async def touch_api_key(conn: AsyncConnection, key_id: str, now: float) -> None:
    """Record use of a key (``last_used_at``); callers may throttle how often they do."""
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))


async def list_api_keys(conn: AsyncConnection, account_id: str | None = None) -> list[ApiKey]:
    """Keys of one account (or all), oldest first, revoked ones included."""
    query = select(api_keys).order_by(api_keys.c.id)
    if account_id is not None:
        query = query.where(api_keys.c.account_id == account_id)
    return [_api_key(r) for r in await conn.execute(query)]


async def revoke_api_key(conn: AsyncConnection, key_id: str, now: float) -> bool:
    """Revoke a key; False when there is no such key or it was already revoked."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(api_keys.c.id)
    )
    return result.first() is not None
