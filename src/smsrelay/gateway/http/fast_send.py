"""``POST /send`` and ``POST /v1/messages`` answered without FastAPI's routing and injection.

These two endpoints carry nearly all of the API's traffic. Through FastAPI each request walks
the router, solves the dependency graph (authentication, context), validates the body and
enters two exception middlewares: profiling put that at about as much CPU as the whole accept
pipeline behind it. This middleware does the same steps directly, in the same order and with
the same answers: authenticate (401/403 before the body is looked at), parse and validate the
body with the same pydantic model (``invalid_json`` 400, ``validation_error`` 422), then the
shared accept path of ``messages.py``. The routes stay registered, so the OpenAPI document
and every other endpoint are unchanged.
"""

from __future__ import annotations

import logging

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.gateway.http.auth import authenticate, check_scope
from smsrelay.gateway.http.context import ApiContext
from smsrelay.gateway.http.errors import error_response, validation_to_error
from smsrelay.gateway.http.messages import send_one
from smsrelay.gateway.http.schemas import SendBody

log = logging.getLogger(__name__)

PATHS = frozenset({"/send", "/v1/messages"})


class FastSendMiddleware:
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
