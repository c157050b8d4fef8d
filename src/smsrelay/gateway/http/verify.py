"""``/v1/verifications``: one-time codes (create, check, get, cancel, resend, stats) and the
account's verify settings (``/v1/verify/settings``).

The code is in no answer: a verification shows its status, attempts and sends left, never
the code nor its hash. Everything is per the key's own account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.fraud import allowed_countries_of
from smsrelay.engine.notify import iso
from smsrelay.engine.verify import NewVerification, VerifyService
from smsrelay.gateway.http.auth import Principal, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.gateway.http.views import timestamp
from smsrelay.store import verifications as store
from smsrelay.store.verifications import StatsRow, Verification, VerifySettings

router = APIRouter(tags=["verify"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422, 429)
}


class CreateBody(BaseModel):
    to: str = Field(max_length=64, description="The phone to verify, E.164.")
    channel: Literal["sms"] = "sms"
    code_length: int | None = Field(default=None, description="4-10 digits; 6 by default.")
    locale: str | None = Field(
        default=None, max_length=16, description="en, de, fr, es, pt, it, nl; en by default."
    )
    app_name: str | None = Field(
        default=None, max_length=40, description="Named in the text; the account's by default."
    )
    device_ip: str | None = Field(
        default=None, max_length=45, description="The end user's IP address, for the guard."
    )
    web_domain: str | None = Field(
        default=None, max_length=253, description="Adds the WebOTP line `@domain #code`."
    )
    app_hash: str | None = Field(
        default=None, max_length=11, description="Android SMS Retriever app hash (11 chars)."
    )


class CheckBody(BaseModel):
    code: str = Field(max_length=16)


class VerificationOut(BaseModel):
    verification_id: str
    status: str
    to: str
    channel: str
    locale: str
    code_length: int
    attempts_left: int
    sends_left: int
    message_id: str
    created_at: str | None
    expires_at: str | None
    approved_at: str | None


class CheckOut(BaseModel):
    verification_id: str
    status: Literal["approved", "pending", "expired", "max_attempts_reached", "canceled"]
    attempts_left: int


class StatsGroup(BaseModel):
    key: str | None
    created: int
    approved: int
    conversion_rate: float | None


class StatsOut(BaseModel):
    since: str | None
    until: str | None
    countries: list[StatsGroup]
    prefixes: list[StatsGroup]


class SettingsBody(BaseModel):
    app_name: str | None = Field(default=None, max_length=40)
    allowed_countries: list[str] | None = Field(
        default=None, description="ISO codes a code may go to; null: every country."
    )


def service(ctx: ApiContext = Depends(get_context)) -> VerifyService:
    if ctx.verify is None:
        raise SmsError(ErrorCode.UNAVAILABLE, "Verifications are not running.")
    return ctx.verify


def _out(ver: Verification) -> dict[str, Any]:
    return {
        "verification_id": ver.id,
        "status": str(ver.status),
        "to": ver.to,
        "channel": ver.channel,
        "locale": ver.locale,
        "code_length": ver.code_length,
        "attempts_left": ver.state.attempts_left,
        "sends_left": max(0, ver.max_sends - ver.sends),
        "message_id": ver.message_id,
        "created_at": iso(ver.created_at),
        "expires_at": iso(ver.expires_at),
        "approved_at": iso(ver.approved_at),
    }


@router.post(
    "/v1/verifications",
    status_code=201,
    response_model=VerificationOut,
    responses=_ERRORS,
    summary="Send a one-time code",
)
async def create_verification(
    body: CreateBody,
    principal: Principal = Depends(require("send")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    ver = await verify.create(principal.account, NewVerification(**body.model_dump()))
    return JsonResponse(_out(ver), status_code=201)


def _group(row: StatsRow) -> dict[str, Any]:
    rate = round(row.approved / row.created, 4) if row.created else None
    return {
        "key": row.key,
        "created": row.created,
        "approved": row.approved,
        "conversion_rate": rate,
    }


@router.get(
    "/v1/verifications/stats",
    response_model=StatsOut,
    responses=_ERRORS,
    summary="Share of verifications approved, per country and per prefix",
)
async def verification_stats(
    since: datetime | None = Query(default=None, description="Default: 30 days ago."),
    until: datetime | None = Query(default=None, description="Default: now."),
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    end = timestamp(until) or ctx.clock.now()
    start = timestamp(since) or end - 30 * 86400
    async with ctx.db.read() as conn:
        countries, prefixes = await store.stats(conn, principal.account.id, start, end)
    return JsonResponse(
        {
            "since": iso(start),
            "until": iso(end),
            "countries": [_group(r) for r in countries],
            "prefixes": [_group(r) for r in prefixes],
        }
    )


@router.get(
    "/v1/verifications/{verification_id}",
    response_model=VerificationOut,
    responses=_ERRORS,
    summary="A verification's status",
)
async def get_verification(
    verification_id: str,
    principal: Principal = Depends(require("read")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    return JsonResponse(_out(await verify.get(principal.account, verification_id)))


@router.post(
    "/v1/verifications/{verification_id}/check",
    response_model=CheckOut,
    responses=_ERRORS,
    summary="Check a code",
)
async def check_verification(
    verification_id: str,
    body: CheckBody,
    principal: Principal = Depends(require("send")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    result = await verify.check(principal.account, verification_id, body.code)
    return JsonResponse(
        {
            "verification_id": result.verification.id,
            "status": str(result.verification.status),
            "attempts_left": result.attempts_left,
        }
    )


@router.post(
    "/v1/verifications/{verification_id}/resend",
    response_model=VerificationOut,
    responses=_ERRORS,
    summary="Send a new code (the old one stops working)",
)
async def resend_verification(
    verification_id: str,
    principal: Principal = Depends(require("send")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    return JsonResponse(_out(await verify.resend(principal.account, verification_id)))


@router.post(
    "/v1/verifications/{verification_id}/cancel",
    response_model=VerificationOut,
    responses=_ERRORS,
    summary="Cancel a pending verification",
)
async def cancel_verification(
    verification_id: str,
    principal: Principal = Depends(require("send")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    return JsonResponse(_out(await verify.cancel(principal.account, verification_id)))


# -- the account's settings ------------------------------------------------------------------


def _settings_out(settings: VerifySettings) -> dict[str, Any]:
    countries = settings.allowed_countries
    return {
        "app_name": settings.app_name,
        "allowed_countries": list(countries) if countries is not None else None,
    }


@router.get(
    "/v1/verify/settings",
    response_model=SettingsBody,
    responses=_ERRORS,
    summary="The account's app name and allowed countries for codes",
)
async def get_settings(
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    async with ctx.db.read() as conn:
        settings = await store.get_settings(conn, principal.account.id)
    return JsonResponse(_settings_out(settings))


@router.put(
    "/v1/verify/settings",
    response_model=SettingsBody,
    responses=_ERRORS,
    summary="Set the account's app name and allowed countries (geo permissions)",
)
async def put_settings(
    body: SettingsBody,
    principal: Principal = Depends(require("admin")),
    verify: VerifyService = Depends(service),
) -> JsonResponse:
    countries = None
    if body.allowed_countries is not None:
        countries = allowed_countries_of(body.allowed_countries)
    app_name = body.app_name.strip() if body.app_name else None
    settings = VerifySettings(app_name or None, countries)
    await verify.admin.put_settings(principal.account.id, settings)
    return JsonResponse(_settings_out(settings))
