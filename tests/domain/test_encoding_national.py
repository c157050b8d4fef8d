"""National language shift tables, transliteration and the encoding choice (domain only)."""

from __future__ import annotations

import functools
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.encoding import (
    DEFAULT_ALPHABET,
    ESC,
    GSM_BASIC,
    IEI_LOCKING_SHIFT,
    IEI_SINGLE_SHIFT,
    Alphabet,
    InformationElement,
    build_udh,
    concat_udh,
    decode_gsm7,
    encode_gsm7,
    encode_ucs2,
    is_gsm7,
    parse_udh,
    segment_limits,
    split_segments,
)
from smsrelay.domain.encoding_choice import (
    EncodingMode,
    TextInfo,
    choose,
    national_alphabet,
    national_alphabets,
)
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES, UNDEFINED
from smsrelay.domain.messages import Encoding
from smsrelay.domain.transliterate import LOOKALIKES, transliterate

ALPHABETS = [DEFAULT_ALPHABET] + [
    a for code in NATIONAL_LANGUAGES for a in national_alphabets(code)
]


def table_chars(alphabet: Alphabet) -> list[str]:
    """Every character the alphabet writes (base table, then extension table)."""
    lang = NATIONAL_LANGUAGES
    base = GSM_BASIC if alphabet.locking is None else lang[alphabet.locking].locking
    assert base is not None
    chars = [c for i, c in enumerate(base) if i != ESC and c != UNDEFINED]
    if alphabet.single is None:
        chars += list("\f^{}\\[~]|€")
    else:
        chars += list(lang[alphabet.single].single_shift.values())
    return chars


# --- the tables ------------------------------------------------------------------------------


def test_thirteen_languages_with_their_identifiers() -> None:
    assert {code: lang.id for code, lang in NATIONAL_LANGUAGES.items()} == {
        "tr": 1,
        "es": 2,
        "pt": 3,
        "bn": 4,
        "gu": 5,
        "hi": 6,
        "kn": 7,
        "ml": 8,
        "or": 9,
        "pa": 10,
        "ta": 11,
        "te": 12,
        "ur": 13,
    }
    for code, lang in NATIONAL_LANGUAGES.items():
        assert lang.code == code
        assert (lang.locking is None) == (code == "es")  # Spanish: single shift only
        if lang.locking is not None:
            assert len(lang.locking) == 128 and lang.locking[ESC] == "\x1b"
        assert ESC not in lang.single_shift


def test_spot_checks_against_ts_23_038() -> None:
    tr, pt, es = (NATIONAL_LANGUAGES[c] for c in ("tr", "pt", "es"))
    assert tr.locking is not None and pt.locking is not None
    assert (tr.locking[0x04], tr.locking[0x07], tr.locking[0x40], tr.locking[0x60]) == tuple("€ıİç")
    assert (tr.single_shift[0x47], tr.single_shift[0x53], tr.single_shift[0x69]) == tuple("ĞŞı")
    assert (es.single_shift[0x09], es.single_shift[0x41], es.single_shift[0x75]) == tuple("çÁú")
    assert (pt.locking[0x04], pt.locking[0x5B], pt.locking[0x7B]) == tuple("êÃã")
    # the corrections the module docstring names
    assert NATIONAL_LANGUAGES["hi"].locking[0x2C] == ","  # type: ignore[index]
    assert NATIONAL_LANGUAGES["kn"].locking[0x24] == "\u0ca1"  # type: ignore[index]


def test_shift_information_elements() -> None:
    assert Alphabet().elements == ()
    both = Alphabet(locking="tr", single="tr").elements
    assert [(ie.iei, ie.data) for ie in both] == [
        (IEI_LOCKING_SHIFT, b"\x01"),
        (IEI_SINGLE_SHIFT, b"\x01"),
    ]
    assert [(ie.iei, ie.data) for ie in Alphabet(single="ur").elements] == [(0x24, b"\x0d")]
    with pytest.raises(ValueError):
        Alphabet(locking="es")  # no Spanish locking shift table
    with pytest.raises(ValueError):
        Alphabet(single="xx")


def test_a_parsed_udh_names_its_alphabet() -> None:
    for alphabet in ALPHABETS:
        udh, _ = parse_udh(concat_udh(1, 2, 1, extra=alphabet.elements))
        assert udh is not None and udh.alphabet == alphabet
    # the last IE of each kind counts; Spanish has no locking table; 99 is no language
    udh, _ = parse_udh(
        build_udh(
            [
                InformationElement(IEI_SINGLE_SHIFT, b"\x02"),
                InformationElement(IEI_SINGLE_SHIFT, b"\x03"),
                InformationElement(IEI_LOCKING_SHIFT, b"\x02"),
                InformationElement(IEI_LOCKING_SHIFT, b"\x63"),
            ]
        )
    )
    assert udh is not None and udh.alphabet == Alphabet(single="pt")


def test_segment_limits_leave_room_for_the_udh() -> None:
    # 140 octets minus the UDH (UDHL + IEs), in whole septets after the fill bits
    assert segment_limits(Encoding.GSM7) == (160, 153)
    assert segment_limits(Encoding.GSM7, Alphabet(single="tr")) == (155, 149)
    assert segment_limits(Encoding.GSM7, Alphabet(locking="tr")) == (155, 149)
    assert segment_limits(Encoding.GSM7, Alphabet("tr", "tr")) == (152, 146)
    assert segment_limits(Encoding.UCS2, Alphabet("tr", "tr")) == (70, 67)
    tr = Alphabet(single="tr")
    assert split_segments("a" * 155, Encoding.GSM7, tr) == ["a" * 155]
    assert split_segments("a" * 156, Encoding.GSM7, tr) == ["a" * 149, "a" * 7]


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet", ALPHABETS, ids=lambda a: f"{a.locking}-{a.single}")
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_encode_then_decode_gives_the_text_back(alphabet: Alphabet, data: st.DataObject) -> None:
    text = data.draw(st.text(alphabet=st.sampled_from(table_chars(alphabet)), max_size=300))
    septets = encode_gsm7(text, alphabet)
    assert max(septets, default=0) <= 0x7F
    assert decode_gsm7(septets, alphabet) == text
    parts = split_segments(text, Encoding.GSM7, alphabet)
    assert "".join(parts) == text
    single, multi = segment_limits(Encoding.GSM7, alphabet)
    limit = single if len(parts) == 1 else multi
    assert all(len(encode_gsm7(p, alphabet)) <= limit for p in parts)


def test_decoding_is_tolerant() -> None:
    bn = Alphabet(locking="bn")
    assert decode_gsm7(bytes([0x0C]), bn) == "\ufffd"  # undefined in the Bengali table
    assert decode_gsm7(bytes([ESC, 0x7E]), Alphabet(single="tr")) == "ü"  # base fallback
    assert decode_gsm7(bytes([0x80]), bn) == "\ufffd"


# --- transliteration -------------------------------------------------------------------------

LETTERS = [
    chr(o)
    for lo, hi in [(0xC0, 0x17F), (0x386, 0x3CE), (0x400, 0x45F)]
    for o in range(lo, hi + 1)
    if unicodedata.category(chr(o)).startswith("L")
]


@given(
    st.text(alphabet=st.sampled_from(LETTERS) | st.sampled_from(list(LOOKALIKES)) | st.just(" "))
)
def test_transliterated_letters_are_gsm7(text: str) -> None:
    out, pairs = transliterate(text, keep=is_gsm7, letters=True)
    assert is_gsm7(out)
    for original, replacement in pairs:
        assert not is_gsm7(original) and is_gsm7(replacement)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Olá, ação! ê ô õ í ú â", "Ola, acao! e o o i u a"),
        ("ñ É ß ü Ç", "ñ É ß ü Ç"),  # GSM-7 already
        ("Łódź straße", "Lodz straße"),
        ("Œuvre, ǆ", "OEuvre, dz"),
        ("Щука, Жанна, Юля", "Shchuka, Zhanna, Iulia"),
        ("Καλημέρα", "KAΛHMEPA"),
    ],
)
def test_transliteration_known_answers(text: str, expected: str) -> None:
    assert transliterate(text, keep=is_gsm7, letters=True)[0] == expected


def test_transliteration_keeps_what_the_target_alphabet_has() -> None:
    pt = Alphabet(locking="pt", single="pt")
    out, pairs = transliterate("ação œ", keep=lambda c: is_gsm7(c, pt), letters=True)
    assert (out, pairs) == ("ação oe", (("œ", "oe"),))
    # look-alikes only, unless letters are allowed
    assert transliterate("“á”", keep=is_gsm7) == ('"á"', (("“", '"'), ("”", '"')))


# --- the choice ------------------------------------------------------------------------------


def test_ola_acao_is_one_gsm7_segment_with_transliteration_and_ucs2_without() -> None:
    on = choose("Olá, ação!", letters=True)
    assert (on.encoding, on.segments, on.text) == (Encoding.GSM7, 1, "Ola, acao!")
    assert on.replaced == (("á", "a"), ("ç", "c"), ("ã", "a"))
    off = choose("Olá, ação!")
    assert (off.encoding, off.segments, off.text, off.replaced) == (
        Encoding.UCS2,
        1,
        "Olá, ação!",
        (),
    )
    asked = choose("Olá, ação!", mode=EncodingMode.TRANSLITERATE)  # the request asks
    assert (asked.encoding, asked.text) == (Encoding.GSM7, "Ola, acao!")


def test_turkish_fits_gsm7_with_the_turkish_shift_tables() -> None:
    text = "Şişli'de ığdır"
    info = choose(text, language="tr")
    assert (info.encoding, info.segments, info.language, info.text) == (
        Encoding.GSM7,
        1,
        "tr",
        text,
    )
    assert info.alphabet == Alphabet(single="tr")  # one IE is enough
    assert decode_gsm7(encode_gsm7(text, info.alphabet), info.alphabet) == text
    assert choose(text).encoding is Encoding.UCS2
    # ş is in both Turkish tables: the locking table writes it in one septet, the single
    # shift table in two (ESC + code), so a long text takes the locking table
    long = choose("ş" * 150, language="tr")
    assert long.alphabet == Alphabet(locking="tr") and long.segments == 1


def test_the_text_unchanged_wins_a_tie() -> None:
    # Portuguese with its tables or transliterated: one segment either way
    info = choose("Olá, ação!", language="pt", letters=True)
    assert (info.language, info.text, info.replaced) == ("pt", "Olá, ação!", ())


def test_modes() -> None:
    assert choose("hello", mode=EncodingMode.UCS2).encoding is Encoding.UCS2
    assert choose("“hi”", mode=EncodingMode.GSM7).text == '"hi"'  # look-alikes still replaced
    for mode in (EncodingMode.GSM7, EncodingMode.TRANSLITERATE):
        with pytest.raises(SmsError) as refused:
            choose("ok 😀", mode=mode)
        assert refused.value.code is ErrorCode.INVALID_ENCODING
        assert refused.value.field == "encoding"
        assert "😀" in str(refused.value)
    with pytest.raises(SmsError) as refused:
        choose("Olá", mode=EncodingMode.GSM7)  # letters need transliterate
    assert refused.value.code is ErrorCode.INVALID_ENCODING
    assert choose("Olá", mode=EncodingMode.GSM7, language="pt").language == "pt"


def test_too_long_is_judged_on_the_cheapest_way() -> None:
    text = "á" * 300  # UCS-2: 5 segments; transliterated: 2
    with pytest.raises(SmsError) as refused:
        choose(text, max_segments=2)
    assert refused.value.code is ErrorCode.MESSAGE_TOO_LONG
    assert choose(text, letters=True, max_segments=2).segments == 2


def test_national_alphabet_finds_again_what_choose_counted() -> None:
    for text, language in [("Şişli'de ığdır", "tr"), ("ş" * 150, "tr"), ("Olá", "es")]:
        info = choose(text, language=language)
        assert national_alphabet(info.text, language) == info.alphabet
    assert national_alphabet("😀", "tr") is None


# --- the segment count is minimal: brute force over every allowed way --------------------------


def _segments(text: str, encoding: Encoding, alphabet: Alphabet) -> int:
    """Counted independently of encoding.py's splitter: per-character costs, greedy packing,
    limits from the UDH octets."""
    if encoding is Encoding.UCS2:
        costs = [len(encode_ucs2(c)) // 2 for c in text]
        single, multi = 70, 67
    else:
        costs = [len(encode_gsm7(c, alphabet)) for c in text]
        shift = 3 * len(alphabet.elements)
        single = 160 if not shift else (1120 - 8 * (1 + shift)) // 7
        multi = (1120 - 8 * (6 + shift)) // 7
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for c in costs:
        if used + c > multi:
            segments, used = segments + 1, 0
        used += c
    return segments


def _brute_force(text: str, language: str | None, letters: bool) -> int:
    alphabets = [DEFAULT_ALPHABET] + (list(national_alphabets(language)) if language else [])
    options = [_segments(text, Encoding.UCS2, DEFAULT_ALPHABET)]
    for alphabet in alphabets:
        for level in ("none", "lookalikes", "letters")[: 3 if letters else 2]:
            written = text
            if level != "none":
                keep = functools.partial(is_gsm7, alphabet=alphabet)
                written = transliterate(text, keep=keep, letters=level == "letters")[0]
            if written.strip() and is_gsm7(written, alphabet):
                options.append(_segments(written, Encoding.GSM7, alphabet))
    return min(options)


MIXED = st.text(
    alphabet=st.sampled_from(list("abcdefghij €{}ıİşŞğĞçÇáãõêôñÉ“”…😀жЖω\u0915\u093e"))
    | st.sampled_from(list(LOOKALIKES)),
    min_size=1,
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(
    text=MIXED,
    language=st.sampled_from([None, "tr", "es", "pt", "hi"]),
    letters=st.booleans(),
)
def test_the_segment_count_is_minimal(text: str, language: str | None, letters: bool) -> None:
    if not text.strip():
        return
    info = choose(text, language=language, letters=letters, max_segments=1000)
    assert info.segments == _brute_force(text, language, letters)
    _check_consistent(info, text, letters)


def _check_consistent(info: TextInfo, text: str, letters: bool) -> None:
    """What choose answers is what goes on the wire: the text decodes back, its parts are
    the segments counted, and a changed text is the transliteration of the input."""
    if info.encoding is Encoding.GSM7:
        assert decode_gsm7(encode_gsm7(info.text, info.alphabet), info.alphabet) == info.text
    parts = split_segments(info.text, info.encoding, info.alphabet)
    assert len(parts) == info.segments
    if info.replaced:
        keep = functools.partial(is_gsm7, alphabet=info.alphabet)
        assert info.text == transliterate(text, keep=keep, letters=letters)[0]
    else:
        assert info.text == text
