"""Country rules: read them (any valid key), override them (an operator's admin key).

``GET /v1/countries/{ISO}`` answers ``{"country": "FR", "name", "calling_code", <rule>...}``
where each rule is ``{"value", "source", "read_on"}`` (plus ``note`` and ``alternatives``
where a source said more or disagreed). Overrides are global configuration, so changing them
needs :func:`require_operator`; ``docs/countries.md`` says which override wins.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from smsrelay.domain.countries import FIELDS, Country, country_code
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.countries import CountryBook
from smsrelay.gateway.http.auth import Principal, require, require_operator
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse

router = APIRouter(tags=["countries"])


class Reading(BaseModel):
    value: Any = Field(description="null: no source was read for this rule")
    source: str = Field(description="URL read, 'no public source read', or the override")
    read_on: str | None = Field(description="Day the source was read (or the override set)")
    note: str | None = None


class Rule(Reading):
    alternatives: list[Reading] = Field(
        default_factory=list, description="What other sources say, where they disagree."
    )


class CountryOut(BaseModel):
    country: str = Field(description="ISO 3166 alpha-2")
    name: str
    calling_code: int
    alphanumeric_sender: Rule
    numeric_sender_required: Rule
    two_way: Rule
    concatenation: Rule
    max_segments: Rule
    ucs2: Rule
    quiet_hours: Rule
    opt_out_text_required: Rule
    template_registration: Rule
    marketing_sender_tag: Rule
    api_override: dict[str, Any] | None = Field(
        default=None, description="The fields the admin API overrides (null: none)."
    )


class CountrySummary(BaseModel):
    country: str
    name: str
    calling_code: int
    alphanumeric_sender: Any
    numeric_sender_required: Any
    quiet_hours: Any
    sourced_fields: int = Field(description="Rules with a value read from a source")


class CountryList(BaseModel):
    data: list[CountrySummary]


def _book(ctx: ApiContext) -> CountryBook:
    if ctx.countries is None:
        raise SmsError(ErrorCode.NOT_FOUND, "Country rules are not available here.")
    return ctx.countries


def _country(book: CountryBook, iso: str) -> Country:
    code = country_code(iso)
    country = book.rules.get(code) if code else None
    if country is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"No country {iso!r} (an ISO 3166 alpha-2 code).")
    return country


def _out(book: CountryBook, country: Country) -> dict[str, Any]:
    return {**country.as_json(), "api_override": book.api_override(country.iso)}


@router.get("/v1/countries", summary="Every country with its key rules", response_model=CountryList)
async def list_countries(
    principal: Principal = Depends(require("read")), ctx: ApiContext = Depends(get_context)
) -> JsonResponse:
    data = []
    for c in _book(ctx).rules:
        body = c.as_json()
        data.append(
            {
                "country": c.iso,
                "name": c.name,
                "calling_code": c.calling_code,
                "alphanumeric_sender": body["alphanumeric_sender"]["value"],
                "numeric_sender_required": body["numeric_sender_required"]["value"],
                "quiet_hours": body["quiet_hours"]["value"],
                "sourced_fields": sum(1 for f in FIELDS if c.rule(f).known),
            }
        )
    return JsonResponse({"data": data})


@router.get(
    "/v1/countries/{iso}",
    summary="One country's rules, each with its source",
    response_model=CountryOut,
)
async def get_country(
    iso: str,
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    book = _book(ctx)
    return JsonResponse(_out(book, _country(book, iso)))


@router.put(
    "/v1/admin/countries/{iso}",
    summary="Override rules of a country (replaces this API's earlier overrides of it)",
    response_model=CountryOut,
)
async def put_country(
    iso: str,
    body: dict[str, Any] = Body(
        examples=[
            {"quiet_hours": {"allowed": [{"days": ["mon"], "start": "09:00", "end": "18:00"}]}}
        ]
    ),
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    book = _book(ctx)
    country = _country(book, iso)
    try:
        await book.put(country.iso, body)
    except ValueError as error:
        field = str(error).split(":", 1)[0].split(".", 1)[0]
        raise SmsError(
            ErrorCode.VALIDATION_ERROR, str(error), field=field if field in FIELDS else None
        ) from None
    return JsonResponse(_out(book, _country(book, country.iso)))


@router.delete(
    "/v1/admin/countries/{iso}",
    summary="Remove this API's overrides of a country",
    response_model=CountryOut,
)
async def delete_country(
    iso: str,
    principal: Principal = Depends(require_operator),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    book = _book(ctx)
    country = _country(book, iso)
    if not await book.delete(country.iso):
        raise SmsError(ErrorCode.NOT_FOUND, f"The admin API overrides nothing of {country.iso}.")
    return JsonResponse(_out(book, _country(book, country.iso)))
