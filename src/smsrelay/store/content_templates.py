"""Content templates (``domain/content_templates.py``): the texts each account registered."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.content_templates import MAX_VAR_CHARS, Category, Template
from smsrelay.store.db import already_exists
from smsrelay.store.schema import content_templates

__all__ = ["Signature", "add_template", "remove_template", "signatures", "templates_of"]

Signature = tuple[int, float | None, str | None]
"""(rows, newest created_at, greatest id) of an account's templates: changes with any add or
removal, so other processes know when to read the account's templates again."""


def _template(row: Row[tuple[object, ...]], max_var_chars: int) -> Template:
    return Template(
        template_id=row.template_id,
        text=row.text,
        category=Category(row.category),
        entity_id=row.entity_id,
        id=row.id,
        scheme=row.scheme,
        max_var_chars=max_var_chars,
    )


async def add_template(
    conn: AsyncConnection, *, row_id: str, account_id: str, template: Template, now: float
) -> Template:
    """Store a checked template for the account; ALREADY_EXISTS when it has that template id."""
    with already_exists(f"template {template.template_id}"):
        async with conn.begin_nested():
            await conn.execute(
                content_templates.insert().values(
                    id=row_id,
                    account_id=account_id,
                    scheme=template.scheme,
                    template_id=template.template_id,
                    text=template.text,
                    category=str(template.category),
                    entity_id=template.entity_id,
                    created_at=now,
                )
            )
    return Template(
        template.template_id,
        template.text,
        template.category,
        template.entity_id,
        row_id,
        template.scheme,
        template.max_var_chars,
    )


async def templates_of(
    conn: AsyncConnection, account_id: str, *, max_var_chars: int = MAX_VAR_CHARS
) -> list[Template]:
    """The account's templates, oldest first (one import's by template id), compiled with
    ``max_var_chars``."""
    c = content_templates.c
    rows = await conn.execute(
        select(content_templates)
        .where(c.account_id == account_id)
        .order_by(c.created_at, c.template_id)
    )
    return [_template(r, max_var_chars) for r in rows]


async def remove_template(conn: AsyncConnection, account_id: str | None, row_id: str) -> bool:
    """Remove one of the account's templates (``account_id`` None: of any account, for the
    operator's CLI); False when there is none of that id."""
    c = content_templates.c
    where = [c.id == row_id] if account_id is None else [c.id == row_id, c.account_id == account_id]
    result = await conn.execute(delete(content_templates).where(*where))
    return result.rowcount > 0


async def signatures(conn: AsyncConnection, account_ids: Iterable[str]) -> dict[str, Signature]:
    """:data:`Signature` of each of ``account_ids`` (``(0, None, None)``: no templates)."""
    wanted = sorted(set(account_ids))
    found: dict[str, Signature] = {a: (0, None, None) for a in wanted}
    if not wanted:
        return found
    c = content_templates.c
    rows = await conn.execute(
        select(c.account_id, func.count(), func.max(c.created_at), func.max(c.id))
        .where(c.account_id.in_(wanted))
        .group_by(c.account_id)
    )
    for account_id, count, newest, greatest in rows:
        found[account_id] = (int(count), newest, greatest)
    return found
