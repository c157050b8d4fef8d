"""The shared path of every sending endpoint: idempotency, rate limit, prepare, commit."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.batcher import IdempotencyWrite
from smsrelay.gateway.http.auth import Principal
from smsrelay.gateway.http.context import ApiContext
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.store import idempotency as idem_store
from smsrelay.store.idempotency import IdempotencyTaken

Outcome = tuple[int, dict[str, Any], Callable[[IdempotencyWrite | None], Awaitable[None]] | None]
"""(HTTP status, JSON body, commit function or None when nothing is to be stored)."""

MAX_KEY_LENGTH = 255


def request_hash(request: Request, raw: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = raw
    return hashlib.sha256(request.url.path.encode() + b"\0" + canonical).hexdigest()


def check_rate(ctx: ApiContext, principal: Principal, count: int) -> None:
    account = principal.account
    rate = account.rate_limit if account.rate_limit is not None else ctx.rate_limit
    burst = account.rate_burst if account.rate_burst is not None else ctx.rate_burst
    if rate > 0 and count > max(burst, 1):
        raise SmsError(
            ErrorCode.BATCH_TOO_LARGE,
            f"{count} messages in one request exceed this account's burst of "
            f"{burst}; send smaller batches.",
            field="messages",
        )
    wait = ctx.limiter.check(account.id, count, rate=rate, burst=max(burst, 1), now=ctx.clock.now())
    if wait > 0:
        raise SmsError(
            ErrorCode.RATE_LIMITED,
            f"Rate limit of {rate:g} messages/s exceeded; retry in {wait:.1f} s.",
            retry_after=wait,
        )


async def run_accept(
    request: Request,
    ctx: ApiContext,
    principal: Principal,
    handle: Callable[[], Awaitable[Outcome]],
) -> JsonResponse:
    """Run ``handle`` under the request's Idempotency-Key (if any) and answer."""
    key = request.headers.get("idempotency-key")
    if key is None:
        status, body, commit = await handle()
        if commit is not None:
            await commit(None)
        return JsonResponse(body, status_code=status)
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            field="Idempotency-Key",
        )
    account_id = principal.account.id
    digest = request_hash(request, await request.body())
    async with ctx.idempotency_lock(account_id, key):
        async with ctx.db.read() as conn:
            record = await idem_store.get_idempotency(conn, account_id, key, ctx.clock.now())
        if record is not None:
            if record.request_hash != digest:
                raise SmsError(ErrorCode.IDEMPOTENCY_CONFLICT, field="Idempotency-Key")
            return JsonResponse(
                orjson.loads(record.response_body),
                status_code=record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        status, body, commit = await handle()
        if commit is not None:
            write = IdempotencyWrite(account_id, key, digest, status, orjson.dumps(body).decode())
            try:
                await commit(write)
            except IdempotencyTaken:
                # another node committed this key first: nothing of ours was stored
                return await _replay(ctx, account_id, key, digest)
        return JsonResponse(body, status_code=status)


async def _replay(ctx: ApiContext, account_id: str, key: str, digest: str) -> JsonResponse:
    async with ctx.db.read() as conn:
        record = await idem_store.get_idempotency(conn, account_id, key, ctx.clock.now())
    if record is None:  # expired in between: extremely unlikely, safe to ask for a retry
        raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0)
    if record.request_hash != digest:
        raise SmsError(ErrorCode.IDEMPOTENCY_CONFLICT, field="Idempotency-Key")
    return JsonResponse(
        orjson.loads(record.response_body),
        status_code=record.response_status,
        headers={"Idempotent-Replayed": "true"},
    )
