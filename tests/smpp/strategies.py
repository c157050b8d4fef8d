"""Hypothesis strategies built from the spec tables, so every PDU and TLV is covered."""

from __future__ import annotations

from hypothesis import strategies as st

from smsrelay.smpp.constants import RESPONSE_BIT
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.specs import (
    BODIES,
    CSTR,
    DEST_LIST,
    EMPTY,
    INT,
    LEN8,
    OCTETS,
    TIME,
    TLVS,
    U8,
    U16,
    U32,
    UNSUCCESS_LIST,
    DistributionList,
    Field,
    SmeAddress,
    TlvSpec,
    UnsuccessSme,
)

_LATIN1_NO_NUL = st.characters(min_codepoint=1, max_codepoint=255)


def cstr(max_len_with_nul: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=_LATIN1_NO_NUL, max_size=max_len_with_nul - 1)


_TIME = st.one_of(st.just(""), st.text(alphabet=_LATIN1_NO_NUL, min_size=16, max_size=16))
_DEST = st.one_of(
    st.builds(SmeAddress, st.integers(0, 255), st.integers(0, 255), cstr(21)),
    st.builds(DistributionList, cstr(21)),
)
_UNSUCCESS = st.builds(
    UnsuccessSme, st.integers(0, 255), st.integers(0, 255), cstr(21), st.integers(0, 2**32 - 1)
)


def field_value(f: Field) -> st.SearchStrategy[object]:
    if f.kind == U8:
        return st.integers(0, 255)
    if f.kind == U16:
        return st.integers(0, 2**16 - 1)
    if f.kind == U32:
        return st.integers(0, 2**32 - 1)
    if f.kind == CSTR:
        assert isinstance(f.size, int)
        return cstr(f.size)
    if f.kind == TIME:
        return _TIME
    if f.kind == OCTETS:
        return st.binary(max_size=254)
    if f.kind == DEST_LIST:
        return st.lists(_DEST, max_size=6)
    if f.kind == UNSUCCESS_LIST:
        return st.lists(_UNSUCCESS, max_size=6)
    raise AssertionError(f.kind)


def fields_for(command_id: int) -> st.SearchStrategy[dict[str, object]]:
    body = [f for f in BODIES[command_id] if f.kind != LEN8]
    return st.fixed_dictionaries({f.name: field_value(f) for f in body})


def tlv_value(spec: TlvSpec) -> st.SearchStrategy[object]:
    if spec.kind == INT:
        return st.integers(0, 2 ** (8 * spec.max_len) - 1)
    if spec.kind == CSTR:
        return cstr(spec.max_len)
    if spec.kind == EMPTY:
        return st.just(b"")
    return st.binary(min_size=spec.min_len, max_size=min(spec.max_len, 300))


_KNOWN_TLV = st.sampled_from(sorted(TLVS.values())).flatmap(
    lambda spec: st.tuples(st.just(spec.name), tlv_value(spec))
)
_UNKNOWN_TLV = st.tuples(
    st.integers(0, 0xFFFF).filter(lambda tag: tag not in TLVS), st.binary(max_size=40)
)


def tlv_dicts() -> st.SearchStrategy[dict[str | int, object]]:
    return st.lists(st.one_of(_KNOWN_TLV, _UNKNOWN_TLV), max_size=5).map(dict)


def pdus(command_id: int) -> st.SearchStrategy[Pdu]:
    """A complete PDU of ``command_id`` with any valid fields and TLVs."""
    status = st.integers(0, 2**32 - 1) if command_id & RESPONSE_BIT else st.just(0)
    return st.builds(
        Pdu,
        st.just(command_id),
        status,
        st.integers(1, 0x7FFFFFFF),
        fields_for(command_id),
        tlv_dicts(),
    )


all_pdus = st.sampled_from(sorted(BODIES)).flatmap(pdus)
