"""The FastAPI application: routers, middleware and error handlers, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from smsrelay import __version__
from smsrelay.gateway.http import (
    admin,
    admin_accounts,
    admin_numbers,
    countries,
    errors,
    inbound,
    messages,
    money,
    providers,
    senders,
    suppressions,
    templates,
    verify,
    verify_admin,
)
from smsrelay.gateway.http.bodylimit import BodyLimitMiddleware
from smsrelay.gateway.http.context import ApiContext
from smsrelay.gateway.http.jsonbody import JsonBodyMiddleware
from smsrelay.gateway.http.nulguard import NulGuardMiddleware
from smsrelay.gateway.http.openapi_errors import document_errors
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.send import SendEndpoint, describe

DESCRIPTION = """Send SMS with one call and follow every status change.

Authenticate with `Authorization: Bearer <API key>`. `POST /send` takes
`{"to": "+14155552671", "message": "Your verification code is 1234"}` and answers 202 once the
message is durably stored. Errors are `{"error": {"code", "message", "field"}}`; 429 carries
`Retry-After`. Send an `Idempotency-Key` header to make retries safe.
"""


def create_app(
    context: ApiContext | None = None,
    *,
    max_body_bytes: int = 8 * 1024 * 1024,
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
) -> FastAPI:
    """Build the API around ``context`` (or around one that ``on_startup`` installs)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_startup is not None:
            await on_startup(app)
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(app)

    app = FastAPI(
        title="smsrelay",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=JsonResponse,
        lifespan=lifespan,
    )
    if context is not None:
        app.state.context = context
    errors.install(app)
    app.add_middleware(SendEndpoint)  # innermost of ours: after the guards below
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.include_router(messages.router)
    app.include_router(suppressions.router)
    app.include_router(inbound.router)
    app.include_router(admin_numbers.router)
    app.include_router(admin.router)
    app.include_router(providers.router)
    app.include_router(verify.router)
    app.include_router(verify_admin.router)
    app.include_router(countries.router)
    app.include_router(money.router)
    app.include_router(senders.router)
    app.include_router(templates.router)
    app.include_router(admin_accounts.router)

    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:  # the send endpoints have no FastAPI route
        return document_errors(describe(plain_openapi()))

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
