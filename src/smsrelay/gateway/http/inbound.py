"""``GET /v1/inbound``: the account's inbound (MO) messages, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from smsrelay.engine.notify import iso
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.gateway.http.views import paged
from smsrelay.store import inbound as store
from smsrelay.store.inbound import StoredInbound

router = APIRouter(tags=["inbound"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 422)
}


class InboundOut(BaseModel):
    inbound_id: str
    sender: str = Field(serialization_alias="from")
    to: str
    message: str
    keyword: str | None
    timestamp: str | None


class InboundList(BaseModel):
    data: list[InboundOut]
    next_cursor: str | None


def _out(item: StoredInbound) -> dict[str, Any]:
    return {
        "inbound_id": item.id,
        "from": item.from_number,
        "to": item.to_number,
        "message": item.body,
        "keyword": item.keyword,
        "timestamp": iso(item.received_at),
    }


@router.get(
    "/v1/inbound",
    response_model=InboundList,
    responses=_ERRORS,
    summary="List inbound messages, newest first",
)
async def list_inbound(
    cursor: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    async with ctx.db.read() as conn:
        rows = await store.list_inbound(conn, principal.account.id, cursor=cursor, limit=limit + 1)
    page, next_cursor = paged(rows, limit, lambda item: item.id)
    return JsonResponse({"data": [_out(i) for i in page], "next_cursor": next_cursor})
