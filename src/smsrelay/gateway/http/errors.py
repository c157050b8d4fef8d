"""Every error leaves the API as ``{"error": {"code", "message", "field"?}}``, never a trace.

Domain errors map through the catalogue; FastAPI's validation errors become
``invalid_json`` (400) or ``validation_error`` (422) naming the first bad field; anything
unexpected is logged with its trace and answered as ``internal_error`` (500).
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.gateway.http.responses import JsonResponse

log = logging.getLogger(__name__)


def error_response(error: SmsError, headers: dict[str, str] | None = None) -> JsonResponse:
    headers = dict(headers or {})
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    if error.code is ErrorCode.UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    return JsonResponse({"error": error.to_dict()}, status_code=error.http_status, headers=headers)


def _field(loc: tuple[object, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def validation_to_error(exc: RequestValidationError) -> SmsError:
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        reason = first.get("ctx", {}).get("error", "")
        text = "The request body is not valid JSON" + (f": {reason}" if reason else ".")
        return SmsError(ErrorCode.INVALID_JSON, text)
    field = _field(tuple(first.get("loc", ())))
    msg = first.get("msg", "invalid value")
    if first.get("type") == "missing":
        msg = "Field required"
    detail = f"{field}: {msg}" if field else msg
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return SmsError(ErrorCode.VALIDATION_ERROR, detail, field=field)


def install(app: FastAPI) -> None:
    @app.exception_handler(SmsError)
    async def _sms_error(request: Request, exc: SmsError) -> JsonResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JsonResponse:
        return error_response(validation_to_error(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JsonResponse:
        code = {
            401: ErrorCode.UNAUTHORIZED,
            403: ErrorCode.FORBIDDEN,
            404: ErrorCode.NOT_FOUND,
            413: ErrorCode.BODY_TOO_LARGE,
        }.get(exc.status_code)
        if code is not None:
            return error_response(SmsError(code))
        return JsonResponse(
            {"error": {"code": "http_error", "message": str(exc.detail)}},
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(SmsError(ErrorCode.INTERNAL_ERROR))
