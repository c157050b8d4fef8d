"""``/v1/providers/{connector}/status`` and ``/inbound``: where HTTP providers call us back.

Each provider calls in its own format (form or JSON, GET or POST) with its own signature
scheme; the connector named in the path checks and reads it (:mod:`smsrelay.connectors.http`).
This module only turns the HTTP request into a :class:`Callback`, with the URL as the
provider called it (``SMSRELAY_PUBLIC_URL`` and the path: the URL some providers sign), and
answers: what the provider expects on success, 403 for a bad or missing signature (nothing
is changed), 400 for a body that cannot be read, 404 for a connector that is not an HTTP
provider. No API key: the provider proves itself by its signature or the URL's token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from smsrelay.connectors.http.provider import Callback, CallbackKind, CallbackRefused
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.errors import error_response
from smsrelay.gateway.http.schemas import ErrorResponse

router = APIRouter(tags=["providers"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 403, 404, 413)
}

MAX_CALLBACK_BYTES = 1024 * 1024

_REFUSALS = {400: ErrorCode.VALIDATION_ERROR, 403: ErrorCode.FORBIDDEN}


async def _handle(kind: CallbackKind, connector: str, request: Request, ctx: ApiContext) -> Any:
    endpoint = ctx.operations.provider_endpoint(connector) if ctx.operations else None
    if endpoint is None:
        return error_response(
            SmsError(ErrorCode.NOT_FOUND, f"no HTTP provider connector named {connector!r}")
        )
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        return error_response(SmsError(ErrorCode.BODY_TOO_LARGE))
    query = request.url.query
    url = ctx.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")
    callback = Callback(
        method=request.method,
        url=url,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )
    try:
        reply = await endpoint.receive(kind, callback)
    except CallbackRefused as refused:
        code = _REFUSALS.get(refused.status, ErrorCode.UNAVAILABLE)
        return error_response(SmsError(code, refused.reason))
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


def _endpoint(kind: CallbackKind) -> Callable[..., Awaitable[Any]]:
    async def endpoint(
        connector: str, request: Request, ctx: ApiContext = Depends(get_context)
    ) -> Any:
        return await _handle(kind, connector, request, ctx)

    return endpoint


# GET as well as POST: some providers (Vonage) report with query parameters; one OpenAPI
# operation per method
for _kind, _what in (("status", "delivery report"), ("inbound", "inbound message")):
    for _method in ("POST", "GET"):
        router.add_api_route(
            f"/v1/providers/{{connector}}/{_kind}",
            _endpoint(_kind),  # type: ignore[arg-type]
            methods=[_method],
            responses=_ERRORS,
            summary=f"A provider's {_what} ({_method}), in its own format and signature",
            operation_id=f"provider_{_kind}_{_method.lower()}",
        )
