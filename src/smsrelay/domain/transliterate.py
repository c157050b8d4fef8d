"""Characters outside a GSM-7 alphabet, written with the closest characters inside it.

Two tables, two levels of consent:

- :data:`LOOKALIKES`: punctuation and spaces that word processors and phones insert (curly
  quotes, dashes, no-break spaces, invisible joiners). Replacing them changes nothing a reader
  sees, so the operator's ``smart_encoding`` setting applies them to every message.
- letters (:data:`LETTERS` and accents stripped by Unicode decomposition): ``á`` → ``a``,
  ``ł`` → ``l``, Cyrillic to Latin, Greek to the Greek capitals GSM-7 has. This changes the
  text a reader sees, so it happens only when the account allows it or the request asks
  (``encoding: transliterate``).

Only characters the target alphabet lacks are replaced (``keep`` says which it has): ``ñ``,
``É`` and ``ß`` are GSM-7 and stay; with the Portuguese shift tables ``ã`` stays too. A
character with no GSM-7 form (an emoji, Chinese) is left as it is, and the caller sees that
the result is still not GSM-7.

Cyrillic follows ICAO Doc 9303 (machine-readable passports: ``ж`` → ``zh``, ``щ`` → ``shch``),
a scheme readers of Russian and Ukrainian recognise. Greek follows the convention of Greek
phones before Unicode SMS: lowercase letters become capitals, which GSM-7 has either as Greek
letters (``Δ Φ Γ Λ Ω Π Ψ Σ Θ Ξ``) or as the Latin capitals that look the same (``Α`` → ``A``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["LETTERS", "LOOKALIKES", "transliterate"]

# fmt: off
LOOKALIKES: dict[str, str] = {
    # quotes and apostrophes
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    # dashes and minus
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    # ellipsis, bullets
    "…": "...", "•": "-", "‣": "-", "⁃": "-", "·": ".",
    # spaces and line breaks
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\t": " ", "\u2028": "\n", "\u2029": "\n",
    # invisible characters: dropped
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    # look-alikes of extension characters
    "ˆ": "^", "˜": "~",
}
"""Look-alikes that word processors and phones insert, mapped to GSM text.

Every key is outside the GSM alphabet and every value inside it; one curly quote would otherwise
turn a 160-character message into three UCS-2 segments.
"""

_LATIN: dict[str, str] = {
    # letters Unicode does not decompose into a base letter and marks
    "ß": "ss", "ẞ": "SS", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "þ": "th", "Þ": "Th", "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O",
    "ı": "i", "ĸ": "k", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ŋ": "n", "Ŋ": "N",
    "ƒ": "f", "ſ": "s", "ĳ": "ij", "Ĳ": "IJ", "ŀ": "l", "Ŀ": "L", "ŉ": "'n",
    "ª": "a", "º": "o", "ə": "e", "Ə": "E", "ƀ": "b", "ƶ": "z", "Ƶ": "Z",
}

_CYRILLIC_LOWER: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia", "є": "ie", "і": "i", "ї": "i", "ґ": "g", "ў": "u", "ђ": "dj", "ѓ": "g",
    "ѕ": "dz", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "ќ": "k", "џ": "dz",
}

_GREEK: dict[str, str] = {
    "α": "A", "β": "B", "γ": "Γ", "δ": "Δ", "ε": "E", "ζ": "Z", "η": "H", "θ": "Θ",
    "ι": "I", "κ": "K", "λ": "Λ", "μ": "M", "ν": "N", "ξ": "Ξ", "ο": "O", "π": "Π",
    "ρ": "P", "σ": "Σ", "ς": "Σ", "τ": "T", "υ": "Y", "φ": "Φ", "χ": "X", "ψ": "Ψ",
    "ω": "Ω", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
# fmt: on

LETTERS: dict[str, str] = {
    **_LATIN,
    **_CYRILLIC_LOWER,
    **{k.upper(): v.capitalize() for k, v in _CYRILLIC_LOWER.items()},
    **_GREEK,
}
"""Letters to their closest GSM-7 form, beyond what stripping accents gives (module doc)."""


def _letter(c: str, keep: Callable[[str], bool]) -> str | None:
    """The closest form of letter ``c`` that ``keep`` accepts, or None.

    Accents come off one at a time from the last, so ``ǜ`` becomes ``ü`` where that is kept
    and ``u`` where it is not; what remains may still need :data:`LETTERS` (``ά`` → ``α`` →
    ``A``). Last, the compatibility decomposition without marks (``ǆ`` → ``dz``).
    """
    decomposed = unicodedata.normalize("NFD", c)
    forms = [c]
    while len(decomposed) > 1 and unicodedata.combining(decomposed[-1]):
        decomposed = decomposed[:-1]
        forms.append(unicodedata.normalize("NFC", decomposed))
    for form in forms:
        if form != c and all(map(keep, form)):
            return form
        sub = LETTERS.get(form)
        if sub is not None and all(map(keep, sub)):
            return sub
    # compatibility forms: ligatures and digraphs (ǆ → dž → dz), letters with hooks
    compatible = unicodedata.normalize("NFKD", c)
    compatible = "".join(x for x in compatible if not unicodedata.combining(x))
    if compatible != c and compatible and all(map(keep, compatible)):
        return compatible
    return None


def transliterate(
    text: str, *, keep: Callable[[str], bool], letters: bool = False
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Replace the characters of ``text`` that ``keep`` rejects by their closest kept form:
    :data:`LOOKALIKES` always, letters only with ``letters``.

    Returns the new text and the (original, replacement) pairs applied, each once, in order of
    first occurrence. Characters without a kept form stay as they are.
    """
    out: list[str] = []
    replaced: dict[str, str] = {}
    for c in text:
        sub: str | None = None
        if not keep(c):
            sub = LOOKALIKES.get(c)
            if sub is not None and not all(map(keep, sub)):
                sub = None
            if sub is None and letters:
                sub = _letter(c, keep)
        if sub is None:
            out.append(c)
        else:
            out.append(sub)
            replaced.setdefault(c, sub)
    return "".join(out), tuple(replaced.items())
