"""Opt-out and opt-in keywords in mobile-originated text (STOP, START and their kin).

A phone that answers ``STOP`` must stop getting an account's messages; ``START`` undoes it.
Handsets and people write the keyword in any case, with accents or without (``Arrêt``), and
often with punctuation (``Stop.``), so matching folds all of that away. Only the first word
counts: "please don't stop the reminders" is not an opt-out, and carriers (and regulators such
as the CTIA in the US) define the keyword as the message, or its first word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "DEFAULT_OPTIN",
    "DEFAULT_OPTOUT",
    "KeywordAction",
    "KeywordMatch",
    "first_word",
    "match_keyword",
    "normalise_keyword",
]

DEFAULT_OPTOUT: tuple[str, ...] = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "ARRET",
)
DEFAULT_OPTIN: tuple[str, ...] = ("START", "UNSTOP")


class KeywordAction(StrEnum):
    OPT_OUT = "optout"
    OPT_IN = "optin"


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """What the text asked for, and the keyword (normalised) that said it."""

    action: KeywordAction
    keyword: str


def normalise_keyword(word: str) -> str:
    """Upper case without accents or surrounding punctuation: ``" Arrêt! "`` → ``"ARRET"``.

    NFKD splits a letter from its accents (and folds compatibility forms such as full-width
    letters), the combining marks are dropped, then ``casefold`` + ``upper`` handle ß and
    friends. Never raises.
    """
    decomposed = unicodedata.normalize("NFKD", word)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in bare.casefold().upper() if c.isalnum())


def first_word(text: str) -> str:
    """The first whitespace-separated word of ``text`` ('' for blank text)."""
    parts = text.split(None, 1)
    return parts[0] if parts else ""


def match_keyword(
    text: str, optout: Iterable[str] = DEFAULT_OPTOUT, optin: Iterable[str] = DEFAULT_OPTIN
) -> KeywordMatch | None:
    """The opt-out or opt-in keyword the first word of ``text`` is, else None.

    Both lists are normalised the same way as the text, so an operator may configure
    ``"Arrêt"`` or ``"arret"`` alike. A word on both lists counts as an opt-out: refusing a
    message wrongly is cheaper than sending one to someone who said stop.
    """
    word = normalise_keyword(first_word(text))
    if not word:
        return None
    if word in {normalise_keyword(k) for k in optout}:
        return KeywordMatch(KeywordAction.OPT_OUT, word)
    if word in {normalise_keyword(k) for k in optin}:
        return KeywordMatch(KeywordAction.OPT_IN, word)
    return None
