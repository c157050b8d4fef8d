"""Bearer API keys: who is calling, and may they do this.

Two checks: the key's scope (``send``, ``read``, ``admin``) and, for global configuration
(routes, connectors, other accounts' numbers and callbacks), that the key belongs to the
operator account (:func:`require_operator`). Everything else is the caller's own account's:
the routers filter by ``principal.account.id``.

Keys are looked up by their visible prefix and checked against the stored hash in constant
time (in the store). A verified key is remembered for a few seconds so a busy client does not
cost a database read per request; a revocation therefore takes effect within that time. When
the memory of a key runs out, the requests of that key in flight share one lookup instead of
each making its own (a client at concurrency 64 would otherwise cost 64 reads every few
seconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from fastapi import Depends, Request

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.store import accounts as account_store
from smsrelay.store.accounts import Account, ApiKey


@dataclass(frozen=True, slots=True)
class Principal:
    account: Account
    key: ApiKey


_cache: dict[str, tuple[float, Principal]] = {}
_lookups: dict[str, asyncio.Future[Principal]] = {}


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SmsError(ErrorCode.UNAUTHORIZED)
    return token.strip()


async def authenticate(request: Request, ctx: ApiContext = Depends(get_context)) -> Principal:
    token = _bearer(request)
    digest = hashlib.sha256(token.encode()).hexdigest()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    lookup = _lookups.get(digest)
    if lookup is None:
        # a task of its own: a caller that goes away does not cancel the others' lookup
        lookup = asyncio.ensure_future(_remember(ctx, token, digest))
        _lookups[digest] = lookup
        lookup.add_done_callback(lambda _done: _lookups.pop(digest, None))
    return await asyncio.shield(lookup)


async def _remember(ctx: ApiContext, token: str, digest: str) -> Principal:
    principal = await _look_up(ctx, token)
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[digest] = (time.monotonic() + ctx.key_cache_seconds, principal)
    return principal


async def _look_up(ctx: ApiContext, token: str) -> Principal:
    async with ctx.db.read() as conn:
        key = await account_store.find_api_key(conn, token)
        account = await account_store.get_account(conn, key.account_id) if key else None
    if key is None or account is None:
        raise SmsError(ErrorCode.UNAUTHORIZED)
    if account.disabled:
        raise SmsError(ErrorCode.FORBIDDEN, "This account is disabled.")
    return Principal(account, key)


def forget_cached_keys() -> None:
    """Drop remembered keys (after a revocation in the same process, and in tests)."""
    _cache.clear()
    _lookups.clear()


def require(scope: str):  # type: ignore[no-untyped-def]
    """A dependency that authenticates and checks that the key has ``scope``."""

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        check_scope(principal, scope)
        return principal

    return dependency


def check_scope(principal: Principal, scope: str) -> None:
    """Raise FORBIDDEN unless the key has ``scope`` (or ``admin``)."""
    if scope not in principal.key.scopes and "admin" not in principal.key.scopes:
        raise SmsError(ErrorCode.FORBIDDEN, f"This API key lacks the '{scope}' scope.")


async def require_operator(principal: Principal = Depends(authenticate)) -> Principal:
    """A dependency for global configuration: an admin key of the operator account."""
    check_scope(principal, "admin")
    check_operator(principal)
    return principal


def check_operator(principal: Principal) -> None:
    """Raise FORBIDDEN unless the key's account is the operator."""
    if not principal.account.is_operator:
        raise SmsError(ErrorCode.FORBIDDEN, "This needs an admin key of the operator account.")


def check_own_account(principal: Principal, name: str | None) -> None:
    """Raise FORBIDDEN when a tenant names an account other than its own."""
    if name is not None and name != principal.account.name:
        check_operator(principal)
