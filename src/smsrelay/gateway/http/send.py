"""``POST /send`` and ``POST /v1/messages``: sending one message, in one implementation.

These two endpoints carry nearly all of the API's traffic. Through FastAPI each request would
walk the router, solve the dependency graph (authentication, context), validate the body and
enter two exception middlewares: profiling put that at about as much CPU as the whole accept
path behind it. So they are answered here, below the router, with the same steps in the same
order and the same answers as every FastAPI endpoint: authenticate (401/403 before the body is
looked at), parse and validate the body with the pydantic model ``SendBody``
(``invalid_json`` 400, ``validation_error`` 422), then the engine's one accept path.

There is no FastAPI route for them: :func:`describe` adds them to the OpenAPI document from
the same models (``SendBody`` in, ``Accepted`` out, ``ErrorResponse`` for errors), so what
the document promises is what this code validates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.accept import Prepared
from smsrelay.engine.idempotency import MAX_KEY_LENGTH
from smsrelay.gateway.http.accepting import idempotency_of, rendered, respond
from smsrelay.gateway.http.auth import Principal, authenticate, check_scope
from smsrelay.gateway.http.context import ApiContext
from smsrelay.gateway.http.errors import error_response, validation_to_error
from smsrelay.gateway.http.schemas import (
    SEND_ERROR_STATUSES,
    Accepted,
    ErrorResponse,
    SendBody,
)
from smsrelay.gateway.http.views import accepted, to_request

log = logging.getLogger(__name__)

PATHS = frozenset({"/send", "/v1/messages"})


class SendEndpoint:
    """ASGI middleware that answers the send paths and passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        # read outside the try: the body limit's 413 is raised from receive() and answered by
        # BodyLimitMiddleware, around this one
        body = await _read_body(receive)
        request = Request(scope, _replay(body))
        try:
            response: Response = await _handle(request, body)
        except SmsError as error:
            response = error_response(error)
        except HTTPException:
            raise
        except Exception:
            log.exception("unhandled error on POST %s", scope["path"])
            response = error_response(SmsError(ErrorCode.INTERNAL_ERROR))
        await response(scope, receive, send)


async def _handle(request: Request, raw: bytes) -> Response:
    ctx: ApiContext = request.app.state.context
    principal = await authenticate(request, ctx)
    check_scope(principal, "send")
    return await send_one(request, _parse(raw), principal, ctx)


async def send_one(
    request: Request, body: SendBody, principal: Principal, ctx: ApiContext
) -> Response:
    """Accept one validated message for an authenticated caller: 202 with the message."""
    outcome = await ctx.acceptor.accept(
        principal.account,
        [to_request(body)],
        idempotency=await idempotency_of(request),
        render=_render,
    )
    if outcome.answer is not None:  # stored with the message, or replayed
        return respond(outcome.answer, replayed=outcome.replayed)
    result = outcome.results[0]
    if isinstance(result, SmsError):
        raise result
    return respond(_render([result]))


def _render(results: Sequence[Prepared | SmsError]) -> tuple[int, bytes]:
    result = results[0]
    assert isinstance(result, Prepared)  # the engine renders only what it stored
    return rendered(202, accepted(result))


# -- the OpenAPI description, from the models the code above validates with --------------------

_OPERATIONS = {
    "/send": {
        "tags": ["send"],
        "summary": "Send one SMS (the quick-start endpoint)",
        "description": (
            'Accept one message: ``{"to": "+14155552671", "message": "..."}`` with a Bearer '
            "key.\n\nAnswers 202 once the message is durably stored; delivery happens in the "
            "background and each status change is pushed to the callback URL. Send an "
            "``Idempotency-Key`` header to make retries safe."
        ),
        "operationId": "send_send_post",
    },
    "/v1/messages": {
        "tags": ["messages"],
        "summary": "Send one SMS",
        "description": "The same as ``POST /send``.",
        "operationId": "create_message_v1_messages_post",
    },
}


def describe(document: dict[str, Any]) -> dict[str, Any]:
    """Add the send operations to an OpenAPI ``document`` (FastAPI's, for the other routes)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    models: tuple[tuple[type[BaseModel], JsonSchemaMode], ...] = (
        (SendBody, "validation"),
        (Accepted, "serialization"),
        (ErrorResponse, "serialization"),
    )
    for model, mode in models:
        schema = model.model_json_schema(ref_template=REF + "{model}", mode=mode)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for path, operation in _OPERATIONS.items():
        responses: dict[str, Any] = {"202": _content("Accepted", "Accepted: stored durably")}
        for status in SEND_ERROR_STATUSES:
            responses[str(status)] = _content("ErrorResponse", HTTPStatus(status).phrase)
        paths = document.setdefault("paths", {})
        paths.setdefault(path, {})["post"] = {
            **operation,
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                    "description": "Retries under one key send once and all get its answer.",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF + "SendBody"}}},
            },
            "responses": responses,
        }
    return document


REF = "#/components/schemas/"


def _content(model: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF + model}}},
    }


def _parse(raw: bytes) -> SendBody:
    """The body as FastAPI would validate it, errors included."""
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as error:
        raise validation_to_error(
            RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", error.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": error.msg},
                    }
                ]
            )
        ) from None
    if data is None:
        raise validation_to_error(
            RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        )
    try:
        return SendBody.model_validate(data)
    except ValidationError as error:
        raise validation_to_error(
            RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        ) from None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A receive() that hands the already-read body to whoever reads it again."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
