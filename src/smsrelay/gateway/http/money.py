"""Money over HTTP: the caller's balance, its price for a destination, and price lists.

``GET /v1/balance`` and ``GET /v1/pricing?to=`` answer for the key's own account (the
operator may name another with ``account``). ``PUT /v1/admin/pricing`` replaces one price
list (an account's or a connector's) with the rows given, as ``smsrelay pricing import`` does
from a CSV file; prices are global configuration, so it needs an admin key of the operator
account (a tenant's is refused with 403). ``GET /v1/admin/pricing`` lists one list's rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, model_validator

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.pricing import PriceError, money, parse_rows
from smsrelay.engine import money as engine_money
from smsrelay.engine.money import PriceBook
from smsrelay.gateway.http.auth import Principal, check_operator, check_own_account, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.store import accounts as account_store
from smsrelay.store import pricing as store
from smsrelay.store.accounts import Account

router = APIRouter(tags=["money"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)
}


class BalanceOut(BaseModel):
    account: str
    balance: str | None = Field(description="Decimal string; null: no prepaid balance.")
    currency: str | None
    credit_limit: str = Field(description="How far below zero sends may take the balance.")


class PricingOut(BaseModel):
    to: str
    country: str | None
    price: str = Field(description="Price per segment (decimal string).")
    currency: str
    prefix: str | None = Field(description="The prefix row that matched; null: the country's.")


class PriceRowIn(BaseModel):
    country: str = Field(max_length=7, description="ISO 3166 alpha-2, or 'default'.")
    prefix: str = Field(default="", max_length=16, description="E.164 digits; empty: country.")
    price: Decimal = Field(description="Per segment; at most six decimals.")
    currency: str = Field(max_length=3)


class PricingBody(BaseModel):
    account: str | None = Field(default=None, max_length=100)
    connector: str | None = Field(default=None, max_length=64)
    rows: list[PriceRowIn] = Field(max_length=100_000, description="Replaces the whole list.")

    @model_validator(mode="after")
    def _one_owner(self) -> PricingBody:
        if (self.account is None) == (self.connector is None):
            raise ValueError("name either an account or a connector")
        return self


class PriceListOut(BaseModel):
    account: str | None = None
    connector: str | None = None
    currency: str | None
    rows: list[dict[str, str]]


async def _account(ctx: ApiContext, principal: Principal, name: str | None) -> Account:
    check_own_account(principal, name)
    if name is None or name == principal.account.name:
        return principal.account
    async with ctx.db.read() as conn:
        found = await account_store.get_account_by_name(conn, name)
    if found is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"No account named {name!r}.", field="account")
    return found


def _book(ctx: ApiContext) -> PriceBook:
    book = ctx.acceptor.prices
    if book is None:  # an API built without prices (tests of other parts)
        book = ctx.acceptor.prices = PriceBook(ctx.db)
    return book


@router.get("/v1/balance", response_model=BalanceOut, responses=_ERRORS, summary="Balance")
async def get_balance(
    account: str | None = Query(default=None, max_length=100),
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """The account's prepaid balance (null when it has none: postpaid, never refused)."""
    owner = await _account(ctx, principal, account)
    async with ctx.db.read() as conn:
        balance = await store.get_balance(conn, owner.id)
    assert balance is not None
    return JsonResponse(
        {
            "account": owner.name,
            "balance": None if balance.balance_micros is None else money(balance.balance_micros),
            "currency": balance.currency,
            "credit_limit": money(balance.credit_limit_micros),
        }
    )


@router.get("/v1/pricing", response_model=PricingOut, responses=_ERRORS, summary="Price")
async def get_pricing(
    to: str = Query(max_length=64),
    account: str | None = Query(default=None, max_length=100),
    principal: Principal = Depends(require("read")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """The price per segment the account pays for ``to``; 404 when its price list has none."""
    owner = await _account(ctx, principal, account)
    digits = to.strip()
    if to.startswith(" ") and digits.isdigit():  # ?to=+49... unencoded: the + read as a space
        digits = "+" + digits
    number = numbers.parse_number(digits, strict=ctx.strict_numbers)
    book = _book(ctx)
    await book.fresh()
    price = book.account_price(owner.id, number.e164, number.country)
    if price is None:
        raise SmsError(ErrorCode.NOT_FOUND, "No price applies to this destination.", field="to")
    return JsonResponse(
        {
            "to": number.e164,
            "country": number.country,
            "price": money(price.price_micros),
            "currency": price.currency,
            "prefix": price.prefix or None,
        }
    )


@router.put(
    "/v1/admin/pricing", response_model=PriceListOut, responses=_ERRORS, summary="Set prices"
)
async def put_pricing(
    body: PricingBody,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """Replace an account's or a connector's price list (operator only)."""
    check_operator(principal)
    try:
        rows = parse_rows([(r.country, r.prefix, r.price, r.currency) for r in body.rows])
    except PriceError as error:
        line = error.problems[0][0]
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            "; ".join(f"rows[{n - 1}]: {m}" if n else m for n, m in error.problems),
            field=f"rows.{line - 1}" if line else "rows",
        ) from None
    kind = engine_money.ACCOUNT if body.account is not None else engine_money.CONNECTOR
    owner = body.account if body.account is not None else body.connector
    assert owner is not None
    known = ctx.operations.connector_names() if ctx.operations is not None else None
    try:
        await engine_money.import_price_list(
            ctx.db, kind, owner, rows, ctx.clock.now(), connectors=known
        )
    except LookupError as error:
        raise SmsError(ErrorCode.NOT_FOUND, str(error), field=kind) from None
    except PriceError as error:
        raise SmsError(ErrorCode.VALIDATION_ERROR, str(error), field="rows") from None
    await _book(ctx).reload()
    return JsonResponse(_list_out(kind, owner, rows))


@router.get(
    "/v1/admin/pricing", response_model=PriceListOut, responses=_ERRORS, summary="Price list"
)
async def list_pricing(
    account: str | None = Query(default=None, max_length=100),
    connector: str | None = Query(default=None, max_length=64),
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """One price list: an account's (a tenant's admin key sees its own), or a connector's
    (operator only)."""
    book = _book(ctx)
    await book.fresh()
    if connector is not None:
        check_operator(principal)
        prices = book.connectors.get(connector)
        return JsonResponse(
            _list_out(engine_money.CONNECTOR, connector, prices.rows if prices else ())
        )
    owner = await _account(ctx, principal, account)
    prices = book.accounts.get(owner.id)
    return JsonResponse(_list_out(engine_money.ACCOUNT, owner.name, prices.rows if prices else ()))


def _list_out(kind: str, owner: str, rows: Any) -> dict[str, Any]:
    rows = list(rows)
    return {
        kind: owner,
        "currency": rows[0].currency if rows else None,
        "rows": [
            {
                "country": r.country,
                "prefix": r.prefix,
                "price": money(r.price_micros),
                "currency": r.currency,
            }
            for r in sorted(rows, key=lambda r: (r.country, r.prefix))
        ],
    }
