"""Command line for content templates: ``templates add|list|remove|import``.

Kept apart from ``cli.py`` (already long) and registered there; each command parses, calls
the engine's one write path (``engine/content_templates.py``) or the store, and prints. A
running gateway sees a change within its template book's refresh interval (a few seconds).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from smsrelay.domain.content_templates import Template
    from smsrelay.engine.content_templates import Imported

templates_app = typer.Typer(no_args_is_help=True, help="Registered content templates (India DLT).")


def register(app: typer.Typer) -> None:
    """Add the ``templates`` group to the CLI."""
    app.add_typer(templates_app, name="templates")


def _fail(message: str) -> typer.Exit:
    from smsrelay.cli import err

    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


def _settings_max() -> int:
    from smsrelay.config import load_settings

    return load_settings().template_variable_max_chars


@templates_app.command("add")
def templates_add(
    account: str = typer.Option(..., help="Account name."),
    template_id: str = typer.Option(..., help="The id the DLT portal gave the template."),
    text: str = typer.Option(..., help="The registered text, variables written {#var#}."),
    category: str = typer.Option(
        "transactional", help="transactional | service_implicit | service_explicit | promotional"
    ),
    entity_id: str = typer.Option(None, help="The Principal Entity's DLT id."),
) -> None:
    """Add a registered template to an account's list."""
    from smsrelay.cli import _account_id, _run_db, out
    from smsrelay.domain.content_templates import Template, parse_category
    from smsrelay.engine.content_templates import add_template

    try:
        template = Template(
            template_id, text, parse_category(category), entity_id, max_var_chars=_settings_max()
        )
    except ValueError as error:
        raise _fail(str(error)) from None

    async def op(conn: AsyncConnection) -> Template:
        return await add_template(conn, time.time(), await _account_id(conn, account), template)

    stored = _run_db(op)
    out.print(f"template {stored.template_id} ({stored.category}) added to {account}: {stored.id}")


@templates_app.command("list")
def templates_list(account: str = typer.Option(..., help="Account name.")) -> None:
    """An account's registered templates."""
    from smsrelay.cli import _account_id, _run_db, out
    from smsrelay.store import content_templates as store

    async def op(conn: AsyncConnection) -> list[Template]:
        return await store.templates_of(conn, await _account_id(conn, account))

    table = Table("id", "template_id", "category", "entity_id", "text")
    for t in _run_db(op, write=False):
        table.add_row(t.id, t.template_id, str(t.category), t.entity_id or "", t.text)
    out.print(table)


@templates_app.command("remove")
def templates_remove(entry_id: str = typer.Argument(..., help="The entry's id (tpl_...).")) -> None:
    """Remove a template by the id ``templates list`` shows."""
    from smsrelay.cli import _run_db, out
    from smsrelay.store import content_templates as store

    if not _run_db(lambda conn: store.remove_template(conn, None, entry_id)):
        raise _fail(f"no template {entry_id!r}")
    out.print(f"removed {entry_id}")


@templates_app.command("import")
def templates_import(
    file: Path = typer.Argument(..., help="CSV: template_id,text,category,entity_id."),
    account: str = typer.Option(..., help="Account name."),
) -> None:
    """Add the templates of a CSV list (as DLT portals export them); prints the rows added
    and each row refused with its reason (the others are added)."""
    from smsrelay.cli import _account_id, _run_db, out
    from smsrelay.domain.content_templates import read_csv
    from smsrelay.engine.content_templates import import_templates

    try:
        rows = read_csv(file.read_text(encoding="utf-8"), max_var_chars=_settings_max())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise _fail(f"{file}: {error}") from None

    async def op(conn: AsyncConnection) -> Imported:
        return await import_templates(conn, time.time(), await _account_id(conn, account), rows)

    imported = _run_db(op)
    for line, reason in imported.refused:
        out.print(f"{file}:{line}: refused: {reason}", highlight=False)
    out.print(
        f"{len(imported.added)} template(s) added to {account}, "
        f"{len(imported.refused)} row(s) refused"
    )
    if imported.refused:
        raise typer.Exit(1)
