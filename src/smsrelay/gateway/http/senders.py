"""``/v1/senders``: the caller's account's sender pool.

What the account may send from (alphanumeric ids, long codes, short codes, toll-free
numbers), in which countries, and how each number is registered (a long code's 10DLC
campaign, a toll-free number's verification: what US A2P traffic needs); the accept path
picks from it when a destination does not allow the requested sender (``engine/senders.py``).
Listing needs a ``read`` key; adding and removing an ``admin`` key, of the account itself (a
tenant manages its own pool).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.senders import MAX_REGISTRATION_ID, PoolSender, RegistrationType, SenderType
from smsrelay.engine.senders import add_to_pool, register_in_pool, remove_from_pool
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse

router = APIRouter(tags=["senders"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422)
}


class RegistrationBody(BaseModel):
    """How a number is registered. Where a destination's registration scheme names sender
    types (the US: 10DLC, toll-free, short code), only numbers registered as one of them are
    used there; a short code needs none (being provisioned registers it)."""

    type: RegistrationType = Field(
        description="`10dlc` (a long code's campaign with The Campaign Registry) or "
        "`toll_free` (a toll-free number's verification)."
    )
    id: str = Field(
        description=f"The campaign id (e.g. `C1A2B3C`) or the verification id: 1 to "
        f"{MAX_REGISTRATION_ID} printable characters."
    )


class SenderBody(BaseModel):
    type: SenderType
    value: str = Field(max_length=64, description="The id, number or short code.")
    countries: list[str] = Field(
        default_factory=list,
        max_length=300,
        description="ISO 3166 alpha-2 codes it may be used in; empty: any country.",
    )
    registration: RegistrationBody | None = Field(
        default=None,
        description="A long code's `10dlc` or a toll-free number's `toll_free` registration.",
    )


class SenderChange(BaseModel):
    registration: RegistrationBody | None = Field(
        description="The number's new registration; null clears it."
    )


class SenderOut(BaseModel):
    sender_id: str
    type: SenderType
    value: str
    countries: list[str]
    registration: RegistrationBody | None = Field(description="None: not registered.")


class SenderList(BaseModel):
    data: list[SenderOut]


def _out(sender: PoolSender) -> dict[str, Any]:
    return {
        "sender_id": sender.id,
        "type": str(sender.type),
        "value": sender.value,
        "countries": sorted(sender.countries),
        "registration": (
            {"type": str(sender.registration.type), "id": sender.registration.id}
            if sender.registration is not None
            else None
        ),
    }


def _forget(ctx: ApiContext, account_id: str) -> None:
    if ctx.acceptor.senders is not None:  # this process sees the change at once
        ctx.acceptor.senders.forget(account_id)


@router.get("/v1/senders", response_model=SenderList, responses=_ERRORS, summary="The pool")
async def list_senders(
    principal: Principal = Depends(require("read")), ctx: ApiContext = Depends(get_context)
) -> JsonResponse:
    adapter = ctx.acceptor.senders
    if adapter is None:
        return JsonResponse({"data": []})
    adapter.forget(principal.account.id)
    return JsonResponse({"data": [_out(s) for s in await adapter.pool(principal.account.id)]})


@router.post(
    "/v1/senders",
    status_code=201,
    response_model=SenderOut,
    responses=_ERRORS,
    summary="Add a sender to the pool",
)
async def add_sender(
    body: SenderBody,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """A number is also assigned to the account, so replies to it reach the account."""
    account_id = principal.account.id
    registration = body.registration
    async with ctx.db.transaction() as conn:
        sender = await add_to_pool(
            conn,
            ctx.clock.now(),
            account_id,
            body.type,
            body.value,
            body.countries,
            (str(registration.type), registration.id) if registration is not None else None,
        )
    _forget(ctx, account_id)
    return JsonResponse(_out(sender), status_code=201)


@router.patch(
    "/v1/senders/{sender_id}",
    response_model=SenderOut,
    responses=_ERRORS,
    summary="Change a pool number's registration",
)
async def change_sender(
    sender_id: str,
    body: SenderChange,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """A number registered after it was added (its 10DLC campaign approved, its toll-free
    verification done) is used for the destinations that ask for it from the next message."""
    registration = body.registration
    async with ctx.db.transaction() as conn:
        sender = await register_in_pool(
            conn,
            principal.account.id,
            sender_id,
            (str(registration.type), registration.id) if registration is not None else None,
        )
    _forget(ctx, principal.account.id)
    return JsonResponse(_out(sender))


@router.delete("/v1/senders/{sender_id}", responses=_ERRORS, summary="Remove a sender")
async def remove_sender(
    sender_id: str,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    async with ctx.db.transaction() as conn:
        removed = await remove_from_pool(conn, principal.account.id, sender_id)
    _forget(ctx, principal.account.id)
    if not removed:
        raise SmsError(ErrorCode.NOT_FOUND, f"No sender {sender_id!r} in this account's pool.")
    return JsonResponse({"removed": sender_id})
