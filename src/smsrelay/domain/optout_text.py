"""Opt-out text on marketing messages, where the destination requires it.

Many regulators (France's "STOP au 36xxx", the UAE, Australia, Brazil, Korea's free opt-out
number…) require every marketing SMS to tell the recipient how to stop them; the country rule
``opt_out_text_required`` says where (``domain/countries``). What the words are is the
sender's: a short code it rents, a keyword its provider handles. So an account names its own
texts, per destination country and as a default (``{"FR": "STOP au 36111", "default":
"Reply STOP to opt out"}``), and :func:`with_opt_out` adds the one that applies to a marketing
text that does not carry it yet, before its segments are counted and priced. An account that
names none gets nothing added: smsrelay does not invent an opt-out route nobody operates.
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_KEY", "MAX_TEXT", "parse_opt_out_texts", "with_opt_out"]

DEFAULT_KEY = "default"
MAX_TEXT = 60  # room for the message itself in a segment (a GSM-7 segment holds 153-160)


def parse_opt_out_texts(raw: Any) -> dict[str, str]:
    """An account's texts from their JSON form (ISO codes upper-cased); ``ValueError`` says
    which entry is wrong."""
    if not isinstance(raw, Mapping):
        raise ValueError('opt_out_texts must be an object such as {"FR": "STOP au 36111"}')
    texts: dict[str, str] = {}
    for key, text in raw.items():
        where = f"opt_out_texts.{key}"
        if not isinstance(key, str) or not (
            key == DEFAULT_KEY or (len(key) == 2 and key.isascii() and key.isalpha())
        ):
            raise ValueError(f"{where}: keys are ISO 3166 country codes or {DEFAULT_KEY!r}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: the text must be a non-empty string")
        if len(text) > MAX_TEXT or not text.isprintable():
            raise ValueError(f"{where}: at most {MAX_TEXT} printable characters on one line")
        texts[key if key == DEFAULT_KEY else key.upper()] = text.strip()
    return texts


def with_opt_out(
    text: str, country: str | None, texts: Mapping[str, str]
) -> tuple[str, str | None]:
    """``text`` with the account's opt-out text for ``country`` (else its default) added on
    a line of its own, and the text added; unchanged (and None) when the account has none or
    the text carries it already (whatever the case). The caller asks only for marketing to a
    destination that requires it."""
    wanted = texts.get(country or "") or texts.get(DEFAULT_KEY)
    if not wanted or wanted.casefold() in text.casefold():
        return text, None
    return f"{text.rstrip()}\n{wanted}", wanted
