"""``POST /send`` (the seed's endpoint) and ``/v1/messages``: send, batch, get, list, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.accept import Prepared
from smsrelay.engine.batcher import IdempotencyWrite
from smsrelay.engine.notify import enqueue_status_callbacks
from smsrelay.gateway.http.accepting import Outcome, check_rate, run_accept
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.errors import validation_to_error
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import (
    Accepted,
    BatchBody,
    BatchResponse,
    ErrorResponse,
    MessageList,
    MessageOut,
    SendBody,
)
from smsrelay.gateway.http.views import accepted, message_out, paged, timestamp, to_request
from smsrelay.store import messages as message_store

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}


async def send_one(
    request: Request, body: SendBody, principal: Principal, ctx: ApiContext
) -> JsonResponse:
    """Accept one validated message for an authenticated caller (also ``fast_send.py``)."""

    async def handle() -> Outcome:
        check_rate(ctx, principal, 1)
        result = (
            await ctx.acceptor.screen(
                principal.account.id,
                ctx.acceptor.prepare_all(principal.account.id, [to_request(body)]),
            )
        )[0]
        if isinstance(result, SmsError):
            raise result
        prepared: Prepared = result

        async def commit(idempotency: IdempotencyWrite | None) -> None:
            await ctx.acceptor.commit([prepared], idempotency)

        return 202, accepted(prepared), commit

    return await run_accept(request, ctx, principal, handle)


@router.post(
    "/send",
    status_code=202,
    response_model=Accepted,
    responses=_ERRORS,
    tags=["send"],
    summary="Send one SMS (the quick-start endpoint)",
)
async def send(
    request: Request,
    body: SendBody,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Accept one message: ``{"to": "+14155552671", "message": "..."}`` with a Bearer key.

    Answers 202 once the message is durably stored; delivery happens in the background and
    each status change is pushed to the callback URL.
    """
    return await send_one(request, body, principal, ctx)


@router.post(
    "/v1/messages",
    status_code=202,
    response_model=Accepted,
    responses=_ERRORS,
    tags=["messages"],
    summary="Send one SMS",
)
async def create_message(
    request: Request,
    body: SendBody,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    return await send_one(request, body, principal, ctx)


def _parse_batch(raw: bytes, max_batch: int) -> list[Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise SmsError(
            ErrorCode.INVALID_JSON, f"The request body is not valid JSON: {error}"
        ) from None
    items = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            'The body must be {"messages": [...]} with at least one message.',
            field="messages",
        )
    if len(items) > max_batch:
        raise SmsError(
            ErrorCode.BATCH_TOO_LARGE,
            f"A batch holds at most {max_batch} messages; this one has {len(items)}.",
            field="messages",
        )
    return items


@router.post(
    "/v1/messages/batch",
    status_code=202,
    response_model=BatchResponse,
    responses=_ERRORS,
    tags=["messages"],
    summary="Send up to 1000 SMS in one call",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": BatchBody.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                }
            },
        }
    },
)
async def create_batch(
    request: Request,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Each item is accepted or rejected on its own; ``results`` follows the request order."""
    items = _parse_batch(await request.body(), ctx.max_batch)

    async def handle() -> Outcome:
        results: list[dict[str, Any] | None] = [None] * len(items)
        valid: list[tuple[int, SendBody]] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, SendBody.model_validate(item)))
            except ValidationError as error:
                err = validation_to_error(_as_request_error(error))
                results[index] = {"index": index, "error": err.to_dict()}
        if valid:
            check_rate(ctx, principal, len(valid))
        prepared_list = await ctx.acceptor.screen(
            principal.account.id,
            ctx.acceptor.prepare_all(principal.account.id, [to_request(b) for _, b in valid]),
        )
        good: list[Prepared] = []
        for (index, _), result in zip(valid, prepared_list, strict=True):
            if isinstance(result, SmsError):
                results[index] = {"index": index, "error": result.to_dict()}
            else:
                good.append(result)
                info = accepted(result)
                results[index] = {
                    "index": index,
                    **{
                        k: info[k]
                        for k in ("message_id", "status", "segments", "encoding", "variant")
                    },
                }
        body = {"accepted": len(good), "rejected": len(items) - len(good), "results": results}
        if not good:
            body["error"] = {
                "code": str(ErrorCode.VALIDATION_ERROR),
                "message": "No message in the batch was accepted.",
            }
            return 422, body, None

        async def commit(idempotency: IdempotencyWrite | None) -> None:
            await ctx.acceptor.commit(good, idempotency)

        return 202, body, commit

    return await run_accept(request, ctx, principal, handle)


def _as_request_error(error: ValidationError) -> RequestValidationError:
    return RequestValidationError(error.errors())


@router.get(
    "/v1/messages/{message_id}",
    response_model=MessageOut,
    responses=_ERRORS,
    tags=["messages"],
    summary="A message with its status history",
)
async def get_message(
    message_id: str,
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    async with ctx.db.read() as conn:
        message = await message_store.get_message(conn, message_id, account_id=principal.account.id)
        if message is None:
            raise SmsError(ErrorCode.NOT_FOUND, "No such message.")
        events = await message_store.get_events(conn, message_id)
    return JsonResponse(message_out(message, events))


@router.get(
    "/v1/messages",
    response_model=MessageList,
    responses=_ERRORS,
    tags=["messages"],
    summary="List messages, newest first",
)
async def list_messages(
    status: MessageStatus | None = None,
    to: str | None = Query(default=None, max_length=64),
    client_ref: str | None = Query(default=None, max_length=200),
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Filter by status, destination, client_ref and creation time; page with ``cursor``."""
    number = numbers.parse_number(to, strict=False).e164 if to else None
    async with ctx.db.read() as conn:
        rows = await message_store.list_messages(
            conn,
            principal.account.id,
            status=status,
            to=number,
            client_ref=client_ref,
            since=timestamp(since),
            until=timestamp(until),
            cursor=cursor,
            limit=limit + 1,
        )
    page, next_cursor = paged(rows, limit, lambda message: message.id)
    return JsonResponse({"data": [message_out(m) for m in page], "next_cursor": next_cursor})


@router.post(
    "/v1/messages/{message_id}/cancel",
    response_model=MessageOut,
    responses=_ERRORS,
    tags=["messages"],
    summary="Cancel a queued or scheduled message",
)
async def cancel_message(
    message_id: str,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    now = ctx.clock.now()
    async with ctx.db.transaction() as conn:
        message = await message_store.cancel_message(conn, principal.account.id, message_id, now)
        queued = await enqueue_status_callbacks(conn, [message], now)
    if queued and ctx.on_callbacks is not None:
        ctx.on_callbacks()
    return JsonResponse(message_out(message))
