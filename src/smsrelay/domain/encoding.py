"""GSM 03.38 / UCS-2 text: the alphabets, counting and splitting segments, codecs, UDH.

Connectors call :func:`split_segments`, the codecs and :func:`concat_udh` to build what goes
on the wire; inbound code calls the decoders and :func:`parse_udh` on what carriers send,
which is why every decoder is tolerant and never raises. Which encoding a message travels in
is chosen by ``domain/encoding_choice.py`` from what this module counts.

A GSM-7 text is written with an :class:`Alphabet`: the default tables (TS 23.038 §6.2.1), or a
national language's locking shift table (the base table) and/or single shift table (the
extension table) from ``domain/gsm_national.py``, announced in every segment's UDH.

Limits (3GPP TS 23.040 §9.2.3.24.1, TS 23.038 §6.2.1): 140 octets of user data, of which a UDH
(UDHL + its IEs) takes its length and GSM-7 text the septets that fit after it:

    alphabet              one segment   per segment when concatenated (8-bit ref, 5 octets)
    gsm7 default          160           153  (UDH 6 octets = 48 bits + 1 fill bit)
    gsm7 one shift IE     155           149  (UDH 4 / 9 octets)
    gsm7 both shift IEs   152           146  (UDH 7 / 12 octets)
    ucs2                   70            67  (UTF-16 code units; UDH 6 octets = 3 units)

An escaped character (extension table: ``€ [ ] { } \\ ^ ~ |`` and form feed by default) costs
two septets (ESC + code), a character outside the BMP costs two UTF-16 units, and neither pair
is ever split across segments, so counting follows the actual split rather than a ceiling
division.

Over 400 lines because the default alphabet, its septet packing, the national tables' use
and the segment counting are one piece of arithmetic: each counts what the other writes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES, UNDEFINED
from smsrelay.domain.messages import Encoding

__all__ = [
    "DEFAULT_ALPHABET",
    "GSM_BASIC",
    "GSM_EXTENSION",
    "IEI_LOCKING_SHIFT",
    "IEI_SINGLE_SHIFT",
    "Alphabet",
    "Concat",
    "InformationElement",
    "Udh",
    "build_udh",
    "concat_udh",
    "decode_gsm7",
    "decode_ucs2",
    "encode_gsm7",
    "encode_ucs2",
    "is_gsm7",
    "pack_septets",
    "parse_udh",
    "segment_limits",
    "split_segments",
    "units",
    "unpack_septets",
]

# ---------------------------------------------------------------------------------------------
# Tables (3GPP TS 23.038 §6.2.1)

ESC = 0x1B

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10 (0x1B is ESC, not a character)
    " !\"#¤%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "¡ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50
    "¿abcdefghijklmno"  # 0x60
    "pqrstuvwxyzäöñüà"  # 0x70
)
"""The default alphabet: the character at index i is septet i."""

# fmt: off
GSM_EXTENSION: dict[str, int] = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}
"""The extension table: each character is sent as ESC followed by its code."""
# fmt: on

IEI_SINGLE_SHIFT = 0x24
IEI_LOCKING_SHIFT = 0x25
"""UDH information elements naming a national language (TS 23.040 §9.2.3.24.15-16)."""


@dataclass(frozen=True, slots=True)
class Alphabet:
    """The two GSM-7 tables a text is written with.

    ``locking``: the national language (``gsm_national`` code) whose locking shift table is
    the base table, or None for the default alphabet; ``single``: the one whose single shift
    table is the extension table, or None for the default extension table. Raises
    ``ValueError`` for an unknown language or one without a locking shift table.
    """

    locking: str | None = None
    single: str | None = None

    def __post_init__(self) -> None:
        for code in (self.locking, self.single):
            if code is not None and code not in NATIONAL_LANGUAGES:
                raise ValueError(f"unknown national language {code!r}")
        if self.locking is not None and NATIONAL_LANGUAGES[self.locking].locking is None:
            raise ValueError(f"{self.locking!r} has no locking shift table")

    @property
    def language(self) -> str | None:
        """The national language in use, if any."""
        return self.locking or self.single

    @property
    def elements(self) -> tuple[InformationElement, ...]:
        """The UDH IEs that announce these tables (none for the default alphabet)."""
        out = []
        if self.locking is not None:
            out.append(
                InformationElement(IEI_LOCKING_SHIFT, bytes([NATIONAL_LANGUAGES[self.locking].id]))
            )
        if self.single is not None:
            out.append(
                InformationElement(IEI_SINGLE_SHIFT, bytes([NATIONAL_LANGUAGES[self.single].id]))
            )
        return tuple(out)


DEFAULT_ALPHABET = Alphabet()


@dataclass(frozen=True, slots=True)
class _Tables:
    """One alphabet's codec tables, built once (:func:`_tables`).

    ``encode`` gives each character's septets (ESC + code for the extension table, the lower
    code where a table lists a character twice, the base table before the extension); the
    same as a set for C-speed checks and as a ``str.translate`` table whose output, encoded as
    latin-1, is the septets (every message is checked when accepted and encoded when
    submitted).
    """

    base: str
    extension: dict[int, str]
    encode: dict[str, bytes]
    chars: frozenset[str]
    to_septets: dict[int, str]


def _tables(alphabet: Alphabet) -> _Tables:
    """The alphabet's tables: the default ones without a cache lookup (every message)."""
    return _DEFAULT_TABLES if alphabet is DEFAULT_ALPHABET else _build_tables(alphabet)


@functools.cache
def _build_tables(alphabet: Alphabet) -> _Tables:
    if alphabet.locking is None:
        base = GSM_BASIC
    else:
        base = NATIONAL_LANGUAGES[alphabet.locking].locking or GSM_BASIC
    if alphabet.single is None:
        extension = {code: c for c, code in GSM_EXTENSION.items()}
    else:
        extension = dict(NATIONAL_LANGUAGES[alphabet.single].single_shift)
    encode: dict[str, bytes] = {}
    for code, c in sorted(extension.items(), reverse=True):
        encode[c] = bytes([ESC, code])
    for code in range(127, -1, -1):
        c = base[code]
        if code != ESC and c != UNDEFINED:
            encode[c] = bytes([code])
    translate = str.maketrans({c: septets.decode("latin-1") for c, septets in encode.items()})
    return _Tables(base, extension, encode, frozenset(encode), translate)


_DEFAULT_TABLES = _build_tables(DEFAULT_ALPHABET)


_LIMITS: dict[Encoding, tuple[int, int]] = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}
"""(units in a single segment, units per segment of a concatenated message), no shift IEs."""
_CONCAT_IE_OCTETS = 5  # IEI 0x00, length 3, ref, total, seq
_USER_DATA_BITS = 140 * 8


def segment_limits(encoding: Encoding, alphabet: Alphabet = DEFAULT_ALPHABET) -> tuple[int, int]:
    """(units in a message of one segment, units per segment of a concatenated message).

    A national shift IE takes 3 octets of every segment's UDH (and a one-segment message then
    needs a UDH of its own); what is left holds whole septets after the fill bits.
    """
    if encoding is Encoding.UCS2 or alphabet.language is None:
        return _LIMITS[encoding]
    shift_octets = 3 * len(alphabet.elements)

    def septets(udh_octets: int) -> int:
        return (_USER_DATA_BITS - 8 * udh_octets) // 7

    return septets(1 + shift_octets), septets(1 + _CONCAT_IE_OCTETS + shift_octets)


# ---------------------------------------------------------------------------------------------
# Counting and segmentation


def is_gsm7(text: str, alphabet: Alphabet = DEFAULT_ALPHABET) -> bool:
    """Whether every character of ``text`` is in the alphabet's base or extension table."""
    return _tables(alphabet).chars.issuperset(text)


def units(text: str, encoding: Encoding, alphabet: Alphabet = DEFAULT_ALPHABET) -> int:
    """Septets (GSM-7, escaped characters two) or UTF-16 code units (UCS-2) of ``text``, in C.
    For GSM-7 the text must be in the alphabet (see :func:`is_gsm7`)."""
    if encoding is Encoding.GSM7:
        return len(text.translate(_tables(alphabet).to_septets))
    return len(text.encode("utf-16-be", "surrogatepass")) // 2


def _cost(encoding: Encoding, alphabet: Alphabet) -> Callable[[str], int]:
    if encoding is Encoding.GSM7:
        encode = _tables(alphabet).encode
        return lambda c: len(encode[c])
    return lambda c: 2 if ord(c) > 0xFFFF else 1


def split_segments(
    text: str, encoding: Encoding, alphabet: Alphabet = DEFAULT_ALPHABET
) -> list[str]:
    """The text of each segment ``text`` is sent as; ``[]`` for the empty text.

    One segment when it fits (:func:`segment_limits`), else greedy segments of at most the
    concatenated limit that never split an escape pair or a surrogate pair. Joining the result
    gives ``text``. Raises ``ValueError`` when ``encoding`` is GSM-7 and ``text`` is not in
    ``alphabet`` (see :func:`is_gsm7`).
    """
    if encoding is Encoding.GSM7 and not is_gsm7(text, alphabet):
        raise ValueError("text has characters outside the GSM 03.38 alphabet")
    if not text:
        return []
    single, multi = segment_limits(encoding, alphabet)
    if units(text, encoding, alphabet) <= single:
        return [text]
    cost = _cost(encoding, alphabet)
    segments: list[str] = []
    start = used = 0
    for i, c in enumerate(text):
        n = cost(c)
        if used + n > multi:
            segments.append(text[start:i])
            start, used = i, 0
        used += n
    segments.append(text[start:])
    return segments


# ---------------------------------------------------------------------------------------------
# Codecs


def encode_gsm7(text: str, alphabet: Alphabet = DEFAULT_ALPHABET) -> bytes:
    """One septet per byte (unpacked, as SMPP's short_message carries it), extension characters
    as ESC + code. Raises ``ValueError`` naming the first character outside the alphabet."""
    tables = _tables(alphabet)
    if not tables.chars.issuperset(text):
        position, char = next((i, c) for i, c in enumerate(text) if c not in tables.encode)
        raise ValueError(f"{char!r} at position {position} is not in the GSM 03.38 alphabet")
    return text.translate(tables.to_septets).encode("latin-1")


def decode_gsm7(data: bytes, alphabet: Alphabet = DEFAULT_ALPHABET) -> str:
    """Unpacked septets to text; never raises, whatever a carrier sends.

    ESC + an unknown code gives the base-table character of that code (TS 23.038 §6.2.1.1);
    ESC + ESC and a trailing ESC give a space (the reserved second extension); a byte with its
    high bit set, which no septet has, and a code the table leaves undefined give U+FFFD.
    """
    tables = _tables(alphabet)
    base, extension = tables.base, tables.extension
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        i += 1
        if b > 0x7F:
            out.append("\ufffd")
        elif b != ESC:
            out.append(base[b])
        elif i >= n or data[i] == ESC:
            out.append(" ")
            i += 1
        else:
            code = data[i]
            i += 1
            out.append(extension.get(code) or (base[code] if code <= 0x7F else "\ufffd"))
    return "".join(out)


def _check_fill(fill_bits: int) -> None:
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack 7-bit values eight to seven octets, least significant bit first (TS 23.038 §6.1.2.1).

    ``fill_bits`` zero bits come first, so that after a UDH the text starts on a septet
    boundary (see :attr:`Udh.fill_bits`). Raises ``ValueError`` for a value above 0x7F.
    """
    _check_fill(fill_bits)
    if not septets:
        return b""
    if max(septets) > 0x7F:
        raise ValueError("a septet is at most 0x7F")
    value = 0
    for i, s in enumerate(septets):
        value |= s << (fill_bits + 7 * i)
    return value.to_bytes((fill_bits + 7 * len(septets) + 7) // 8, "little")


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Read ``count`` septets from packed ``data`` after ``fill_bits`` bits; never raises on
    short data: it returns the whole septets there are. The count must come from the caller
    (e.g. sm_length or TP-UDL): seven septets leave seven spare bits that would read as ``@``."""
    _check_fill(fill_bits)
    count = max(0, min(count, (len(data) * 8 - fill_bits) // 7))
    value = int.from_bytes(data, "little")
    return bytes((value >> (fill_bits + 7 * i)) & 0x7F for i in range(count))


def encode_ucs2(text: str) -> bytes:
    """UTF-16-BE, the form carriers accept as UCS-2 (data_coding 0x08); characters outside the
    BMP become surrogate pairs. A lone surrogate is passed through rather than raising."""
    return text.encode("utf-16-be", "surrogatepass")


def decode_ucs2(data: bytes) -> str:
    """UTF-16-BE to text; never raises: an odd trailing byte or a lone surrogate becomes
    U+FFFD, so a bad MO or receipt cannot take down the reader."""
    return data.decode("utf-16-be", "replace")


# ---------------------------------------------------------------------------------------------
# User data header (TS 23.040 §9.2.3.24)

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One IE of a UDH: its identifier and its data (length implied)."""

    iei: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Concat:
    """Concatenation info: reference shared by all parts, part count, 1-based part number."""

    ref: int
    total: int
    seq: int
    ref16: bool = False


@dataclass(frozen=True, slots=True)
class Udh:
    """A parsed user data header: every IE in order, known or not."""

    elements: tuple[InformationElement, ...]

    @property
    def concat(self) -> Concat | None:
        """The last well-formed concatenation IE (a repeated IE: the last one counts,
        §9.2.3.24), or None when there is none or it is nonsense (part 0, part > total)."""
        for ie in reversed(self.elements):
            ref16 = (ie.iei, len(ie.data)) == (IEI_CONCAT_16, 4)
            if not ref16 and (ie.iei, len(ie.data)) != (IEI_CONCAT_8, 3):
                continue
            ref = int.from_bytes(ie.data[:-2], "big")
            total, seq = ie.data[-2], ie.data[-1]
            return Concat(ref, total, seq, ref16) if 1 <= seq <= total else None
        return None

    @property
    def alphabet(self) -> Alphabet:
        """The GSM-7 tables the national shift IEs name (the last of each counts); the default
        tables for none, or for a language identifier TS 23.038 does not define."""
        codes = {lang.id: code for code, lang in NATIONAL_LANGUAGES.items()}
        locking = single = None
        for ie in self.elements:
            if len(ie.data) == 1 and ie.data[0] in codes:
                if ie.iei == IEI_LOCKING_SHIFT and NATIONAL_LANGUAGES[codes[ie.data[0]]].locking:
                    locking = codes[ie.data[0]]
                elif ie.iei == IEI_SINGLE_SHIFT:
                    single = codes[ie.data[0]]
        if locking is None and single is None:
            return DEFAULT_ALPHABET
        return Alphabet(locking, single)

    @property
    def length(self) -> int:
        """Octets the header takes, UDHL included."""
        return 1 + sum(2 + len(ie.data) for ie in self.elements)

    @property
    def fill_bits(self) -> int:
        """Bits of padding between the header and GSM-7 text so the text starts on a septet."""
        return (7 - self.length * 8 % 7) % 7


def build_udh(elements: Iterable[InformationElement]) -> bytes:
    """The header bytes, UDHL first. Raises ``ValueError`` when an IE or the whole header
    exceeds what a one-octet length can say."""
    body = bytearray()
    for ie in elements:
        if not 0 <= ie.iei <= 0xFF or len(ie.data) > 0xFF:
            raise ValueError(f"information element {ie.iei} does not fit a UDH")
        body += bytes([ie.iei, len(ie.data)]) + ie.data
    if len(body) > 0xFF:
        raise ValueError("the UDH is longer than 255 octets")
    return bytes([len(body)]) + bytes(body)


def concat_udh(
    ref: int,
    total: int,
    seq: int,
    *,
    ref16: bool = False,
    extra: Iterable[InformationElement] = (),
) -> bytes:
    """The concatenation header for part ``seq`` of ``total``: ``05 00 03 ref total seq``, or
    with ``ref16`` ``06 08 04 refhi reflo total seq``; ``extra`` IEs (e.g. an alphabet's
    national shift IEs) follow. Raises ``ValueError`` out of range."""
    if not (0 <= ref <= (0xFFFF if ref16 else 0xFF) and 1 <= seq <= total <= 0xFF):
        raise ValueError(f"bad concatenation ref={ref} total={total} seq={seq}")
    if ref16:
        ie = InformationElement(IEI_CONCAT_16, ref.to_bytes(2, "big") + bytes([total, seq]))
    else:
        ie = InformationElement(IEI_CONCAT_8, bytes([ref, total, seq]))
    return build_udh([ie, *extra])


def parse_udh(data: bytes) -> tuple[Udh | None, bytes]:
    """Split ``data`` (a short_message whose UDHI bit is set) into its header and the rest.

    Never raises: a header whose length or IEs run past their bounds gives ``(None, data)``,
    so the caller can still deliver the bytes as they came.
    """
    if not data or data[0] + 1 > len(data):
        return None, data
    end = 1 + data[0]
    elements: list[InformationElement] = []
    i = 1
    while i < end:
        if i + 2 > end or i + 2 + data[i + 1] > end:
            return None, data
        elements.append(InformationElement(data[i], bytes(data[i + 2 : i + 2 + data[i + 1]])))
        i += 2 + data[i + 1]
    return Udh(tuple(elements)), bytes(data[end:])
