"""The mark some destinations require on a marketing message's sender: ``AD-`` in the UAE,
``-AD`` in Saudi Arabia.

Their regulators tell promotional traffic from the rest by the sender id: a marketing
message from an unmarked alphanumeric id is blocked, or fined, while the same id sends OTPs
and alerts unmarked. The rule is the country's ``marketing_sender_tag``
(``domain/countries``): the mark, before or after the id, and the longest the marked id may
be (11 characters, the GSM limit). :func:`mark` applies it to one sender: an id that carries
the mark already is kept, one that fits with it is marked (and the answer says why the
sender changed), one too long to mark is refused with ``sender_not_allowed``, since cutting a
registered brand name would only send from an id nobody registered. Numbers are never
marked. Pure: the rule is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsrelay.domain.countries import Country, Rule
from smsrelay.domain.countries.model import MarketingTag
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.numbers import SenderKind, parse_sender

__all__ = ["Marked", "mark", "marketing_tag"]


@dataclass(frozen=True, slots=True)
class Marked:
    """The sender a marketing message goes with, and why it differs (None: unchanged)."""

    sender: str
    reason: str | None = None


def marketing_tag(country: Country | None) -> Rule | None:
    """``country``'s marketing sender rule, when a source states one."""
    if country is None:
        return None
    rule = country.rule("marketing_sender_tag")
    return rule if isinstance(rule.value, MarketingTag) else None


def _carries(sender: str, tag: MarketingTag) -> bool:
    folded = sender.casefold()
    if tag.prefix:
        return folded.startswith(tag.prefix.casefold())
    return folded.endswith(tag.suffix.casefold())


def mark(sender: str, rule: Rule, country: str) -> Marked:
    """``sender`` as a marketing message to ``country`` must carry it under ``rule``.

    Raises ``SmsError(sender_not_allowed)`` when the marked id would be longer than the rule
    allows."""
    tag: MarketingTag = rule.value
    if parse_sender(sender).kind is not SenderKind.ALPHANUMERIC or _carries(sender, tag):
        return Marked(sender)
    marked = f"{tag.prefix}{sender}{tag.suffix}"
    shown = f"{tag.prefix}…" if tag.prefix else f"…{tag.suffix}"
    if len(marked) > tag.max_length:
        raise SmsError(
            ErrorCode.SENDER_NOT_ALLOWED,
            f"{country} requires marketing sender ids marked {shown} within {tag.max_length} "
            f"characters ({rule.source}); {marked!r} has {len(marked)}: use a shorter sender "
            "id registered for marketing",
            field="from",
        )
    return Marked(marked, f"{country} requires marketing sender ids marked {shown} ({rule.source})")
