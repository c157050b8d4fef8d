"""The fraud guard's blocks for the operator (``/v1/admin/fraud/blocks``), and conversions
(``POST /v1/messages/{id}/conversion``).

An admin key of the operator sees and lifts every account's blocks (or one account's, with
``account``); a tenant's admin key only its own account's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.notify import iso
from smsrelay.engine.verify import VerifyService
from smsrelay.gateway.http.auth import Principal, check_own_account, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.gateway.http.verify import service
from smsrelay.store import accounts as account_store
from smsrelay.store import fraud as fraud_store
from smsrelay.store.fraud import BlockRow

router = APIRouter(tags=["verify"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)
}


async def _account_id(ctx: ApiContext, principal: Principal, name: str | None) -> str | None:
    """Whose blocks: the named account (operator only), every account (operator, no name),
    or the tenant's own."""
    check_own_account(principal, name)
    if name is None:
        return None if principal.account.is_operator else principal.account.id
    async with ctx.db.read() as conn:
        account = await account_store.get_account_by_name(conn, name)
    if account is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"no account named {name!r}", field="account")
    return account.id


def _block(row: BlockRow, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "account": names.get(row.account_id, row.account_id),
        "scope": row.scope,
        "key": row.key,
        "reason": row.reason,
        "blocked_at": iso(row.created_at),
        "until": iso(row.until),
    }


@router.get("/v1/admin/fraud/blocks", responses=_ERRORS, summary="Destinations the guard blocks")
async def list_blocks(
    account: str | None = Query(default=None, max_length=100),
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    account_id = await _account_id(ctx, principal, account)
    await verify.flush_refusals()
    async with ctx.db.read() as conn:
        rows = await fraud_store.list_blocks(conn, ctx.clock.now(), account_id=account_id)
        names = {a.id: a.name for a in await account_store.list_accounts(conn)}
        refused = await fraud_store.refusal_counts(conn, account_id=account_id)
    return JsonResponse(
        {
            "data": [_block(r, names) for r in rows],
            "refusals": [
                {"account": names.get(a, a), "reason": reason, "count": count}
                for (a, reason), count in sorted(refused.items())
            ],
        }
    )


@router.delete(
    "/v1/admin/fraud/blocks/{key}",
    responses=_ERRORS,
    summary="Lift the blocks on a prefix (e.g. +232760) or a country (e.g. SL)",
)
async def lift_block(
    key: str,
    account: str | None = Query(default=None, max_length=100),
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    account_id = await _account_id(ctx, principal, account)
    lifted = await verify.admin.lift(key.strip(), account_id)
    if not lifted:
        raise SmsError(ErrorCode.NOT_FOUND, f"no block in force on {key}", field="key")
    return JsonResponse({"key": key, "lifted": lifted})


@router.post(
    "/v1/messages/{message_id}/conversion",
    status_code=201,
    responses=_ERRORS,
    summary="Record that a message converted (A/B statistics read it)",
)
async def record_conversion(
    message_id: str,
    principal: Principal = Depends(require("send")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    row = await verify.admin.convert(principal.account.id, message_id)
    if row is None:
        raise SmsError(ErrorCode.NOT_FOUND, "no such message", field="message_id")
    return JsonResponse(
        {"message_id": row.message_id, "source": row.source, "converted_at": iso(row.converted_at)},
        status_code=201,
    )
