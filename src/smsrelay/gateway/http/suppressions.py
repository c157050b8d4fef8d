"""``/v1/suppressions``: the numbers an account does not send to (opt-outs, manual entries).

A STOP from a phone adds its number here (``engine/inbound.py``); a send to a listed number
is refused with ``recipient_opted_out`` (OTP exempt when the account says so).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.notify import iso
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.gateway.http.views import paged
from smsrelay.store import suppressions as store
from smsrelay.store.suppressions import Suppression

router = APIRouter(tags=["suppressions"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)
}


class SuppressionBody(BaseModel):
    number: str = Field(max_length=64, description="E.164 number to stop sending to.")


class SuppressionOut(BaseModel):
    number: str
    reason: str
    source: str
    created_at: str | None


class SuppressionList(BaseModel):
    data: list[SuppressionOut]
    next_cursor: str | None


def _out(s: Suppression) -> dict[str, Any]:
    return {
        "number": s.number,
        "reason": s.reason,
        "source": s.source,
        "created_at": iso(s.created_at),
    }


@router.get(
    "/v1/suppressions",
    response_model=SuppressionList,
    responses=_ERRORS,
    summary="List suppressed numbers",
)
async def list_suppressions(
    cursor: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    async with ctx.db.read() as conn:
        rows = await store.list_suppressions(
            conn, principal.account.id, cursor=cursor, limit=limit + 1
        )
    page, next_cursor = paged(rows, limit, lambda item: item.number)
    return JsonResponse({"data": [_out(s) for s in page], "next_cursor": next_cursor})


@router.post(
    "/v1/suppressions",
    status_code=201,
    response_model=SuppressionOut,
    responses=_ERRORS,
    summary="Stop sending to a number",
)
async def add_suppression(
    body: SuppressionBody,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    number = numbers.parse_number(body.number, strict=False).e164
    now = ctx.clock.now()
    async with ctx.db.transaction() as conn:
        added = await store.add_suppression(
            conn, principal.account.id, number, reason="manual", source="api", now=now
        )
    return JsonResponse(
        {"number": number, "reason": "manual", "source": "api", "created_at": iso(now)},
        status_code=201 if added else 200,
    )


@router.delete(
    "/v1/suppressions/{number}",
    status_code=204,
    responses=_ERRORS,
    summary="Send to a number again",
)
async def remove_suppression(
    number: str,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> Response:
    e164 = numbers.parse_number(number, strict=False).e164
    async with ctx.db.transaction() as conn:
        removed = await store.remove_suppression(conn, principal.account.id, e164)
    if not removed:
        raise SmsError(ErrorCode.NOT_FOUND, "This number is not suppressed.")
    return Response(status_code=204)
