"""``/v1/admin/accounts/{name}``: an account's message settings, read and changed over HTTP.

Only what a tenant may decide for its own messages lives here (today: ``transliterate`` and
``national_language``, see ``docs/encoding.md``, and ``opt_out_texts`` and ``dlt_entity_id``,
see ``docs/countries.md``); an admin key changes its own account's, the
operator's admin key any account's. The CLI (``smsrelay accounts update``) changes the same columns.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.registration import check_id
from smsrelay.gateway.http.auth import Principal, check_own_account, forget_cached_keys, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse, NationalLanguage
from smsrelay.store import accounts as account_store

router = APIRouter(prefix="/v1/admin/accounts", tags=["admin"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)
}


class AccountSettings(BaseModel):
    """The settings of an account this API changes."""

    name: str
    transliterate: bool = Field(
        description="encoding=auto may write letters outside GSM-7 as their closest GSM-7 "
        "form (á → a) when that takes no more segments."
    )
    national_language: str | None = Field(
        description="GSM-7 national shift tables (3GPP TS 23.038 Annex A) its messages may "
        "use when a request names no national_language; null: none."
    )
    opt_out_texts: dict[str, str] = Field(
        description="Opt-out text added to its marketing messages bound for a country that "
        'requires one, by ISO code or "default": {"FR": "STOP au 36111"}.'
    )
    dlt_entity_id: str | None = Field(
        default=None,
        description="India's DLT Principal Entity id its messages to India carry when they "
        "name none (registration.entity_id); null: none.",
    )


class AccountChanges(BaseModel):
    """The fields given are changed; ``null`` clears ``national_language`` or
    ``dlt_entity_id``."""

    model_config = ConfigDict(extra="forbid")

    transliterate: bool = False
    national_language: NationalLanguage | None = None
    opt_out_texts: dict[str, str] | None = Field(
        default=None,
        description='{"FR": "STOP au 36111", "default": "Reply STOP to opt out"}; '
        "{} or null clears.",
    )
    dlt_entity_id: Annotated[str, AfterValidator(check_id)] | None = Field(
        default=None, description="1 to 64 printable ASCII characters; null clears it."
    )


def _view(account: account_store.Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "transliterate": account.transliterate,
        "national_language": account.national_language,
        "opt_out_texts": dict(account.opt_out_texts),
        "dlt_entity_id": account.dlt_entity_id,
    }


@router.get(
    "/{name}", response_model=AccountSettings, responses=_ERRORS, summary="An account's settings"
)
async def get_settings(
    name: str,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    check_own_account(principal, name)
    async with ctx.db.read() as conn:
        account = await account_store.get_account_by_name(conn, name)
    if account is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"No account named {name!r}.", field="account")
    return JsonResponse(_view(account))


@router.patch(
    "/{name}",
    response_model=AccountSettings,
    responses=_ERRORS,
    summary="Change an account's settings (the fields given)",
)
async def change_settings(
    name: str,
    body: AccountChanges,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    check_own_account(principal, name)
    changes = body.model_dump(exclude_unset=True)
    async with ctx.db.transaction() as conn:
        account = await account_store.update_account(conn, name, **changes)
    forget_cached_keys()  # the next request of the account sees the change
    return JsonResponse(_view(account))
