from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.encoding import (
    GSM_BASIC,
    GSM_EXTENSION,
    InformationElement,
    build_udh,
    concat_udh,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_ucs2,
    is_gsm7,
    pack_septets,
    parse_udh,
    split_segments,
    unpack_septets,
)
from smsrelay.domain.encoding_choice import analyze
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import Encoding
from smsrelay.domain.transliterate import LOOKALIKES as TRANSLITERATIONS
from smsrelay.domain.transliterate import transliterate as _transliterate


def transliterate(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Look-alikes only, towards the default alphabet (the operator's smart encoding)."""
    return _transliterate(text, keep=is_gsm7)


GSM_CHARS = [c for c in GSM_BASIC if c != "\x1b"] + list(GSM_EXTENSION)
LIMITS = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}

gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700)
# GSM text with extension characters and astral characters mixed in, plus anything at all
mixed_text = st.text(
    alphabet=st.sampled_from(GSM_CHARS) | st.sampled_from("жé€😀𝄞{}") | st.characters(),
    max_size=400,
)


def units(segment: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return len(encode_gsm7(segment))
    return len(encode_ucs2(segment)) // 2


# --- tables -------------------------------------------------------------------------------


def test_default_table_spot_checks() -> None:
    assert len(GSM_BASIC) == 128
    assert len(set(GSM_BASIC)) == 128
    expected = {
        0x00: "@",
        0x01: "£",
        0x02: "$",
        0x03: "¥",
        0x04: "è",
        0x0A: "\n",
        0x0D: "\r",
        0x1B: "\x1b",
        0x20: " ",
        0x40: "¡",
        0x5B: "Ä",
        0x5C: "Ö",
        0x5D: "Ñ",
        0x5E: "Ü",
        0x5F: "§",
        0x60: "¿",
        0x7B: "ä",
        0x7C: "ö",
        0x7D: "ñ",
        0x7E: "ü",
        0x7F: "à",
    }
    for code, char in expected.items():
        assert GSM_BASIC[code] == char


def test_extension_table() -> None:
    assert GSM_EXTENSION == {
        "\f": 0x0A,
        "^": 0x14,
        "{": 0x28,
        "}": 0x29,
        "\\": 0x2F,
        "[": 0x3C,
        "~": 0x3D,
        "]": 0x3E,
        "|": 0x40,
        "€": 0x65,
    }
    assert encode_gsm7("€") == b"\x1b\x65"


def test_transliterations_map_non_gsm_to_gsm() -> None:
    for original, replacement in TRANSLITERATIONS.items():
        assert not is_gsm7(original), original
        assert is_gsm7(replacement), original


def test_escape_is_not_a_character() -> None:
    assert not is_gsm7("\x1b")
    assert analyze("a\x1b").encoding is Encoding.UCS2


# --- analyze: known answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments", "per_segment"),
    [
        ("a", Encoding.GSM7, 1, 1, 160),
        ("a" * 160, Encoding.GSM7, 160, 1, 160),
        ("a" * 161, Encoding.GSM7, 161, 2, 153),
        ("a" * 306, Encoding.GSM7, 306, 2, 153),
        ("a" * 307, Encoding.GSM7, 307, 3, 153),
        ("€" * 80, Encoding.GSM7, 160, 1, 160),
        ("€" * 81, Encoding.GSM7, 162, 2, 153),
        ("é" * 160, Encoding.GSM7, 160, 1, 160),
        ("ж" * 70, Encoding.UCS2, 70, 1, 70),
        ("ж" * 71, Encoding.UCS2, 71, 2, 67),
        ("😀" * 35, Encoding.UCS2, 70, 1, 70),
        ("😀" * 36, Encoding.UCS2, 72, 2, 67),
        ("Your verification code is 1234", Encoding.GSM7, 30, 1, 160),
    ],
)
def test_analyze_known_answers(
    text: str, encoding: Encoding, units: int, segments: int, per_segment: int
) -> None:
    info = analyze(text)
    assert (info.encoding, info.units, info.segments, info.per_segment) == (
        encoding,
        units,
        segments,
        per_segment,
    )
    assert info.replaced == ()
    assert info.text == text


def test_escape_pair_is_not_split() -> None:
    # 152 plain septets then '€': a ceiling division would put ESC in segment 1 and 0x65 in 2
    text = "a" * 152 + "€" + "b" * 10
    parts = split_segments(text, Encoding.GSM7)
    assert parts == ["a" * 152, "€" + "b" * 10]
    assert analyze(text).segments == 2


def test_escape_pairs_can_need_an_extra_segment() -> None:
    # 153 * 2 = 306 septets, but pairs of 2 cannot fill a 153-septet segment exactly
    text = "€" * 153
    assert analyze(text).units == 306
    assert analyze(text).segments == 3
    assert [len(p) for p in split_segments(text, Encoding.GSM7)] == [76, 76, 1]


def test_surrogate_pair_is_not_split() -> None:
    # 71 units: concatenated; 66 + 2 would overflow the 67-unit segment, so 😀 moves on whole
    text = "ж" * 66 + "😀" + "ж" * 3
    assert split_segments(text, Encoding.UCS2) == ["ж" * 66, "😀жжж"]


def test_empty_message() -> None:
    for text in ("", "   ", "\n"):
        with pytest.raises(SmsError) as info:
            analyze(text)
        assert info.value.code is ErrorCode.EMPTY_MESSAGE
        assert info.value.field == "message"
    assert split_segments("", Encoding.GSM7) == []


def test_too_long_says_how_many_segments() -> None:
    with pytest.raises(SmsError) as info:
        analyze("a" * (153 * 10 + 1))
    assert info.value.code is ErrorCode.MESSAGE_TOO_LONG
    assert info.value.field == "message"
    assert "11" in info.value.detail and "10" in info.value.detail
    assert analyze("a" * 1530).segments == 10
    assert analyze("a" * 200, max_segments=2).segments == 2
    with pytest.raises(SmsError):
        analyze("a" * 161, max_segments=1)
    with pytest.raises(ValueError):
        analyze("a", max_segments=0)


def test_split_rejects_non_gsm_text_for_gsm7() -> None:
    with pytest.raises(ValueError):
        split_segments("ж", Encoding.GSM7)


# --- smart encoding -----------------------------------------------------------------------


def test_smart_turns_look_alikes_into_gsm() -> None:
    text = "“Hi” — it’s… ready\u00a0now"
    assert analyze(text).encoding is Encoding.UCS2
    info = analyze(text, smart=True)
    assert info.encoding is Encoding.GSM7
    assert info.text == '"Hi" - it\'s... ready now'
    assert info.units == len(info.text)
    assert info.replaced == (
        ("“", '"'),
        ("”", '"'),
        ("—", "-"),
        ("’", "'"),
        ("…", "..."),
        ("\u00a0", " "),
    )


def test_smart_keeps_text_that_stays_ucs2() -> None:
    text = "“Привет”"
    info = analyze(text, smart=True)
    assert info.encoding is Encoding.UCS2
    assert info.text == text
    assert info.replaced == ()


def test_smart_does_not_empty_a_message() -> None:
    info = analyze("\u200b", smart=True)
    assert info.encoding is Encoding.UCS2
    assert info.text == "\u200b"


def test_transliterate_records_each_pair_once() -> None:
    assert transliterate("‘a’ ‘b’") == ("'a' 'b'", (("‘", "'"), ("’", "'")))
    assert transliterate("plain") == ("plain", ())


# --- segmentation properties --------------------------------------------------------------


@given(mixed_text | gsm_text)
@settings(max_examples=300)
def test_segments_rejoin_fit_and_match_analyze(text: str) -> None:
    encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    parts = split_segments(text, encoding)
    assert "".join(parts) == text
    assert all(parts)
    single, multi = LIMITS[encoding]
    limit = single if len(parts) == 1 else multi
    assert all(units(p, encoding) <= limit for p in parts)
    # encoding the parts one by one gives the bytes of the whole: no pair was split
    encode = encode_gsm7 if encoding is Encoding.GSM7 else encode_ucs2
    assert b"".join(encode(p) for p in parts) == encode(text)
    if text.strip():
        info = analyze(text, max_segments=1000)
        assert info.encoding is encoding
        assert info.segments == len(parts)
        assert info.units == sum(units(p, encoding) for p in parts)
        assert info.per_segment == limit


@given(mixed_text)
@settings(max_examples=200)
def test_smart_result_is_consistent(text: str) -> None:
    if not text.strip():
        return
    info = analyze(text, smart=True, max_segments=1000)
    if info.replaced:
        assert info.encoding is Encoding.GSM7
        assert info.text == transliterate(text)[0]
    else:
        assert info.text == text
    assert info.segments == len(split_segments(info.text, info.encoding))


# --- codecs -------------------------------------------------------------------------------


def test_pack_known_answers() -> None:
    assert pack_septets(encode_gsm7("hello")).hex() == "e8329bfd06"
    assert pack_septets(encode_gsm7("hellohello")).hex() == "e8329bfd4697d9ec37"
    assert unpack_septets(bytes.fromhex("e8329bfd06"), 5) == b"hello"
    # after a 6-octet concatenation UDH the text starts one fill bit later
    assert pack_septets(b"\x41", fill_bits=1) == bytes([0x41 << 1])
    assert pack_septets(b"") == b""


@given(gsm_text)
def test_gsm7_round_trip(text: str) -> None:
    encoded = encode_gsm7(text)
    assert decode_gsm7(encoded) == text
    assert all(b <= 0x7F for b in encoded)


def test_encode_gsm7_names_the_bad_character() -> None:
    with pytest.raises(ValueError, match="position 2"):
        encode_gsm7("abж")


def test_decode_gsm7_is_tolerant() -> None:
    assert decode_gsm7(b"\x1b\x41") == "A"  # unknown escape: the base character
    assert decode_gsm7(b"a\x1b") == "a "  # trailing escape
    assert decode_gsm7(b"\x1b\x1bA") == " A"  # reserved second extension
    assert decode_gsm7(b"\x80") == "\ufffd"


@given(st.binary(max_size=300))
def test_decoders_never_raise(data: bytes) -> None:
    assert isinstance(decode_gsm7(data), str)
    assert isinstance(decode_ucs2(data), str)
    for fill in range(7):
        assert len(unpack_septets(data, 10_000, fill)) == max(0, (len(data) * 8 - fill) // 7)


@given(
    st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)),
    st.integers(min_value=0, max_value=6),
)
def test_pack_unpack_round_trip(septets: bytes, fill: int) -> None:
    packed = pack_septets(septets, fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8 if septets else packed == b""
    assert unpack_septets(packed, len(septets), fill) == septets
    if septets and fill:
        assert packed[0] & ((1 << fill) - 1) == 0  # fill bits are zero


def test_pack_rejects_octets_and_bad_fill() -> None:
    with pytest.raises(ValueError):
        pack_septets(b"\x80")
    with pytest.raises(ValueError):
        pack_septets(b"a", fill_bits=7)
    with pytest.raises(ValueError):
        unpack_septets(b"a", 1, fill_bits=-1)


@given(st.text(max_size=300))
def test_ucs2_round_trip(text: str) -> None:
    encoded = encode_ucs2(text)
    assert len(encoded) % 2 == 0
    assert decode_ucs2(encoded) == text


def test_ucs2_astral_and_broken_input() -> None:
    assert encode_ucs2("😀") == b"\xd8\x3d\xde\x00"
    assert decode_ucs2(b"\xd8\x3d\xde\x00") == "😀"
    assert decode_ucs2(b"\x00A\x00") == "A\ufffd"
    assert decode_ucs2(b"\xd8\x3d\x00A") == "\ufffdA"
    assert encode_ucs2("\ud800") == b"\xd8\x00"  # a lone surrogate does not raise


# --- UDH ----------------------------------------------------------------------------------


def test_concat_udh_bytes() -> None:
    assert concat_udh(0x42, 3, 1) == bytes.fromhex("050003420301")
    assert concat_udh(0x1234, 3, 2, ref16=True) == bytes.fromhex("06080412340302")
    for bad in ((256, 2, 1), (1, 2, 3), (1, 2, 0), (1, 0, 0), (-1, 1, 1)):
        with pytest.raises(ValueError):
            concat_udh(*bad)
    with pytest.raises(ValueError):
        concat_udh(0x10000, 2, 1, ref16=True)


def test_parse_concat_udh() -> None:
    udh, rest = parse_udh(concat_udh(0x42, 3, 2) + b"text")
    assert udh is not None and rest == b"text"
    assert udh.concat is not None
    assert (udh.concat.ref, udh.concat.total, udh.concat.seq, udh.concat.ref16) == (
        0x42,
        3,
        2,
        False,
    )
    assert (udh.length, udh.fill_bits) == (6, 1)
    udh16, _ = parse_udh(concat_udh(0xBEEF, 2, 2, ref16=True))
    assert udh16 is not None and udh16.concat is not None
    assert (udh16.concat.ref, udh16.concat.ref16, udh16.length, udh16.fill_bits) == (
        0xBEEF,
        True,
        7,
        0,
    )


def test_parse_udh_keeps_unknown_elements() -> None:
    # port addressing (0x05) before the concatenation IE
    data = bytes.fromhex("0b05040b840b840003aa0201") + b"x"
    udh, rest = parse_udh(data)
    assert udh is not None and rest == b"x"
    assert udh.elements == (
        InformationElement(0x05, bytes.fromhex("0b840b84")),
        InformationElement(0x00, bytes.fromhex("aa0201")),
    )
    assert udh.concat is not None and udh.concat.seq == 1


@pytest.mark.parametrize(
    "data",
    [b"", b"\x05\x00\x03\x01", b"\x03\x00\x03\x01\x02", b"\x01\x00", b"\xff" + b"a" * 10],
)
def test_malformed_udh_gives_none_and_the_data(data: bytes) -> None:
    assert parse_udh(data) == (None, data)


def test_nonsense_concat_is_not_reported() -> None:
    udh, _ = parse_udh(bytes.fromhex("050003010203"))  # part 3 of 2
    assert udh is not None and udh.concat is None
    udh, _ = parse_udh(bytes.fromhex("0400020102"))  # wrong IE length
    assert udh is not None and udh.concat is None


ie_strategy = st.builds(InformationElement, st.integers(0, 255), st.binary(max_size=20))


@given(st.lists(ie_strategy, max_size=8), st.binary(max_size=50))
def test_udh_round_trip(elements: list[InformationElement], rest: bytes) -> None:
    udh, tail = parse_udh(build_udh(elements) + rest)
    assert udh is not None
    assert udh.elements == tuple(elements)
    assert tail == rest
    assert udh.length == len(build_udh(elements))


@given(st.binary(max_size=300))
def test_parse_udh_never_raises_and_rebuilds_exactly(data: bytes) -> None:
    udh, rest = parse_udh(data)
    if udh is None:
        assert rest == data
    else:
        assert build_udh(udh.elements) + rest == data
        assert 0 <= udh.fill_bits <= 6
