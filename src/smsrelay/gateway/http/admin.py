"""Operator endpoints (admin scope): connector health, the route table, webhook replay."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.routing import Route, route_from_dict, route_to_dict
from smsrelay.engine.notify import iso
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, Operations, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.views import timestamp
from smsrelay.store import webhooks as webhook_store

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class RouteBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    countries: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    kinds: list[Literal["otp", "transactional", "marketing"]] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    strategy: Literal["failover", "weighted", "least_cost"] = "failover"
    connectors: list[str] = Field(min_length=1)
    weights: dict[str, float] = Field(default_factory=dict)


class RouteTable(BaseModel):
    routes: list[RouteBody] = Field(min_length=1)


class RouteTest(BaseModel):
    to: str = Field(max_length=64)
    kind: Literal["otp", "transactional", "marketing"] = "transactional"
    account: str | None = None


class ReplayBody(BaseModel):
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def to_route(body: RouteBody, index: int) -> Route:
    try:
        return route_from_dict(body.model_dump())
    except ValueError as error:
        raise SmsError(ErrorCode.VALIDATION_ERROR, f"Route {body.name!r}: {error}.",
                       field=f"routes.{index}") from None


def _ops(ctx: ApiContext) -> Operations:
    if ctx.operations is None:
        raise SmsError(ErrorCode.NOT_FOUND, "Administration is not available here.")
    return ctx.operations


@router.get("/connectors", summary="Connectors with their health, circuit and queue")
async def list_connectors(principal: Principal = Depends(require("admin")),
                          ctx: ApiContext = Depends(get_context)) -> JsonResponse:
    return JsonResponse({"data": _ops(ctx).connector_status()})


@router.get("/routes", summary="The route table in use")
async def get_routes(principal: Principal = Depends(require("admin")),
                     ctx: ApiContext = Depends(get_context)) -> JsonResponse:
    return JsonResponse({"routes": [route_to_dict(r) for r in _ops(ctx).routes()]})


@router.put("/routes", summary="Replace the route table (applies to messages claimed next)")
async def put_routes(body: RouteTable, principal: Principal = Depends(require("admin")),
                     ctx: ApiContext = Depends(get_context)) -> JsonResponse:
    ops = _ops(ctx)
    known = set(ops.connector_names())
    names = [r.name for r in body.routes]
    if len(set(names)) != len(names):
        raise SmsError(ErrorCode.VALIDATION_ERROR, "Route names must be unique.",
                       field="routes")
    for index, route in enumerate(body.routes):
        unknown = sorted(set(route.connectors) - known)
        if unknown:
            raise SmsError(ErrorCode.VALIDATION_ERROR,
                           f"Route {route.name!r} names unknown connectors {unknown}; "
                           f"known: {sorted(known)}.", field=f"routes.{index}.connectors")
    routes = [to_route(r, i) for i, r in enumerate(body.routes)]
    await ops.replace_routes(routes)
    return JsonResponse({"routes": [route_to_dict(r) for r in routes]})


@router.post("/routes/test", summary="Which route and connectors a message would take, and why")
async def test_route(body: RouteTest, principal: Principal = Depends(require("admin")),
                     ctx: ApiContext = Depends(get_context)) -> JsonResponse:
    number = numbers.parse_number(body.to, strict=False)
    explanation = _ops(ctx).explain(to=number.e164, country=number.country, kind=body.kind,
                                    account=body.account or principal.account.name)
    return JsonResponse({
        "to": number.e164, "country": number.country,
        "route": explanation.route.name if explanation.route else None,
        "connectors": list(explanation.order), "explanation": explanation.lines()})


@router.post("/webhooks/replay", summary="Send callbacks again, by message or time range")
async def replay(body: ReplayBody, principal: Principal = Depends(require("admin")),
                 ctx: ApiContext = Depends(get_context)) -> JsonResponse:
    if body.message_id is None and body.since is None:
        raise SmsError(ErrorCode.VALIDATION_ERROR, "Give message_id or since (and until).",
                       field="message_id")
    now = ctx.clock.now()
    async with ctx.db.transaction() as conn:
        count = await webhook_store.replay_webhooks(
            conn, message_id=body.message_id, since=timestamp(body.since),
            until=timestamp(body.until), now=now, account_id=principal.account.id)
    if count and ctx.on_callbacks is not None:
        ctx.on_callbacks()
    return JsonResponse({"replayed": count, "at": iso(now)})
