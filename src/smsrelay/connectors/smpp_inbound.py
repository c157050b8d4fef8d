"""Inbound half of the SMPP connector, pure: deliver_sm → DeliveryReport or MO text, and the
reassembly of concatenated MO messages.

Receipts (SMPP 3.4 Appendix B, §5.2.12 esm_class 0x04) are read with
:func:`smsrelay.smpp.receipts.receipt_from_pdu`, where the receipted_message_id and
message_state TLVs (§5.3.2.12, §5.3.2.35) win over the text. The §5.2.28 state maps onto the
engine's receipt outcomes through :data:`RECEIPT_STATUS`:

    message_state    stat      ReceiptStatus   why
    DELIVERED        DELIVRD   delivered
    UNDELIVERABLE    UNDELIV   undelivered
    EXPIRED          EXPIRED   expired
    REJECTED         REJECTD   rejected
    DELETED          DELETED   undelivered     final: deleted at the MC, never reached the phone
    ENROUTE          ENROUTE   accepted        intermediate: no final word yet
    ACCEPTED         ACCEPTD   accepted        intermediate (a manual acceptance, §5.2.28)
    UNKNOWN          UNKNOWN   unknown         not final: the DLR timeout settles the message
    (no state)       ...       unknown

Receipt ids are normalised (:func:`~smsrelay.smpp.receipts.normalise_message_id`) like the
submit_sm_resp ids the connector returned, so the engine matches them by (connector, id).
Some carriers write the receipt id in the other base than the submit_sm_resp id; the
connector option ``receipt_id_format`` (:data:`RECEIPT_ID_FORMATS`) converts it first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from smsrelay.domain.encoding import (
    DEFAULT_ALPHABET,
    Alphabet,
    decode_gsm7,
    decode_ucs2,
    parse_udh,
    unpack_septets,
)
from smsrelay.domain.messages import DeliveryReport, ReceiptStatus
from smsrelay.smpp.constants import TON, DataCoding, EsmClass, MessageState
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.receipts import Receipt, normalise_message_id

__all__ = [
    "RECEIPT_ID_FORMATS",
    "RECEIPT_STATUS",
    "MoAssembler",
    "MoPart",
    "ReceiptIdFormat",
    "convert_receipt_id",
    "mo_part_from_pdu",
    "report_from_receipt",
]

#: §5.2.28 message_state → the engine's receipt outcome (see the module docstring).
RECEIPT_STATUS: dict[MessageState, ReceiptStatus] = {
    MessageState.DELIVERED: ReceiptStatus.DELIVERED,
    MessageState.UNDELIVERABLE: ReceiptStatus.UNDELIVERED,
    MessageState.EXPIRED: ReceiptStatus.EXPIRED,
    MessageState.REJECTED: ReceiptStatus.REJECTED,
    MessageState.DELETED: ReceiptStatus.UNDELIVERED,
    MessageState.ENROUTE: ReceiptStatus.ACCEPTED,
    MessageState.ACCEPTED: ReceiptStatus.ACCEPTED,
    MessageState.UNKNOWN: ReceiptStatus.UNKNOWN,
}

ReceiptIdFormat = Literal["same", "hex_in_receipt", "dec_in_receipt"]


def _hex_to_dec(value: str) -> str:
    return str(int(value, 16))


def _dec_to_hex(value: str) -> str:
    return format(int(value), "x")


#: How a receipt id relates to the submit_sm_resp id of the same message:
#:
#:     same            the same form (normalised only)
#:     hex_in_receipt  submit_sm_resp gave decimal, receipts give hex: convert hex → decimal
#:     dec_in_receipt  submit_sm_resp gave hex, receipts give decimal: convert decimal → hex
RECEIPT_ID_FORMATS: dict[str, Callable[[str], str] | None] = {
    "same": None,
    "hex_in_receipt": _hex_to_dec,
    "dec_in_receipt": _dec_to_hex,
}


def convert_receipt_id(receipt_id: str, id_format: str) -> str:
    """The receipt's id in the canonical form of the submit_sm_resp id it names. An id that
    does not parse in the expected base is only normalised (it may be a different quirk)."""
    canonical = normalise_message_id(receipt_id)
    convert = RECEIPT_ID_FORMATS[id_format]
    if convert is None:
        return canonical
    try:
        return normalise_message_id(convert(canonical))
    except ValueError:
        return canonical


def report_from_receipt(
    connector: str, receipt: Receipt, at: float, id_format: str = "same"
) -> DeliveryReport | None:
    """The engine's view of one receipt; ``None`` when it names no message id."""
    if not receipt.message_id.strip():
        return None
    status = (
        RECEIPT_STATUS.get(receipt.state, ReceiptStatus.UNKNOWN)
        if receipt.state is not None
        else ReceiptStatus.UNKNOWN
    )
    error: str | None = None
    if status is not ReceiptStatus.DELIVERED:
        if receipt.err and receipt.err.strip("0"):
            error = receipt.err
        elif receipt.network_error_code:
            error = receipt.network_error_code.hex()
    raw = {"id": receipt.message_id, "stat": receipt.stat, "err": receipt.err}
    return DeliveryReport(
        connector=connector,
        carrier_id=convert_receipt_id(receipt.message_id, id_format),
        status=status,
        at=at,
        error=error,
        raw=raw,
    )


# ---------------------------------------------------------------------------------------------
# Mobile-originated messages


@dataclass(frozen=True, slots=True)
class MoPart:
    """One deliver_sm that is not a receipt, decoded. ``ref``/``total``/``seq`` are set when
    it is one part of a concatenated message (UDH or SAR), else ``total`` is 1."""

    source: str
    destination: str
    text: str
    ref: int = 0
    total: int = 1
    seq: int = 1

    @property
    def key(self) -> tuple[str, str, int, int]:
        return self.source, self.destination, self.ref, self.total


def _decode(
    data: bytes,
    coding: int,
    *,
    packed: bool,
    fill_bits: int = 0,
    alphabet: Alphabet = DEFAULT_ALPHABET,
) -> str:
    """Text of a short_message by data_coding (§5.2.19); unknown codings read as Latin-1.
    GSM-7 is read with the national shift tables the UDH names (TS 23.038 Annex A)."""
    if coding in (DataCoding.DEFAULT,) or (coding & 0xF0 == 0xF0 and not coding & 0x04):
        if packed:
            data = unpack_septets(data, (len(data) * 8 - fill_bits) // 7, fill_bits)
        return decode_gsm7(data, alphabet)
    if coding == DataCoding.UCS2:
        return decode_ucs2(data)
    if coding == DataCoding.IA5:
        return data.decode("ascii", "replace")
    return data.decode("latin-1")


def _sender(address: str, ton: int) -> str:
    """An international address gets its '+', so the sender reads as E.164."""
    if ton == TON.INTERNATIONAL and address.isdigit():
        return "+" + address
    return address


def mo_part_from_pdu(pdu: Pdu, *, gsm7_packing: bool = False) -> MoPart:
    """Decode a mobile-originated deliver_sm/data_sm; never raises on odd content."""
    body = pdu.fields.get("short_message") or pdu.tlvs.get("message_payload") or b""
    data = body if isinstance(body, bytes) else b""
    coding = pdu.int_field("data_coding")
    source = _sender(pdu.str_field("source_addr"), pdu.int_field("source_addr_ton"))
    destination = _sender(pdu.str_field("destination_addr"), pdu.int_field("dest_addr_ton"))
    packed = gsm7_packing
    if pdu.int_field("esm_class") & EsmClass.UDHI:
        udh, rest = parse_udh(data)
        if udh is not None:
            text = _decode(
                rest, coding, packed=packed, fill_bits=udh.fill_bits, alphabet=udh.alphabet
            )
            concat = udh.concat
            if concat is not None and concat.total > 1:
                return MoPart(source, destination, text, concat.ref, concat.total, concat.seq)
            return MoPart(source, destination, text)
    text = _decode(data, coding, packed=packed)
    total, seq = pdu.tlvs.get("sar_total_segments"), pdu.tlvs.get("sar_segment_seqnum")
    ref = pdu.tlvs.get("sar_msg_ref_num")
    if (
        isinstance(total, int)
        and isinstance(seq, int)
        and isinstance(ref, int)
        and 1 <= seq <= total
        and total > 1
    ):
        return MoPart(source, destination, text, ref, total, seq)
    return MoPart(source, destination, text)


@dataclass(slots=True)
class _Pending:
    total: int
    first_at: float
    parts: dict[int, str] = field(default_factory=dict)


class MoAssembler:
    """Joins the parts of concatenated MO messages, keyed by (source, destination,
    reference, total).

    A part seen again (the carrier resent a deliver_sm whose response it missed) is
    ignored, also for ``timeout`` seconds after its message completed. A message still
    incomplete ``timeout`` seconds after its first part is given up by :meth:`expire`,
    which returns what arrived (the parts were acknowledged, so dropping them would lose
    them). Pure: time is passed in.
    """

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}
        self._done: dict[tuple[str, str, int, int], tuple[float, dict[int, str]]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, part: MoPart, now: float) -> str | None:
        """Add a part; the whole text once the last part arrives, else ``None``."""
        key = part.key
        done = self._done.get(key)
        if done is not None:
            if now - done[0] <= self.timeout and done[1].get(part.seq) == part.text:
                return None  # a duplicate of a part of a message already handed on
            del self._done[key]
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(part.total, now)
        if part.seq in pending.parts:
            return None
        pending.parts[part.seq] = part.text
        if len(pending.parts) < pending.total:
            return None
        del self._pending[key]
        self._done[key] = (now, pending.parts)
        return "".join(pending.parts[i] for i in sorted(pending.parts))

    def expire(self, now: float) -> list[tuple[MoPart, str]]:
        """Give up messages incomplete for ``timeout``: (first part's key, joined text)."""
        self._done = {k: v for k, v in self._done.items() if now - v[0] <= self.timeout}
        out = []
        for key, pending in list(self._pending.items()):
            if now - pending.first_at > self.timeout:
                del self._pending[key]
                text = "".join(pending.parts[i] for i in sorted(pending.parts))
                out.append((MoPart(key[0], key[1], text, key[2], key[3]), text))
        return out

    def flush(self) -> list[tuple[MoPart, str]]:
        """Everything still incomplete (on stop)."""
        return self.expire(float("inf"))
