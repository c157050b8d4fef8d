"""GSM 03.38 / UCS-2 text: choosing the encoding, counting and splitting segments, codecs, UDH.

The accept pipeline calls :func:`analyze` to price a message (segments) and to tell the client
which encoding it will travel in; connectors call :func:`split_segments`, the codecs and
:func:`concat_udh` to build what goes on the wire; inbound code calls the decoders and
:func:`parse_udh` on what carriers send, which is why every decoder is tolerant and never raises.

Limits (3GPP TS 23.040 §9.2.3.24.1, TS 23.038 §6.2.1):

    encoding  unit                 one segment   per segment when concatenated
    gsm7      septet               160           153  (6-octet UDH = 48 bits + 1 fill bit)
    ucs2      UTF-16 code unit      70            67  (6-octet UDH = 3 units)

A GSM extension character (``€ [ ] { } \\ ^ ~ |`` and form feed) costs two septets (ESC +
code), a character outside the BMP costs two UTF-16 units, and neither pair is ever split
across segments, so counting follows the actual split rather than a ceiling division.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Encoding

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "TRANSLITERATIONS",
    "Concat",
    "InformationElement",
    "TextInfo",
    "Udh",
    "analyze",
    "build_udh",
    "concat_udh",
    "decode_gsm7",
    "decode_ucs2",
    "encode_gsm7",
    "encode_ucs2",
    "is_gsm7",
    "pack_septets",
    "parse_udh",
    "split_segments",
    "transliterate",
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

_ENCODE: dict[str, bytes] = {c: bytes([i]) for i, c in enumerate(GSM_BASIC) if i != ESC}
_ENCODE.update({c: bytes([ESC, code]) for c, code in GSM_EXTENSION.items()})
_EXT_DECODE: dict[int, str] = {code: c for c, code in GSM_EXTENSION.items()}
# The same table for C-speed checks and encoding of whole strings (every message is checked
# when accepted and encoded when submitted): the alphabet as a set, and each character's
# septets as a str of code points < 128, so that ``translate`` then ``encode("latin-1")``
# gives the bytes.
_GSM_CHARS = frozenset(_ENCODE)
_TO_SEPTETS = str.maketrans({c: code.decode("latin-1") for c, code in _ENCODE.items()})

_LIMITS: dict[Encoding, tuple[int, int]] = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}
"""(units in a single segment, units per segment of a concatenated message)."""

# fmt: off
TRANSLITERATIONS: dict[str, str] = {
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
"""Look-alikes that word processors and phones insert, mapped to GSM text (smart encoding).

Every key is outside the GSM alphabet and every value inside it; one curly quote would otherwise
turn a 160-character message into three UCS-2 segments.
"""
# fmt: on

# ---------------------------------------------------------------------------------------------
# Encoding choice and segmentation


@dataclass(frozen=True, slots=True)
class TextInfo:
    """What :func:`analyze` found.

    ``units`` counts septets (GSM-7) or UTF-16 code units (UCS-2); ``per_segment`` is the
    limit that applied (160/70 for one segment, 153/67 when concatenated); ``replaced`` lists
    the (original, replacement) pairs smart encoding applied, once each in order of first use;
    ``text`` is the text to send: the input, or its transliteration when ``replaced`` is not
    empty.
    """

    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    replaced: tuple[tuple[str, str], ...]
    text: str


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM default or extension table."""
    return _GSM_CHARS.issuperset(text)


def _units(text: str, encoding: Encoding) -> int:
    """Septets (GSM-7, extension characters two) or UTF-16 code units (UCS-2) of ``text``;
    the per-character costs of :func:`_cost`, summed in C."""
    if encoding is Encoding.GSM7:
        return len(text.translate(_TO_SEPTETS))
    return len(text.encode("utf-16-be", "surrogatepass")) // 2


def _cost(encoding: Encoding) -> Callable[[str], int]:
    if encoding is Encoding.GSM7:
        return lambda c: len(_ENCODE[c])
    return lambda c: 2 if ord(c) > 0xFFFF else 1


def transliterate(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Replace the :data:`TRANSLITERATIONS` look-alikes in ``text``.

    Returns the new text and the (original, replacement) pairs applied, each once, in order of
    first occurrence. Characters without an entry are kept as they are.
    """
    out: list[str] = []
    replaced: dict[str, str] = {}
    for c in text:
        sub = TRANSLITERATIONS.get(c)
        if sub is None:
            out.append(c)
        else:
            out.append(sub)
            replaced.setdefault(c, sub)
    return "".join(out), tuple(replaced.items())


def split_segments(text: str, encoding: Encoding) -> list[str]:
    """The text of each segment ``text`` is sent as; ``[]`` for the empty text.

    One segment when it fits 160 septets / 70 units, else greedy segments of at most 153 / 67
    that never split an escape pair or a surrogate pair. Joining the result gives ``text``.
    Raises ``ValueError`` when ``encoding`` is GSM-7 and ``text`` is not (see :func:`is_gsm7`).
    """
    if encoding is Encoding.GSM7 and not is_gsm7(text):
        raise ValueError("text has characters outside the GSM 03.38 alphabet")
    if not text:
        return []
    cost = _cost(encoding)
    single, multi = _LIMITS[encoding]
    costs = [cost(c) for c in text]
    if sum(costs) <= single:
        return [text]
    segments: list[str] = []
    start = used = 0
    for i, c in enumerate(costs):
        if used + c > multi:
            segments.append(text[start:i])
            start, used = i, 0
        used += c
    segments.append(text[start:])
    return segments


def analyze(text: str, *, max_segments: int = 10, smart: bool = False) -> TextInfo:
    """Choose the encoding of ``text`` and count its units and segments.

    GSM-7 when every character is in the GSM tables, else UCS-2. With ``smart``, a text that is
    not GSM-7 is transliterated (:func:`transliterate`) and the result is used only if it is
    GSM-7 and not empty: replacing a curly quote in a message that stays UCS-2 would change the
    text for nothing (and ``…`` → ``...`` would even cost two more units).

    Raises ``SmsError(EMPTY_MESSAGE)`` for a text that is empty or only whitespace (it would be
    billed and delivered as nothing) and ``SmsError(MESSAGE_TOO_LONG)`` when it needs more than
    ``max_segments`` segments; both on field ``message``.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if not text.strip():
        raise SmsError(ErrorCode.EMPTY_MESSAGE, field="message")
    replaced: tuple[tuple[str, str], ...] = ()
    if smart and not is_gsm7(text):
        candidate, pairs = transliterate(text)
        if candidate.strip() and is_gsm7(candidate):
            text, replaced = candidate, pairs
    encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    units = _units(text, encoding)
    single, multi = _LIMITS[encoding]
    segments = 1 if units <= single else len(split_segments(text, encoding))
    if segments > max_segments:
        raise SmsError(
            ErrorCode.MESSAGE_TOO_LONG,
            f"the message needs {segments} {encoding} segments ({units} units); "
            f"the maximum is {max_segments}",
            field="message",
        )
    return TextInfo(encoding, units, segments, single if segments == 1 else multi, replaced, text)


# ---------------------------------------------------------------------------------------------
# Codecs


def encode_gsm7(text: str) -> bytes:
    """One septet per byte (unpacked, as SMPP's short_message carries it), extension characters
    as ESC + code. Raises ``ValueError`` naming the first character outside the alphabet."""
    if not _GSM_CHARS.issuperset(text):
        position, char = next((i, c) for i, c in enumerate(text) if c not in _ENCODE)
        raise ValueError(f"{char!r} at position {position} is not in the GSM 03.38 alphabet")
    return text.translate(_TO_SEPTETS).encode("latin-1")


def decode_gsm7(data: bytes) -> str:
    """Unpacked septets to text; never raises, whatever a carrier sends.

    ESC + an unknown code gives the default-table character of that code (TS 23.038 §6.2.1.1);
    ESC + ESC and a trailing ESC give a space (the reserved second extension); a byte with its
    high bit set, which no septet has, gives U+FFFD.
    """
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        i += 1
        if b > 0x7F:
            out.append("\ufffd")
        elif b != ESC:
            out.append(GSM_BASIC[b])
        elif i >= n or data[i] == ESC:
            out.append(" ")
            i += 1
        else:
            code = data[i]
            i += 1
            out.append(_EXT_DECODE.get(code) or (GSM_BASIC[code] if code <= 0x7F else "\ufffd"))
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


def concat_udh(ref: int, total: int, seq: int, *, ref16: bool = False) -> bytes:
    """The concatenation header for part ``seq`` of ``total``: ``05 00 03 ref total seq``, or
    with ``ref16`` ``06 08 04 refhi reflo total seq``. Raises ``ValueError`` out of range."""
    if not (0 <= ref <= (0xFFFF if ref16 else 0xFF) and 1 <= seq <= total <= 0xFF):
        raise ValueError(f"bad concatenation ref={ref} total={total} seq={seq}")
    if ref16:
        ie = InformationElement(IEI_CONCAT_16, ref.to_bytes(2, "big") + bytes([total, seq]))
    else:
        ie = InformationElement(IEI_CONCAT_8, bytes([ref, total, seq]))
    return build_udh([ie])


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
