"""``/v1/messages``: batch send, get, list, cancel (one message is sent by ``send.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.accept import Prepared, SendRequest
from smsrelay.gateway.http.accepting import idempotency_of, rendered, respond
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.errors import validation_to_error
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import (
    SEND_ERROR_STATUSES,
    BatchBody,
    BatchResponse,
    ErrorResponse,
    MessageList,
    MessageOut,
    SendBody,
)
from smsrelay.gateway.http.views import (
    accepted,
    message_out,
    paged,
    priced,
    timestamp,
    to_request,
)
from smsrelay.store import messages as message_store
from smsrelay.store import registrations as registration_store
from smsrelay.store import senders as sender_store
from smsrelay.store import smpp_parts

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in SEND_ERROR_STATUSES
}


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
) -> Response:
    """Each item is accepted or rejected on its own; ``results`` follows the request order."""
    items = _parse_batch(await request.body(), ctx.max_batch)
    requests: list[SendRequest | SmsError] = []
    for item in items:
        try:
            requests.append(to_request(SendBody.model_validate(item)))
        except ValidationError as error:
            requests.append(validation_to_error(_as_request_error(error)))
    outcome = await ctx.acceptor.accept(
        principal.account,
        requests,
        idempotency=await idempotency_of(request),
        render=lambda results: rendered(202, _batch_body(results)),
    )
    if outcome.answer is not None:  # stored with the messages, or replayed
        return respond(outcome.answer, replayed=outcome.replayed)
    body = _batch_body(outcome.results)
    if not outcome.accepted and _all_unpaid(outcome.results):
        body["error"] = SmsError(ErrorCode.INSUFFICIENT_BALANCE).to_dict()
        return JsonResponse(body, status_code=402)
    if not outcome.accepted:
        body["error"] = {
            "code": str(ErrorCode.VALIDATION_ERROR),
            "message": "No message in the batch was accepted.",
        }
        return JsonResponse(body, status_code=422)
    return JsonResponse(body, status_code=202)


_ITEM_FIELDS = (
    "message_id",
    "status",
    "segments",
    "encoding",
    "variant",
    "held_for_quiet_hours",
    "registration",
)


def _batch_body(results: Sequence[Prepared | SmsError]) -> dict[str, Any]:
    """Per item, in the request's order: what was stored, or why not."""
    items: list[dict[str, Any]] = []
    for index, result in enumerate(results):
        if isinstance(result, SmsError):
            items.append({"index": index, "error": result.to_dict()})
        else:
            info = accepted(result)
            items.append(
                {"index": index, **{k: info[k] for k in _ITEM_FIELDS}, **priced(result.message)}
            )
    good = sum(1 for r in results if isinstance(r, Prepared))
    return {"accepted": good, "rejected": len(results) - good, "results": items}


def _all_unpaid(results: Sequence[Prepared | SmsError]) -> bool:
    """The batch was refused for its price: the balance covers the whole batch or none
    of it (the items that were valid all answer ``insufficient_balance``)."""
    return any(
        isinstance(r, SmsError) and r.code is ErrorCode.INSUFFICIENT_BALANCE for r in results
    )


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
        split = await smpp_parts.client_parts_of(conn, [message_id])
        adapted = await sender_store.adaptations_of(conn, [message_id])
        registered = await registration_store.registrations_of(conn, [message_id])
    if message_id in registered:
        message = dataclasses.replace(message, registration=registered[message_id])
    parts = smpp_parts.part_ids(message_id, split[message_id]) if message_id in split else None
    return JsonResponse(message_out(message, events, parts, adapted.get(message_id)))


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
    message = await ctx.canceller.cancel(principal.account.id, message_id)
    return JsonResponse(message_out(message))
