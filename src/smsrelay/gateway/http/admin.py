"""Admin endpoints: connector health, the route table, webhook replay.

Connectors and routes are global: an admin key of the operator account only. Webhook replay
is any admin key's, for its own account's callbacks; the operator may name another account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, ValidationError

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.routing import Route, route_from_dict, route_to_dict
from smsrelay.domain.scoring import parse_duration
from smsrelay.engine.notify import iso
from smsrelay.gateway.http.auth import Principal, check_own_account, require, require_operator
from smsrelay.gateway.http.context import ApiContext, Operations, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import NationalLanguage
from smsrelay.gateway.http.views import timestamp
from smsrelay.store import accounts as account_store

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class RouteBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    countries: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    kinds: list[Literal["otp", "transactional", "marketing"]] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    strategy: Literal["failover", "weighted", "least_cost", "adaptive"] = "failover"
    connectors: list[str] = Field(min_length=1)
    weights: dict[str, float] = Field(default_factory=dict)
    adaptive: dict[str, Any] | None = Field(
        default=None,
        description="Weights of the adaptive strategy for this route: delivery, latency, "
        "errors, cost, exploration, window (e.g. '10m'), min_samples.",
    )


class RouteTable(BaseModel):
    routes: list[RouteBody] = Field(min_length=1)


class RouteTest(BaseModel):
    to: str = Field(max_length=64)
    kind: Literal["otp", "transactional", "marketing"] = "transactional"
    account: str | None = None
    national_language: NationalLanguage | None = Field(
        default=None,
        description="For a message counted with this language's GSM-7 national tables: the "
        "route's connectors that send them come first (national_language_senders).",
    )


class ReplayBody(BaseModel):
    account: str | None = Field(
        default=None, max_length=100, description="Whose callbacks (operator only); default: own."
    )
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def to_route(body: RouteBody, index: int) -> Route:
    try:
        return route_from_dict(body.model_dump())
    except ValueError as error:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR, f"Route {body.name!r}: {error}.", field=f"routes.{index}"
        ) from None


def _ops(ctx: ApiContext) -> Operations:
    if ctx.operations is None:
        raise SmsError(ErrorCode.NOT_FOUND, "Administration is not available here.")
    return ctx.operations


def _window(window: str | None) -> float | None:
    if window is None:
        return None
    try:
        return parse_duration(window)
    except ValueError as error:
        raise SmsError(ErrorCode.VALIDATION_ERROR, f"{error}.", field="window") from None


_WINDOW = Query(
    default=None,
    max_length=20,
    description="How far back the stats look, e.g. 10m, 1h, 1d (default: the adaptive "
    "strategy's window).",
)


@router.get(
    "/connectors",
    summary="Connectors with their health, circuit, queue and measured delivery per country",
)
async def list_connectors(
    window: str | None = _WINDOW,
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    ops = _ops(ctx)
    stats = await ops.connector_stats(_window(window))
    rows = [{**row, "stats": stats.get(row["name"], [])} for row in ops.connector_status()]
    return JsonResponse({"data": rows})


@router.get(
    "/connectors/stats",
    summary="Measured delivery per connector and destination country",
)
async def connector_stats(
    window: str | None = _WINDOW,
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Delivery rate (final receipts), receipt latency p50/p95 in seconds (accepted submit
    to final receipt), submit error rate and cost, per connector and country."""
    stats = await _ops(ctx).connector_stats(_window(window))
    return JsonResponse(
        {"data": [{"connector": name, "stats": rows} for name, rows in stats.items()]}
    )


@router.post(
    "/connectors",
    status_code=201,
    summary="Add a connector (the [[connectors]] fields of the config file)",
)
async def add_connector(
    body: dict[str, Any],
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Starts it at once and keeps it across restarts; add it to a route to use it."""
    ops = _ops(ctx)
    name = body.get("name")
    if isinstance(name, str) and name in ops.connector_names():
        raise SmsError(
            ErrorCode.ALREADY_EXISTS, f"A connector named {name!r} exists.", field="name"
        )
    try:
        await ops.add_connector(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        raise SmsError(ErrorCode.VALIDATION_ERROR, message, field=field) from None
    except ValueError as error:
        raise SmsError(ErrorCode.VALIDATION_ERROR, str(error)) from None
    status = {r["name"]: r for r in ops.connector_status()}
    return JsonResponse(status.get(str(name), {"name": name}), status_code=201)


@router.delete("/connectors/{name}", summary="Remove a connector added through this API")
async def remove_connector(
    name: str,
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Refused while a route names it, and for connectors of the configuration file."""
    try:
        await _ops(ctx).remove_connector(name)
    except LookupError:
        raise SmsError(ErrorCode.NOT_FOUND, f"No connector named {name!r}.") from None
    except ValueError as error:
        raise SmsError(ErrorCode.IN_USE, f"{error}.") from None
    return JsonResponse({"removed": name})


@router.get("/routes", summary="The route table in use")
async def get_routes(
    principal: Principal = Depends(require_operator), ctx: ApiContext = Depends(get_context)
) -> JsonResponse:
    return JsonResponse({"routes": [route_to_dict(r) for r in _ops(ctx).routes()]})


@router.put("/routes", summary="Replace the route table (applies to messages claimed next)")
async def put_routes(
    body: RouteTable,
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    ops = _ops(ctx)
    known = set(ops.connector_names())
    names = [r.name for r in body.routes]
    if len(set(names)) != len(names):
        raise SmsError(ErrorCode.VALIDATION_ERROR, "Route names must be unique.", field="routes")
    for index, route in enumerate(body.routes):
        unknown = sorted(set(route.connectors) - known)
        if unknown:
            raise SmsError(
                ErrorCode.VALIDATION_ERROR,
                f"Route {route.name!r} names unknown connectors {unknown}; known: {sorted(known)}.",
                field=f"routes.{index}.connectors",
            )
    routes = [to_route(r, i) for i, r in enumerate(body.routes)]
    await ops.replace_routes(routes)
    return JsonResponse({"routes": [route_to_dict(r) for r in routes]})


@router.post("/routes/test", summary="Which route and connectors a message would take, and why")
async def test_route(
    body: RouteTest,
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    number = numbers.parse_number(body.to, strict=False)
    explanation = await _ops(ctx).explain(
        to=number.e164,
        country=number.country,
        kind=body.kind,
        account=body.account or principal.account.name,
        language=body.national_language,
    )
    return JsonResponse(
        {
            "to": number.e164,
            "country": number.country,
            "route": explanation.route.name if explanation.route else None,
            "connectors": list(explanation.order),
            "national_language_senders": (
                list(explanation.senders) if body.national_language else None
            ),
            "explanation": explanation.lines(),
        }
    )


@router.post("/webhooks/replay", summary="Send callbacks again, by message or time range")
async def replay(
    body: ReplayBody,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    if body.message_id is None and body.since is None:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR, "Give message_id or since (and until).", field="message_id"
        )
    check_own_account(principal, body.account)
    account_id = principal.account.id
    if body.account is not None and body.account != principal.account.name:
        async with ctx.db.read() as conn:
            found = await account_store.get_account_by_name(conn, body.account)
        if found is None:
            raise SmsError(
                ErrorCode.NOT_FOUND, f"No account named {body.account!r}.", field="account"
            )
        account_id = found.id
    count, now = await ctx.replay.replay(
        account_id,
        message_id=body.message_id,
        since=timestamp(body.since),
        until=timestamp(body.until),
    )
    return JsonResponse({"replayed": count, "at": iso(now)})
