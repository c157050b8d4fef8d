"""``/v1/templates``: the content templates an account registered with India's DLT.

India's operators block (and still bill) a message whose text matches none of the sender's
registered templates; the gateway keeps the account's list so the template id of a text can
be found (``engine/content_templates.py``), and ``POST /v1/templates/match`` lets a client
test a text before sending it. Listing, adding and removing need an ``admin`` key, matching a
``send`` key. Each acts on the key's own account; an operator's key may name another with
``account`` (a tenant naming another account gets 403, another account's template id 404).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from smsrelay.domain.content_templates import (
    MAX_ID_CHARS,
    MAX_TEMPLATE_CHARS,
    Category,
    Template,
)
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.content_templates import TemplateBook
from smsrelay.gateway.http.auth import Principal, check_own_account, require
from smsrelay.gateway.http.context import ApiContext, get_context
from smsrelay.gateway.http.responses import JsonResponse
from smsrelay.gateway.http.schemas import ErrorResponse
from smsrelay.store import accounts as account_store

router = APIRouter(tags=["templates"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422)
}
_ACCOUNT = "Account name (an operator's key only); default: the key's own account."


class TemplateBody(BaseModel):
    template_id: str = Field(
        max_length=MAX_ID_CHARS, description="The id the DLT portal gave the template."
    )
    text: str = Field(
        max_length=MAX_TEMPLATE_CHARS,
        description="The registered text, each variable part written {#var#}.",
        examples=["Your OTP for ACME login is {#var#}. Do not share it. - ACME"],
    )
    category: Category = Category.TRANSACTIONAL
    entity_id: str | None = Field(
        default=None, max_length=MAX_ID_CHARS, description="The Principal Entity's DLT id."
    )
    account: str | None = Field(default=None, max_length=100, description=_ACCOUNT)


class TemplateOut(BaseModel):
    id: str = Field(description="This gateway's id of the entry (for DELETE).")
    scheme: str = Field(description="india_dlt")
    template_id: str
    text: str
    category: Category
    entity_id: str | None


class TemplateList(BaseModel):
    data: list[TemplateOut]


class MatchBody(BaseModel):
    text: str = Field(max_length=10_000, description="A message text as it would be sent.")
    account: str | None = Field(default=None, max_length=100, description=_ACCOUNT)


class MatchOut(BaseModel):
    template_id: str
    category: Category
    entity_id: str | None
    id: str = Field(description="This gateway's id of the matching entry.")


def _out(template: Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "scheme": template.scheme,
        "template_id": template.template_id,
        "text": template.text,
        "category": str(template.category),
        "entity_id": template.entity_id,
    }


def _book(ctx: ApiContext) -> TemplateBook:
    if ctx.templates is None:
        raise SmsError(ErrorCode.NOT_FOUND, "Content templates are not available here.")
    return ctx.templates


async def _account_id(ctx: ApiContext, principal: Principal, name: str | None) -> str:
    """The key's own account, or the one an operator's key names."""
    check_own_account(principal, name)
    if name is None or name == principal.account.name:
        return principal.account.id
    async with ctx.db.read() as conn:
        found = await account_store.get_account_by_name(conn, name)
    if found is None:
        raise SmsError(ErrorCode.NOT_FOUND, f"No account named {name!r}.", field="account")
    return found.id


@router.get(
    "/v1/templates", response_model=TemplateList, responses=_ERRORS, summary="The templates"
)
async def list_templates(
    account: str | None = Query(default=None, max_length=100, description=_ACCOUNT),
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    account_id = await _account_id(ctx, principal, account)
    book = _book(ctx)
    book.forget(account_id)  # a listing shows what is stored now
    return JsonResponse({"data": [_out(t) for t in await book.templates(account_id)]})


@router.post(
    "/v1/templates",
    status_code=201,
    response_model=TemplateOut,
    responses=_ERRORS,
    summary="Add a registered template",
)
async def add_template(
    body: TemplateBody,
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """A text that is not a valid DLT template (empty, over 2,000 characters, no fixed text,
    a variable not spelled ``{#var#}``) is refused with 422; a template id the account has
    already with 409."""
    account_id = await _account_id(ctx, principal, body.account)
    book = _book(ctx)
    try:
        template = Template(
            body.template_id,
            body.text,
            body.category,
            body.entity_id or None,
            max_var_chars=book.max_var_chars,
        )
    except ValueError as error:
        field = next((f for f in ("template_id", "entity_id") if str(error).startswith(f)), "text")
        raise SmsError(ErrorCode.VALIDATION_ERROR, str(error), field=field) from None
    stored = await book.add(account_id, template)
    return JsonResponse(_out(stored), status_code=201)


@router.delete("/v1/templates/{entry_id}", responses=_ERRORS, summary="Remove a template")
async def remove_template(
    entry_id: str,
    account: str | None = Query(default=None, max_length=100, description=_ACCOUNT),
    principal: Principal = Depends(require("admin")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """``entry_id`` is the entry's ``id`` as listed (``tpl_...``), not the DLT template id."""
    account_id = await _account_id(ctx, principal, account)
    if not await _book(ctx).remove(account_id, entry_id):
        raise SmsError(ErrorCode.NOT_FOUND, f"No template {entry_id!r} in this account.")
    return JsonResponse({"removed": entry_id})


@router.post(
    "/v1/templates/match",
    response_model=MatchOut,
    responses=_ERRORS,
    summary="Which registered template a text matches",
)
async def match_template(
    body: MatchBody,
    principal: Principal = Depends(require("send")),
    ctx: ApiContext = Depends(get_context),
) -> JsonResponse:
    """The most specific matching template (most fixed characters); 404 ``not_found`` when
    none matches: sent to India, such a text would be blocked by the operators' scrubbing."""
    account_id = await _account_id(ctx, principal, body.account)
    book = _book(ctx)
    found = await book.find(account_id, body.text)
    if found is None:
        raise SmsError(
            ErrorCode.NOT_FOUND,
            "No registered template matches this text: India's operators would block it (and "
            "still bill it). The fixed text must match exactly (case, spaces, punctuation, line "
            f"breaks) and each {{#var#}} stands for 1 to {book.max_var_chars} characters.",
            field="text",
        )
    return JsonResponse(
        {
            "template_id": found.template_id,
            "category": str(found.category),
            "entity_id": found.entity_id,
            "id": found.id,
        }
    )
