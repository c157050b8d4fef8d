"""Which encoding a message travels in, and how many segments that costs.

The accept pipeline calls :func:`choose` once per message: it prices the message (segments)
and tells the client the encoding, the national language and the characters changed. The
SMPP connector calls :func:`national_alphabet` to find again, from the stored text and
language, the shift tables :func:`choose` counted with.

The choice. Every way the request allows to write the text is a candidate:

    text          the text as given; its look-alikes replaced (operator's smart_encoding);
                  its letters transliterated too (account setting, or encoding=transliterate)
    written in    GSM-7 with the default tables; GSM-7 with the national language asked for
                  (single shift, locking shift, or both: TS 23.038 Annex A); UCS-2

The candidate with the fewest segments wins. At equal segments the earlier one in this order
wins: the text unchanged before a changed one (look-alikes before letters), the default tables
before national ones (no UDH, every handset), and GSM-7 before UCS-2 (a client that allows
changes asked for GSM-7; UCS-2 is the last resort). Per message ``encoding``:

    auto           every candidate the account and request allow
    gsm7           GSM-7 only, the text as given or with look-alikes replaced; else
                   ``invalid_encoding``
    transliterate  GSM-7 only, transliteration allowed whatever the account says (the
                   request asks for it); else ``invalid_encoding``
    ucs2           UCS-2, the text as given
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from smsrelay.domain.countries.limits import NO_LIMITS, TextLimits
from smsrelay.domain.encoding import (
    DEFAULT_ALPHABET,
    Alphabet,
    is_gsm7,
    segment_limits,
    split_segments,
    units,
)
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES
from smsrelay.domain.messages import Encoding
from smsrelay.domain.transliterate import transliterate

__all__ = [
    "EncodingMode",
    "TextInfo",
    "analyze",
    "choose",
    "count",
    "national_alphabet",
    "national_alphabets",
]


class EncodingMode(StrEnum):
    """What a request asks for (``encoding`` of the send body)."""

    AUTO = "auto"
    GSM7 = "gsm7"
    UCS2 = "ucs2"
    TRANSLITERATE = "transliterate"


@dataclass(frozen=True, slots=True)
class TextInfo:
    """What :func:`choose` found.

    ``units`` counts septets (GSM-7) or UTF-16 code units (UCS-2); ``per_segment`` is the
    limit that applied (e.g. 160/70 for one segment, 153/67 when concatenated, less with
    national shift IEs); ``replaced`` lists the (original, replacement) pairs applied, once
    each in order of first use; ``text`` is the text to send: the input, or its
    transliteration when ``replaced`` is not empty; ``alphabet`` the GSM-7 tables.
    """

    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    replaced: tuple[tuple[str, str], ...]
    text: str
    alphabet: Alphabet = DEFAULT_ALPHABET

    @property
    def language(self) -> str | None:
        """The national language whose shift tables the text is written with, if any."""
        return self.alphabet.language if self.encoding is Encoding.GSM7 else None


def count(
    text: str, encoding: Encoding, alphabet: Alphabet = DEFAULT_ALPHABET
) -> tuple[int, int, int]:
    """(units, segments, per_segment) of ``text``, which must be writable so."""
    n = units(text, encoding, alphabet)
    single, multi = segment_limits(encoding, alphabet)
    if n <= single:
        return n, 1, single
    return n, len(split_segments(text, encoding, alphabet)), multi


def national_alphabets(language: str) -> tuple[Alphabet, ...]:
    """The ways to use ``language``'s tables, in order of preference at equal cost: single
    shift alone, locking shift alone, both (a language without a locking table: the first).
    Raises ``ValueError`` for an unknown language."""
    if language not in NATIONAL_LANGUAGES:
        raise ValueError(f"unknown national language {language!r}")
    if NATIONAL_LANGUAGES[language].locking is None:
        return (Alphabet(single=language),)
    return (
        Alphabet(single=language),
        Alphabet(locking=language),
        Alphabet(locking=language, single=language),
    )


def national_alphabet(text: str, language: str) -> Alphabet | None:
    """The tables of ``language`` that write ``text`` in the fewest segments (ties: the order
    of :func:`national_alphabets`), or None when none can write it."""
    best: tuple[int, int, Alphabet] | None = None
    for rank, alphabet in enumerate(national_alphabets(language)):
        if is_gsm7(text, alphabet):
            segments = count(text, Encoding.GSM7, alphabet)[1]
            if best is None or (segments, rank) < best[:2]:
                best = (segments, rank, alphabet)
    return None if best is None else best[2]


def _too_long(info: TextInfo, max_segments: int, reason: str | None) -> SmsError:
    return SmsError(
        ErrorCode.MESSAGE_TOO_LONG,
        f"the message needs {info.segments} {info.encoding} segments ({info.units} units); "
        f"the maximum is {max_segments}" + (f": {reason}" if reason else ""),
        field="message",
    )


def choose(
    text: str,
    *,
    mode: EncodingMode = EncodingMode.AUTO,
    language: str | None = None,
    lookalikes: bool = True,
    letters: bool = False,
    max_segments: int = 10,
    limits: TextLimits = NO_LIMITS,
) -> TextInfo:
    """Choose how ``text`` is sent (see the module docstring for the rule).

    ``language``: a national language (``gsm_national`` code) the request allows;
    ``lookalikes``: the operator's smart encoding; ``letters``: the account allows letters to
    be transliterated when ``mode`` is auto; ``limits``: the destination's rules, which may
    lower ``max_segments`` and take UCS-2 out of the candidates (``countries/limits.py``).

    Raises ``SmsError`` on field ``message``: ``EMPTY_MESSAGE`` for a text that is empty or
    only whitespace (it would be billed and delivered as nothing), ``MESSAGE_TOO_LONG`` when
    the cheapest way needs more than ``max_segments``; on field ``encoding``:
    ``INVALID_ENCODING`` when ``mode`` asks for GSM-7 and no allowed way gives it, or UCS-2
    is the only way (or the one asked for) and the destination does not deliver it. Raises
    ``ValueError`` for an unknown ``language`` (callers validate it first).
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if not text.strip():
        raise SmsError(ErrorCode.EMPTY_MESSAGE, field="message")
    alphabets = (DEFAULT_ALPHABET, *(national_alphabets(language) if language else ()))
    if mode is EncodingMode.UCS2:
        if not limits.ucs2:
            raise SmsError(
                ErrorCode.INVALID_ENCODING,
                f"{limits.ucs2_reason}: send it with encoding auto, gsm7 or transliterate",
                field="encoding",
            )
        best = _info(text, (), Encoding.UCS2, DEFAULT_ALPHABET)
    elif language is None and is_gsm7(text):
        # the common case: no other candidate can cost fewer segments (an escaped character
        # costs 2 of 160/153 septets, less than 1 of 70/67 UCS-2 units)
        best = _info(text, (), Encoding.GSM7, DEFAULT_ALPHABET)
    else:
        translit = mode is EncodingMode.TRANSLITERATE or (mode is EncodingMode.AUTO and letters)
        ucs2 = mode is EncodingMode.AUTO and limits.ucs2
        cheapest = _cheapest(text, alphabets, lookalikes, translit, ucs2)
        if cheapest is None:
            raise _not_gsm7(text, alphabets, lookalikes, translit, limits.ucs2_reason)
        best = cheapest
    reason = None
    if limits.max_segments is not None and limits.max_segments < max_segments:
        max_segments, reason = limits.max_segments, limits.segments_reason
    if best.segments > max_segments:
        raise _too_long(best, max_segments, reason)
    return best


def _info(
    text: str, replaced: tuple[tuple[str, str], ...], encoding: Encoding, alphabet: Alphabet
) -> TextInfo:
    n, segments, per_segment = count(text, encoding, alphabet)
    return TextInfo(encoding, n, segments, per_segment, replaced, text, alphabet)


def _cheapest(
    text: str,
    alphabets: tuple[Alphabet, ...],
    lookalikes: bool,
    letters: bool,
    ucs2: bool,
) -> TextInfo | None:
    """The fewest-segment candidate, earlier ones winning ties (module docstring)."""
    candidates: list[TextInfo] = []
    levels = [(False, False)] + [(True, False)] * lookalikes + [(True, True)] * letters
    for changes, with_letters in levels:
        for alphabet in alphabets:
            written: str = text
            replaced: tuple[tuple[str, str], ...] = ()
            if changes:
                written, replaced = transliterate(
                    text, keep=functools.partial(is_gsm7, alphabet=alphabet), letters=with_letters
                )
                if not replaced:
                    continue
            if written.strip() and is_gsm7(written, alphabet):
                candidates.append(_info(written, replaced, Encoding.GSM7, alphabet))
    if ucs2:
        candidates.append(_info(text, (), Encoding.UCS2, DEFAULT_ALPHABET))
    if not candidates:
        return None
    return min(enumerate(candidates), key=lambda ic: (ic[1].segments, ic[0]))[1]


def _not_gsm7(
    text: str,
    alphabets: tuple[Alphabet, ...],
    lookalikes: bool,
    letters: bool,
    no_ucs2: str | None = None,
) -> SmsError:
    """``invalid_encoding`` naming the characters that no allowed way writes in GSM-7;
    ``no_ucs2``: why UCS-2 was no way out either (the destination's rule)."""

    def writable(c: str, alphabet: Alphabet) -> bool:
        if is_gsm7(c, alphabet):
            return True
        if not (lookalikes or letters):
            return False
        sub, replaced = transliterate(c, keep=lambda x: is_gsm7(x, alphabet), letters=letters)
        return bool(replaced) and is_gsm7(sub, alphabet)

    missing = list(dict.fromkeys(c for c in text if not any(writable(c, a) for a in alphabets)))
    shown = ", ".join(repr(c) for c in missing[:5]) or "the text (nothing would remain)"
    advice = (
        f"and {no_ucs2}; allow transliteration (encoding transliterate) or rewrite it"
        if no_ucs2
        else "send it with encoding auto or ucs2"
    )
    return SmsError(
        ErrorCode.INVALID_ENCODING,
        f"the text cannot be sent as GSM-7: no GSM-7 form for {shown}; {advice}",
        field="encoding",
    )


def analyze(text: str, *, max_segments: int = 10, smart: bool = False) -> TextInfo:
    """:func:`choose` for a text with no request options: ``auto``, the default tables,
    look-alikes replaced when ``smart``."""
    return choose(text, lookalikes=smart, max_segments=max_segments)
