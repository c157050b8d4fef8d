"""Encode and decode whole PDUs by walking the tables in :mod:`smsrelay.smpp.specs`.

There is exactly one encode walker and one decode walker; neither names a PDU. At import
time each command's field tuple is normalised into *ops* (runs of adjacent integers become
one precompiled ``struct.Struct``; a count field and the data it counts become one op), and
the two walkers turn each command's ops into a straight-line Python function, compiled once
with ``exec`` from source built solely out of ``specs.py`` (no peer data ever reaches it).
This is the hot path of every submit_sm and its response: the generated functions run about
three times faster than interpreting the ops per PDU (measured with ``bench/smpp_bench.py``:
~100k submit_sm encode+decode per second versus ~30k). To see the code for one command,
print ``_decoder_source(_compile(BODIES[cid]), {})``.

Strictness (§3.1, §4): a C-string longer than its maximum or without its NUL, a count that
runs past the body, an unknown TLV stream shape or a known TLV with a length outside its
bounds all raise :class:`~smsrelay.smpp.errors.PduDecodeError`, which keeps the frame's
command_id and sequence_number so the session can still answer with generic_nack or an
error response carrying the right sequence number.

Two tolerances, both seen on real carriers and both harmless:

- a *response* with an empty body decodes with no fields (§3.2: an error response may omit
  its body; some MCs also omit it on success), and an error response whose body does not
  decode is kept with its header only, since its status is what the caller needs;
- a C-string TLV without its terminating NUL is accepted as the whole value.

Encoding problems (a field too long, a number out of range, an unknown TLV name) raise
:class:`~smsrelay.smpp.errors.LocalProtocolError`: they are bugs in the caller.

Longer than 400 lines because it holds the one encode walker and the one decode walker over
the same tables, field kind by field kind: split, each kind's two halves would drift apart.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from .constants import RESPONSE_BIT, CommandStatus
from .errors import LocalProtocolError, PduDecodeError
from .pdu import Pdu, TlvValue
from .specs import (
    BODIES,
    CSTR,
    DEST_LIST,
    EMPTY,
    FIELD_STATUS,
    INT,
    LEN8,
    OCTETS,
    SHORT_MESSAGE_MAX,
    TIME,
    TLVS,
    TLVS_BY_NAME,
    U8,
    U16,
    U32,
    UNSUCCESS_LIST,
    DistributionList,
    Field,
    SmeAddress,
    UnsuccessSme,
)

__all__ = ["HEADER", "decode_pdu", "encode_pdu", "is_known_command"]

#: §3.2: command_length, command_id, command_status, sequence_number.
HEADER = struct.Struct(">IIII")
_TLV_HEADER = struct.Struct(">HH")
_U8_U8 = struct.Struct(">BB")
_UNSUCCESS_TAIL = struct.Struct(">I")

# op codes
_OP_INTS = 0  # (code, Struct, names)
_OP_CSTR = 1  # (code, name, max_len incl. NUL, status)
_OP_TIME = 2  # (code, name, max_len incl. NUL, status)
_OP_OCTETS = 3  # (code, name, max octets, status)
_OP_DESTS = 4  # (code, name, _, status)
_OP_UNSUCCESS = 5  # (code, name, _, status)

_INT_FORMAT = {U8: "B", U16: "H", U32: "I"}
_COUNTED_OP = {OCTETS: _OP_OCTETS, DEST_LIST: _OP_DESTS, UNSUCCESS_LIST: _OP_UNSUCCESS}

_Op = tuple[Any, ...]


class _Malformed(Exception):
    """Internal: a decode failure before the header is attached."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _compile(fields: Sequence[Field]) -> tuple[_Op, ...]:
    """Turn one spec tuple into ops; see the module docstring for why."""
    ops: list[_Op] = []
    ints: list[Field] = []

    def flush_ints() -> None:
        if ints:
            fmt = ">" + "".join(_INT_FORMAT[f.kind] for f in ints)
            ops.append((_OP_INTS, struct.Struct(fmt), tuple(f.name for f in ints)))
            ints.clear()

    skip_next = False
    for i, f in enumerate(fields):
        if skip_next:
            skip_next = False
            continue
        if f.kind in _INT_FORMAT:
            ints.append(f)
            continue
        flush_ints()
        status = FIELD_STATUS.get(f.name, CommandStatus.ESME_RINVPARLEN)
        if f.kind == CSTR:
            ops.append((_OP_CSTR, f.name, f.size, status))
        elif f.kind == TIME:
            ops.append((_OP_TIME, f.name, f.size, status))
        elif f.kind == LEN8:
            data = fields[i + 1]
            if data.name != f.size or data.size != f.name:
                raise ValueError(f"{f.name} must immediately precede {f.size}")
            status = FIELD_STATUS.get(data.name, CommandStatus.ESME_RINVPARLEN)
            ops.append((_COUNTED_OP[data.kind], data.name, SHORT_MESSAGE_MAX, status))
            skip_next = True
        else:
            raise ValueError(f"field {f.name}: kind {f.kind} has no count before it")
    flush_ints()
    return tuple(ops)


_Decoder = Callable[[bytes, int], tuple[dict[str, Any], int]]
_Encoder = Callable[[dict[str, Any], bytearray], None]


def _decoder_source(ops: tuple[_Op, ...], env: dict[str, object]) -> str:
    """The decode walker: one straight-line function per command, generated from its ops."""
    lines = ["def decode(frame, n):", "    out = {}", "    pos = 16", "    find = frame.find"]
    for i, op in enumerate(ops):
        code = op[0]
        if code in (_OP_CSTR, _OP_TIME):
            _, name, size, status = op
            lines += [
                f"    end = find(b'\\0', pos, pos + {size})",
                f"    if end < 0: raise _Malformed({name!r} + ': no NUL within {size} octets', "
                f"{status})",
            ]
            if code == _OP_TIME:  # §7.1.1: NULL or exactly 16 characters
                lines.append(
                    f"    if end != pos and end - pos != 16: raise _Malformed("
                    f"{name!r} + ': must be empty or 16 characters', {status})"
                )
            lines += [f"    out[{name!r}] = frame[pos:end].decode('latin-1')", "    pos = end + 1"]
        elif code == _OP_INTS:
            _, st, names = op
            env[f"_S{i}"] = st
            lines.append(
                f"    if pos + {st.size} > n: raise _Malformed('body ends inside "
                f"{names[0]}', {int(CommandStatus.ESME_RINVCMDLEN)})"
            )
            if len(names) == 1 and st.size == 1:
                lines.append(f"    out[{names[0]!r}] = frame[pos]")
            else:
                targets = ", ".join(f"out[{name!r}]" for name in names)
                lines.append(f"    {targets} = _S{i}.unpack_from(frame, pos)")
            lines.append(f"    pos += {st.size}")
        elif code == _OP_OCTETS:
            _, name, size, status = op
            lines += [
                f"    if pos >= n: raise _Malformed('body ends before {name}', "
                f"{int(CommandStatus.ESME_RINVCMDLEN)})",
                "    length = frame[pos]",
                "    end = pos + 1 + length",
                f"    if length > {size} or end > n: raise _Malformed("
                f"'{name}: length %d invalid' % length, {status})",
                f"    out[{name!r}] = frame[pos + 1:end]",
                "    pos = end",
            ]
        else:
            helper = "_decode_dests" if code == _OP_DESTS else "_decode_unsuccess"
            lines.append(f"    out[{op[1]!r}], pos = {helper}(frame, pos, n, {op[3]})")
    lines.append("    return out, pos")
    return "\n".join(lines)


def _encoder_source(ops: tuple[_Op, ...], env: dict[str, object]) -> str:
    """The encode walker: one straight-line function per command, generated from its ops."""
    lines = ["def encode(fields, out):", "    get = fields.get"]
    for i, op in enumerate(ops):
        code = op[0]
        if code == _OP_CSTR:
            _, name, size, status = op
            lines += [
                f"    v = get({name!r}, '')",
                f"    if v.__class__ is str and len(v) < {size} and '\\0' not in v:",
                "        out += v.encode('latin-1')",
                "    else:",
                f"        out += _cstr_bytes(v, {size}, {name!r}, {status})",
                "    out.append(0)",
            ]
        elif code == _OP_TIME:
            _, name, size, status = op
            lines += [
                f"    v = get({name!r}, '')",
                "    if v:",
                f"        v = _cstr_bytes(v, {size}, {name!r}, {status})",
                f"        if len(v) != 16: raise LocalProtocolError("
                f"{name!r} + ': must be empty or 16 characters', {status})",
                "        out += v",
                "    out.append(0)",
            ]
        elif code == _OP_INTS:
            _, st, names = op
            env[f"_S{i}"] = st
            if len(names) == 1 and st.size == 1:
                lines.append(f"    out.append(get({names[0]!r}, 0))")
            else:
                args = ", ".join(f"get({name!r}, 0)" for name in names)
                lines.append(f"    out += _S{i}.pack({args})")
        elif code == _OP_OCTETS:
            _, name, size, status = op
            lines += [
                f"    v = get({name!r}, b'')",
                f"    if not isinstance(v, (bytes, bytearray)) or len(v) > {size}:",
                f"        raise LocalProtocolError('{name}: bytes of at most {size} octets "
                f"needed (use the message_payload TLV for more)', {status})",
                "    out.append(len(v))",
                "    out += v",
            ]
        else:
            helper = "_encode_dests" if code == _OP_DESTS else "_encode_unsuccess"
            lines.append(f"    {helper}(get({op[1]!r}, []), out)")
    if len(lines) == 2:
        lines.append("    return None")
    return "\n".join(lines)


def _build(ops: tuple[_Op, ...]) -> tuple[_Decoder, _Encoder]:
    """Compile one command's walkers (see the module docstring: the hot path)."""
    env: dict[str, object] = {
        "_Malformed": _Malformed,
        "LocalProtocolError": LocalProtocolError,
        "_cstr_bytes": _cstr_bytes,
        "_decode_dests": _decode_dests,
        "_decode_unsuccess": _decode_unsuccess,
        "_encode_dests": _encode_dests,
        "_encode_unsuccess": _encode_unsuccess,
    }
    # The source is generated from specs.py alone; no peer data reaches exec.
    exec(_decoder_source(ops, env), env)
    exec(_encoder_source(ops, env), env)
    return env["decode"], env["encode"]  # type: ignore[return-value]


def is_known_command(command_id: int) -> bool:
    """True when ``command_id`` is an SMPP 3.4 command this codec can read and write."""
    return command_id in _WALKERS


# --------------------------------------------------------------------------------- decode


def decode_pdu(frame: bytes) -> Pdu:
    """Decode one whole frame (header included, as :mod:`.framing` cuts it) into a ``Pdu``.

    Raises :class:`PduDecodeError` (carrying command_id and sequence_number) for an unknown
    command (ESME_RINVCMDID) or a malformed body (the status of the offending field).
    """
    n = len(frame)
    if n < 16:
        raise PduDecodeError(
            "frame shorter than the 16-octet header", CommandStatus.ESME_RINVCMDLEN, 0, 0
        )
    _length, cid, status, seq = HEADER.unpack_from(frame)
    walkers = _WALKERS.get(cid)
    if walkers is None:
        raise PduDecodeError(
            f"unknown command_id 0x{cid:08x}", CommandStatus.ESME_RINVCMDID, cid, seq
        )
    if n == 16 and (cid & RESPONSE_BIT or cid in _EMPTY_BODY):
        return Pdu(cid, status, seq, {}, {})
    try:
        fields, pos = walkers[0](frame, n)
        tlvs = _decode_tlvs(frame, pos, n) if pos < n else {}
    except _Malformed as exc:
        if status and cid & RESPONSE_BIT:
            return Pdu(cid, status, seq, {}, {})
        raise PduDecodeError(str(exc), exc.status, cid, seq) from None
    return Pdu(cid, status, seq, fields, tlvs)


def _cstr_at(frame: bytes, pos: int, max_len: int, what: str, status: int) -> tuple[str, int]:
    end = frame.find(b"\0", pos, pos + max_len)
    if end < 0:
        raise _Malformed(f"{what}: no NUL within {max_len} octets", status)
    return frame[pos:end].decode("latin-1"), end + 1


def _decode_dests(
    frame: bytes, pos: int, n: int, status: int
) -> tuple[list[SmeAddress | DistributionList], int]:
    """§4.5.1.1: number_of_dests, then per entry a dest_flag choosing its layout."""
    if pos >= n:
        raise _Malformed("body ends before number_of_dests", status)
    count = frame[pos]
    pos += 1
    dests: list[SmeAddress | DistributionList] = []
    for _ in range(count):
        if pos >= n:
            raise _Malformed("body ends inside dest_address list", status)
        flag = frame[pos]
        pos += 1
        if flag == 1:
            if pos + 2 > n:
                raise _Malformed("body ends inside dest_address", status)
            ton, npi = _U8_U8.unpack_from(frame, pos)
            address, pos = _cstr_at(
                frame, pos + 2, 21, "destination_addr", CommandStatus.ESME_RINVDSTADR
            )
            dests.append(SmeAddress(ton, npi, address))
        elif flag == 2:
            name, pos = _cstr_at(frame, pos, 21, "dl_name", CommandStatus.ESME_RINVDLNAME)
            dests.append(DistributionList(name))
        else:
            raise _Malformed(f"dest_flag {flag} invalid", CommandStatus.ESME_RINVDESTFLAG)
    return dests, pos


def _decode_unsuccess(
    frame: bytes, pos: int, n: int, status: int
) -> tuple[list[UnsuccessSme], int]:
    """§4.5.2: no_unsuccess, then (ton, npi, address, error_status_code) per entry."""
    if pos >= n:
        raise _Malformed("body ends before no_unsuccess", status)
    count = frame[pos]
    pos += 1
    smes: list[UnsuccessSme] = []
    for _ in range(count):
        if pos + 2 > n:
            raise _Malformed("body ends inside unsuccess_sme", status)
        ton, npi = _U8_U8.unpack_from(frame, pos)
        address, pos = _cstr_at(
            frame, pos + 2, 21, "destination_addr", CommandStatus.ESME_RINVDSTADR
        )
        if pos + 4 > n:
            raise _Malformed("body ends inside error_status_code", status)
        (error,) = _UNSUCCESS_TAIL.unpack_from(frame, pos)
        pos += 4
        smes.append(UnsuccessSme(ton, npi, address, error))
    return smes, pos


def _decode_tlvs(frame: bytes, pos: int, n: int) -> dict[str | int, TlvValue]:
    """§3.3/§5.3: tag, length, value triples until the end of the frame."""
    tlvs: dict[str | int, TlvValue] = {}
    while pos < n:
        if pos + 4 > n:
            raise _Malformed("truncated TLV header", CommandStatus.ESME_RINVOPTPARSTREAM)
        tag, length = _TLV_HEADER.unpack_from(frame, pos)
        pos += 4
        end = pos + length
        if end > n:
            raise _Malformed(
                f"TLV 0x{tag:04x} runs past the body", CommandStatus.ESME_RINVOPTPARSTREAM
            )
        raw = frame[pos:end]
        pos = end
        spec = TLVS.get(tag)
        if spec is None:
            tlvs[tag] = raw
            continue
        if not spec.min_len <= length <= spec.max_len:
            raise _Malformed(
                f"TLV {spec.name}: length {length} outside {spec.min_len}..{spec.max_len}",
                CommandStatus.ESME_RINVPARLEN,
            )
        kind = spec.kind
        if kind == INT:
            tlvs[spec.name] = int.from_bytes(raw, "big")
        elif kind == CSTR:
            tlvs[spec.name] = raw.split(b"\0", 1)[0].decode("latin-1")
        else:  # OCTETS, EMPTY
            tlvs[spec.name] = raw
    return tlvs


# --------------------------------------------------------------------------------- encode


def encode_pdu(pdu: Pdu) -> bytes:
    """Encode a ``Pdu`` to wire bytes, header included; command_length is computed.

    An error response with no fields and no TLVs is sent with an empty body (§3.2).
    Raises :class:`LocalProtocolError` for an unknown command, a value out of range or a
    string too long for its field.
    """
    cid = pdu.command_id
    walkers = _WALKERS.get(cid)
    if walkers is None:
        raise LocalProtocolError(
            f"cannot encode unknown command_id 0x{cid:08x}", CommandStatus.ESME_RINVCMDID
        )
    out = bytearray(16)
    fields = pdu.fields
    if fields or not (pdu.command_status and cid & RESPONSE_BIT):
        try:
            walkers[1](fields, out)
        except (
            struct.error,
            UnicodeEncodeError,
            TypeError,
            AttributeError,
            ValueError,
            OverflowError,
        ) as exc:
            raise LocalProtocolError(f"{pdu.name}: {exc}", CommandStatus.ESME_RINVPARLEN) from None
    if pdu.tlvs:
        _encode_tlvs(pdu.tlvs, out)
    HEADER.pack_into(out, 0, len(out), cid, pdu.command_status, pdu.sequence_number)
    return bytes(out)


def _cstr_bytes(value: object, max_len: int, what: str, status: int) -> bytes:
    raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)  # type: ignore[call-overload]
    if len(raw) >= max_len or b"\0" in raw:
        raise LocalProtocolError(
            f"{what}: {len(raw)} octets, at most {max_len - 1} allowed and no NUL", status
        )
    return raw


def _encode_dests(dests: object, out: bytearray) -> None:
    if not isinstance(dests, list) or len(dests) > 255:
        raise LocalProtocolError(
            "dest_addresses: a list of at most 255 entries needed", CommandStatus.ESME_RINVNUMDESTS
        )
    out.append(len(dests))
    for dest in dests:
        if isinstance(dest, SmeAddress):
            out.append(1)
            out += _U8_U8.pack(dest.ton, dest.npi)
            out += _cstr_bytes(dest.address, 21, "destination_addr", CommandStatus.ESME_RINVDSTADR)
        elif isinstance(dest, DistributionList):
            out.append(2)
            out += _cstr_bytes(dest.name, 21, "dl_name", CommandStatus.ESME_RINVDLNAME)
        else:
            raise LocalProtocolError(
                f"dest_addresses: {dest!r} is neither SmeAddress nor DistributionList",
                CommandStatus.ESME_RINVDESTFLAG,
            )
        out.append(0)


def _encode_unsuccess(smes: object, out: bytearray) -> None:
    if not isinstance(smes, list) or len(smes) > 255:
        raise LocalProtocolError(
            "unsuccess_sme: a list of at most 255 entries needed", CommandStatus.ESME_RINVNUMDESTS
        )
    out.append(len(smes))
    for sme in smes:
        if not isinstance(sme, UnsuccessSme):
            raise LocalProtocolError(
                f"unsuccess_sme: {sme!r} is not an UnsuccessSme", CommandStatus.ESME_RINVPARLEN
            )
        out += _U8_U8.pack(sme.ton, sme.npi)
        out += _cstr_bytes(sme.address, 21, "destination_addr", CommandStatus.ESME_RINVDSTADR)
        out.append(0)
        out += _UNSUCCESS_TAIL.pack(sme.error_status_code)


def _encode_tlvs(tlvs: dict[str | int, TlvValue], out: bytearray) -> None:
    for key, value in tlvs.items():
        if isinstance(key, int):
            # Unknown (or deliberately raw) TLV: pass the value octets through unchanged.
            if not isinstance(value, bytes | bytearray) or not 0 <= key <= 0xFFFF:
                raise LocalProtocolError(
                    f"raw TLV 0x{key:04x} needs a bytes value", CommandStatus.ESME_RINVOPTPARAMVAL
                )
            raw = bytes(value)
            tag = key
        else:
            spec = TLVS_BY_NAME.get(key)
            if spec is None:
                raise LocalProtocolError(
                    f"unknown TLV name {key!r}", CommandStatus.ESME_ROPTPARNOTALLWD
                )
            try:
                if spec.kind == INT:
                    raw = int(value).to_bytes(spec.max_len, "big")
                elif spec.kind == CSTR:
                    text = value.encode("latin-1") if isinstance(value, str) else bytes(value)
                    raw = text + b"\0"
                elif spec.kind == EMPTY:
                    raw = b""
                else:
                    raw = bytes(value)  # type: ignore[arg-type]
            except (OverflowError, TypeError, ValueError, UnicodeEncodeError) as exc:
                raise LocalProtocolError(
                    f"TLV {key}: {exc}", CommandStatus.ESME_RINVOPTPARAMVAL
                ) from None
            if not spec.min_len <= len(raw) <= spec.max_len:
                raise LocalProtocolError(
                    f"TLV {key}: {len(raw)} octets, allowed {spec.min_len}..{spec.max_len}",
                    CommandStatus.ESME_RINVPARLEN,
                )
            tag = spec.tag
        if len(raw) > 0xFFFF:
            raise LocalProtocolError(
                f"TLV {key}: value longer than 65535 octets", CommandStatus.ESME_RINVPARLEN
            )
        out += _TLV_HEADER.pack(tag, len(raw))
        out += raw


_WALKERS: dict[int, tuple[_Decoder, _Encoder]] = {
    cid: _build(_compile(body)) for cid, body in BODIES.items()
}
_EMPTY_BODY = frozenset(cid for cid, body in BODIES.items() if not body)
