"""``/v1/admin/numbers``: which account owns which number (E.164 or short code).

Inbound messages are assigned to an account by their destination number. A tenant's admin
key lists, adds and releases its own account's numbers; the operator's manages any account's
(``account`` names it; default: the key's own). A tenant naming another account is refused
(403); another account's number is "not found" to it (404), as if it were not assigned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.notify import iso
from smsrelay.gateway.http.auth import Principal, check_own_account, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.store import accounts as account_store
from smsrelay.store import numbers as store
from smsrelay.store.numbers import OwnedNumber

router = APIRouter(tags=["admin"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422)
}


class NumberBody(BaseModel):
    number: str = Field(max_length=64, description="E.164 number or a 3-8 digit short code.")
    account: str | None = Field(
        default=None, max_length=100, description="Owning account's name; default: the caller's."
    )


class NumberOut(BaseModel):
    number: str
    account_id: str
    created_at: str | None


class NumberList(BaseModel):
    data: list[NumberOut]
    next_cursor: str | None


def normalise(raw: str) -> str:
    """A short code stays as it is; anything else must be a phone number (→ E.164)."""
    value = raw.strip()
    if value.isdigit() and 3 <= len(value) <= 8:
        return value
    return numbers.parse_number(value, strict=False).e164


def _out(n: OwnedNumber) -> dict[str, Any]:
    return {"number": n.number, "account_id": n.account_id, "created_at": iso(n.created_at)}


@router.get(
    "/v1/admin/numbers", response_model=NumberList, responses=_ERRORS, summary="List owned numbers"
)
async def list_numbers(
    account: str | None = Query(default=None, max_length=100),
    cursor: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=100, ge=1, le=1000),
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    check_own_account(principal, account)
    async with ctx.db.read() as conn:
        # a tenant sees its own numbers; the operator all, or the named account's
        account_id = None if principal.account.is_operator else principal.account.id
        if account == principal.account.name:
            account_id = principal.account.id
        elif account is not None:
            found = await account_store.get_account_by_name(conn, account)
            if found is None:
                raise SmsError(ErrorCode.NOT_FOUND, f"No account named {account!r}.")
            account_id = found.id
        rows = await store.list_numbers(conn, account_id, cursor=cursor, limit=limit + 1)
    page = rows[:limit]
    return JsonResponse(
        {
            "data": [_out(n) for n in page],
            "next_cursor": page[-1].number if len(rows) > limit else None,
        }
    )


@router.post(
    "/v1/admin/numbers",
    status_code=201,
    response_model=NumberOut,
    responses=_ERRORS,
    summary="Assign a number to an account",
)
async def add_number(
    body: NumberBody,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    check_own_account(principal, body.account)
    number = normalise(body.number)
    async with ctx.db.transaction() as conn:
        account_id = principal.account.id
        if body.account is not None and body.account != principal.account.name:
            found = await account_store.get_account_by_name(conn, body.account)
            if found is None:
                raise SmsError(
                    ErrorCode.NOT_FOUND, f"No account named {body.account!r}.", field="account"
                )
            account_id = found.id
        owned = await store.add_number(conn, number, account_id, ctx.clock.now())
    return JsonResponse(_out(owned), status_code=201)


@router.delete(
    "/v1/admin/numbers/{number}", status_code=204, responses=_ERRORS, summary="Release a number"
)
async def remove_number(
    number: str,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> Response:
    async with ctx.db.transaction() as conn:
        owner = None if principal.account.is_operator else principal.account.id
        removed = await store.remove_number(conn, normalise(number), owner)
    if not removed:
        raise SmsError(ErrorCode.NOT_FOUND, "No account owns this number.")
    return Response(status_code=204)
