"""Each account's registered content templates, compiled and in memory, for the accept path.

A message to India must match one of its Principal Entity's DLT templates or it is blocked
(and billed). :class:`TemplateBook` finds the template of a text without a database query:
an account's templates are read and compiled on its first lookup, swapped in anew when this
process's API changes them (:meth:`TemplateBook.add`, :meth:`TemplateBook.remove`, written in
the unit of work's turn like every engine write), and every ``interval`` seconds of its clock
:meth:`TemplateBook.run` asks the database, in one query for every account held, whether
another process (a second gateway, the CLI) changed them, reading again only those that did.
The same pattern as ``engine/countries.py``'s CountryBook.

:func:`add_template` and :func:`import_templates` are the one write path, in the caller's
transaction: the book's turn and the CLI's own transaction both call them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.content_templates import MAX_VAR_CHARS, CsvRow, Template, match
from smsrelay.domain.errors import SmsError
from smsrelay.domain.ids import new_id
from smsrelay.engine.clock import Clock, refresh_every
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import content_templates as store
from smsrelay.store.db import Database

__all__ = ["Imported", "TemplateBook", "add_template", "import_templates"]

log = logging.getLogger(__name__)


async def add_template(
    conn: AsyncConnection, now: float, account_id: str, template: Template
) -> Template:
    """Store a checked template for the account; ALREADY_EXISTS (409) when the account has
    that template id already."""
    return await store.add_template(
        conn,
        row_id=new_id("tpl", now, secrets.token_bytes(10)),
        account_id=account_id,
        template=template,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import stored, and each refused row's line and reason."""

    added: list[Template]
    refused: list[tuple[int, str]]


async def import_templates(
    conn: AsyncConnection, now: float, account_id: str, rows: Sequence[CsvRow]
) -> Imported:
    """Store each valid row of a template list; a row that is not valid or whose template id
    the account has already is refused with its reason, and the others are stored."""
    added: list[Template] = []
    refused: list[tuple[int, str]] = []
    for row in rows:
        if row.template is None:
            refused.append((row.line, row.error or "not a template"))
            continue
        try:
            added.append(await add_template(conn, now, account_id, row.template))
        except SmsError as error:
            refused.append((row.line, error.detail))
    return Imported(added, refused)


@dataclass(frozen=True, slots=True)
class _Held:
    signature: store.Signature
    templates: tuple[Template, ...]  # oldest first, as listed
    ordered: tuple[Template, ...]  # most specific first: a lookup stops at its first match


class TemplateBook:
    """Every account's compiled templates: :meth:`find` is the accept path's lookup."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        uow: UnitOfWork | None = None,
        max_var_chars: int = MAX_VAR_CHARS,
        interval: float = 5.0,
    ) -> None:
        """``max_var_chars``: characters one ``{#var#}`` may stand for; ``uow`` None:
        read-only, :meth:`add` and :meth:`remove` refuse."""
        self._db = db
        self._clock = clock
        self._uow = uow
        self.max_var_chars = max_var_chars
        self._interval = interval
        self._held: dict[str, _Held] = {}

    async def templates(self, account_id: str) -> tuple[Template, ...]:
        """The account's templates, oldest first (read on its first lookup)."""
        held = self._held.get(account_id)
        if held is None:
            held = await self._load(account_id)
        return held.templates

    async def find(self, account_id: str, text: str) -> Template | None:
        """The account's most specific template that ``text`` matches, or None; after the
        account's first lookup, no database read."""
        held = self._held.get(account_id) or await self._load(account_id)
        return match(held.ordered, text)

    def forget(self, account_id: str) -> None:
        """Read the account's templates again on its next lookup."""
        self._held.pop(account_id, None)

    async def _load(self, account_id: str) -> _Held:
        async with self._db.read() as conn:
            signature = (await store.signatures(conn, [account_id]))[account_id]
            listed = await store.templates_of(conn, account_id, max_var_chars=self.max_var_chars)
        ordered = tuple(sorted(listed, key=lambda t: t.specificity))
        held = _Held(signature, tuple(listed), ordered)
        self._held[account_id] = held
        return held

    async def refresh(self) -> None:
        """Read again the templates of each account held that another process changed."""
        held = dict(self._held)
        if not held:
            return
        async with self._db.read() as conn:
            now_stored = await store.signatures(conn, held)
        for account_id, signature in now_stored.items():
            if held[account_id].signature != signature and self._held.get(account_id):
                await self._load(account_id)

    async def run(self) -> None:
        """Refresh until cancelled; a failed read keeps the templates already held."""
        await refresh_every(
            self._clock,
            self._interval,
            self.refresh,
            failed="reading content templates failed; keeping those held",
        )

    async def add(self, account_id: str, template: Template) -> Template:
        """Store a template for the account (409 for a template id it has) and hold it."""

        async def write(conn: AsyncConnection, now: float) -> Template | SmsError:
            # a refusal is the write's result, not its exception: the insert ran in a
            # savepoint, so the turn (and the other writers in it) goes on
            try:
                return await add_template(conn, now, account_id, template)
            except SmsError as error:
                return error

        stored = await self._writer().run(write)
        if isinstance(stored, SmsError):
            raise stored
        await self._load(account_id)
        log.info("template added account=%s template_id=%s", account_id, stored.template_id)
        return stored

    async def remove(self, account_id: str, row_id: str) -> bool:
        """Remove one of the account's templates; False when it has none of that id."""

        async def write(conn: AsyncConnection, now: float) -> bool:
            return await store.remove_template(conn, account_id, row_id)

        removed = await self._writer().run(write)
        await self._load(account_id)
        return removed

    def _writer(self) -> UnitOfWork:
        if self._uow is None:
            raise RuntimeError("this template book is read-only (no unit of work)")
        return self._uow
