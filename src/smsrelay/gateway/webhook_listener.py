"""A tiny webhook receiver that verifies signatures and prints each callback.

``smsrelay webhook-listen`` runs it: new users see their callbacks arrive, and tests and
benchmarks use it as a real receiver over HTTP. A callback with a bad or missing signature is
answered 401 and reported, never printed as verified.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smsrelay.domain import signing


def create_listener(
    secret: str,
    on_callback: Callable[[dict[str, Any], bool], None],
    *,
    status_code: int = 200,
    tolerance: float = 300.0,
) -> Starlette:
    """An ASGI app: POST to any path; ``on_callback(body, verified)`` for each request."""

    async def receive(request: Request) -> JSONResponse:
        raw = await request.body()
        header = request.headers.get(signing.SIGNATURE_HEADER, "")
        verified = signing.verify(secret, header, raw, now=time.time(), tolerance=tolerance)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = {"raw": raw.decode(errors="replace")}
        if not isinstance(body, dict):
            body = {"body": body}
        on_callback(body, verified)
        if not verified:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        return JSONResponse({"ok": True}, status_code=status_code)

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])
