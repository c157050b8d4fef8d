"""Content templates in the accept path: a message to India leaves with the DLT template id
its text was registered under, or is refused before it is billed.

Indian operators scrub every A2P message against the DLT ledger: a text that matches none of
its sender's registered content templates is blocked, and still charged. An account that keeps
its templates in smsrelay (``/v1/templates``, ``engine/content_templates.py``) therefore gets,
for each message bound for a destination whose rules name India's DLT scheme:

- no ``template_id`` given: the most specific template the final text (after spintax,
  transliteration and everything else that changes it) matches fills it in, and the
  template's entity id fills the entity id where the message has none; no match refuses the
  message with ``template_not_matched``;
- a ``template_id`` the account keeps: the text must match that template (else
  ``template_not_matched`` naming it);
- a ``template_id`` the account does not keep: trusted as given (registered elsewhere).

An account that keeps no templates is taken to register them with its provider: its messages
pass unchanged, as an account with no sender pool keeps its senders (``domain/senders.py``).
Messages to other destinations are never looked at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from smsrelay.domain.content_templates import Template
from smsrelay.domain.countries import CountryRules
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.registration import INDIA_DLT, Registration
from smsrelay.engine.content_templates import TemplateBook
from smsrelay.engine.prepare import Prepared

__all__ = ["TemplateCheck"]

Result = Prepared | SmsError


class TemplateCheck:
    """Fills or checks the DLT template of each prepared message bound for India."""

    def __init__(self, book: TemplateBook, countries: Callable[[], CountryRules]) -> None:
        self._book = book
        self._countries = countries

    async def apply(self, account_id: str, results: list[Result]) -> list[Result]:
        rules = self._countries()
        bound = [
            i
            for i, r in enumerate(results)
            if isinstance(r, Prepared) and rules.registration_scheme(r.message.country) == INDIA_DLT
        ]
        if not bound:
            return results
        kept = await self._book.templates(account_id)
        if not kept:
            return results
        out = list(results)
        for i in bound:
            prepared = out[i]
            assert isinstance(prepared, Prepared)
            try:
                out[i] = await self._checked(account_id, prepared, kept)
            except SmsError as error:
                out[i] = error
        return out

    async def _checked(
        self, account_id: str, prepared: Prepared, kept: tuple[Template, ...]
    ) -> Prepared:
        message = prepared.message
        given = message.registration or Registration()
        if given.template_id is not None:
            named = next((t for t in kept if t.template_id == given.template_id), None)
            if named is None or named.matches(message.body):
                return prepared
            raise SmsError(
                ErrorCode.TEMPLATE_NOT_MATCHED,
                f"the text does not match content template {given.template_id} "
                f"({named.text!r}); Indian operators block (and bill) a text that differs "
                "from its registered template",
                field="message",
            )
        found = await self._book.find(account_id, message.body)
        if found is None:
            raise SmsError(
                ErrorCode.TEMPLATE_NOT_MATCHED,
                f"the text matches none of the account's {len(kept)} DLT content templates; "
                "Indian operators block (and bill) it: register its template "
                "(POST /v1/templates) or check the text with POST /v1/templates/match",
                field="message",
            )
        registration = dataclasses.replace(
            given,
            template_id=found.template_id,
            entity_id=given.entity_id or found.entity_id,
        )
        changed = dataclasses.replace(message, registration=registration)
        return dataclasses.replace(prepared, message=changed)
