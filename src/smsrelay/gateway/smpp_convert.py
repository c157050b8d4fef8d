"""Between SMPP PDUs from client binds and the engine's values, both ways (no I/O).

Inbound (submit_sm, data_sm, submit_multi → :class:`SendRequest`):

- text: ``short_message``, or the ``message_payload`` TLV when short_message is empty
  (§5.3.2.32); data_coding 0 (GSM 03.38 unpacked, the SMSC default alphabet), 1 (IA5/ASCII),
  3 (Latin-1), 8 (UCS-2) and 0xF0-0xF3 (GSM message class, 7-bit); anything else is refused,
  because we send text, not binary payloads;
- concatenation: a UDH (esm_class UDHI, IEI 0/8) or the SAR TLVs (§5.3.2.22-24) name the
  part; :mod:`.smpp_reassembly` joins the raw bytes, which are decoded only once whole (so a
  GSM escape or a UTF-16 surrogate split across parts survives);
- addresses: a digits-only destination is an international number (E.164 without ``+``);
- ``service_type`` picks the kind: ``OTP``, ``MKT``/``MARKETING``; anything else is
  transactional; spintax is off (SMPP text is literal);
- ``schedule_delivery_time`` and ``validity_period`` in both §7.1.1 forms (absolute
  ``YYMMDDhhmmsstnn±`` and relative ``...R``) become ``send_at`` and ``validity``; validity is
  clamped to what the accept pipeline allows rather than refused (an MC may shorten it);
- ``registered_delivery`` bits 1-0 (§5.2.17) decide whether a receipt goes back;
- India's DLT ids come in vendor-specific TLVs (tags: the server's ``smpp_dlt_tlvs``, by
  default 0x1400 entity, 0x1401 template, 0x1402 telemarketer) as ASCII octets, a trailing
  NUL allowed (some clients send C-octet strings); they become the message's registration,
  so an enterprise client's ids reach the carrier.

Outbound: receipts (esm_class 0x04, Appendix B text in IA5/ASCII, receipted_message_id and
message_state TLVs) and MO messages as deliver_sm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from smsrelay.domain import encoding
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import MessageKind
from smsrelay.domain.registration import DltTags, Registration, check_id
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.prepare import MAX_VALIDITY, MIN_VALIDITY, SendRequest
from smsrelay.smpp.constants import EsmClass, MessageState
from smsrelay.smpp.pdu import Pdu, TlvValue, deliver_sm
from smsrelay.smpp.receipts import format_receipt
from smsrelay.store.smpp_outbox import SmppDelivery

__all__ = [
    "STATE_OF",
    "Part",
    "decode_text",
    "mo_pdu",
    "parse_smpp_time",
    "part_of",
    "receipt_pdu",
    "registration_from",
    "send_request",
    "to_number",
]

_KINDS = {
    "OTP": MessageKind.OTP,
    "MKT": MessageKind.MARKETING,
    "MARKETING": MessageKind.MARKETING,
    "TXN": MessageKind.TRANSACTIONAL,
}

STATE_OF: dict[MessageStatus, MessageState] = {
    MessageStatus.SCHEDULED: MessageState.ENROUTE,
    MessageStatus.QUEUED: MessageState.ENROUTE,
    MessageStatus.SENDING: MessageState.ENROUTE,
    MessageStatus.SENT: MessageState.ACCEPTED,
    MessageStatus.DELIVERED: MessageState.DELIVERED,
    MessageStatus.UNDELIVERED: MessageState.UNDELIVERABLE,
    MessageStatus.EXPIRED: MessageState.EXPIRED,
    MessageStatus.REJECTED: MessageState.REJECTED,
    MessageStatus.UNKNOWN: MessageState.UNKNOWN,
    MessageStatus.FAILED: MessageState.UNDELIVERABLE,
    MessageStatus.CANCELED: MessageState.DELETED,
}
"""Our status → §5.2.28 message_state, for query_sm_resp and receipts (one table)."""


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a concatenated message: reference, count, 1-based number, raw bytes."""

    ref: int
    total: int
    seq: int
    data: bytes


def payload_of(pdu: Pdu) -> bytes:
    """short_message, else the message_payload TLV (§5.3.2.32)."""
    short = pdu.fields.get("short_message", b"")
    if isinstance(short, bytes) and short:
        return short
    payload = pdu.tlvs.get("message_payload", b"")
    return payload if isinstance(payload, bytes) else b""


def part_of(pdu: Pdu) -> tuple[Part | None, bytes]:
    """Split the user data into its concatenation info (UDH or SAR) and the text bytes."""
    data = payload_of(pdu)
    if pdu.int_field("esm_class") & EsmClass.UDHI:
        udh, rest = encoding.parse_udh(data)
        if udh is None:
            raise SmsError(
                ErrorCode.VALIDATION_ERROR, "malformed user data header", field="short_message"
            )
        concat = udh.concat
        if concat is not None and concat.total > 1:
            return Part(concat.ref, concat.total, concat.seq, rest), rest
        return None, rest
    total, seq, ref = (
        pdu.tlvs.get(k) for k in ("sar_total_segments", "sar_segment_seqnum", "sar_msg_ref_num")
    )
    if isinstance(total, int) and isinstance(seq, int) and isinstance(ref, int) and total > 1:
        if not 1 <= seq <= total:
            raise SmsError(
                ErrorCode.VALIDATION_ERROR,
                "sar_segment_seqnum out of range",
                field="sar_segment_seqnum",
            )
        return Part(ref, total, seq, data), data
    return None, data


def decode_text(data_coding: int, data: bytes) -> str:
    """Decode user data by its data_coding (§5.2.19); VALIDATION_ERROR when unsupported."""
    if data_coding == 0 or 0xF0 <= data_coding <= 0xF3:
        return encoding.decode_gsm7(data)
    if data_coding == 1:
        return data.decode("ascii", "replace")
    if data_coding == 3:
        return data.decode("latin-1")
    if data_coding == 8:
        return encoding.decode_ucs2(data)
    raise SmsError(
        ErrorCode.VALIDATION_ERROR,
        f"data_coding {data_coding:#04x} is not supported (use 0, 1, 3 or 8)",
        field="data_coding",
    )


def to_number(address: str) -> str:
    """A client's destination as the accept pipeline reads it (digits → E.164 with ``+``)."""
    value = address.strip()
    if value.startswith("00") and value[2:].isdigit():
        value = value[2:]
    return "+" + value if value.isdigit() else value


def parse_smpp_time(value: str, now: float) -> float | None:
    """A §7.1.1 time as unix seconds: absolute ``YYMMDDhhmmsstnn±`` or relative ``...R``.

    '' means not given (None). Raises ``ValueError`` for anything else.
    """
    if not value:
        return None
    if len(value) != 16 or not value[:15].isdigit() or value[15] not in "+-R":
        raise ValueError(f"not an SMPP time: {value!r}")
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    if value[15] == "R":
        return now + ((yy * 365 + mo * 30 + dd) * 86400 + hh * 3600 + mi * 60 + ss)
    tenths, quarters = int(value[12]), int(value[13:15])
    offset = timedelta(minutes=15 * quarters) * (1 if value[15] == "+" else -1)
    local = datetime(2000 + yy, mo, dd, hh, mi, ss, tenths * 100_000, tzinfo=UTC)
    return (local - offset).timestamp()


def _time(pdu: Pdu, name: str, now: float) -> float | None:
    try:
        return parse_smpp_time(pdu.str_field(name), now)
    except ValueError:
        field = "validity" if name == "validity_period" else "send_at"
        raise SmsError(
            ErrorCode.INVALID_SCHEDULE, f"{name} is not a valid SMPP time", field=field
        ) from None


DEFAULT_DLT_TAGS = DltTags().by_field()


def registration_from(
    tlvs: dict[str | int, TlvValue], tags: tuple[tuple[str, int], ...]
) -> Registration | None:
    """The DLT ids a client's PDU carries in the TLVs ``tags`` name (None: none);
    VALIDATION_ERROR naming the id that is not 1 to 64 printable ASCII characters."""
    found: dict[str, str] = {}
    for name, tag in tags:
        raw = tlvs.get(tag)
        if not isinstance(raw, bytes):
            continue
        raw = raw[:-1] if raw.endswith(b"\0") else raw
        try:
            found[name] = check_id(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise SmsError(
                ErrorCode.VALIDATION_ERROR,
                f"TLV {tag:#06x} ({name}) must be 1 to 64 printable ASCII characters",
                field=f"registration.{name}",
            ) from None
    return Registration(**found) if found else None


def send_request(
    pdu: Pdu,
    to: str,
    text: str,
    *,
    now: float,
    smpp_user_id: str,
    message_id: str | None = None,
    dlt_tags: tuple[tuple[str, int], ...] = DEFAULT_DLT_TAGS,
) -> SendRequest:
    """The accept request for a (joined) submit_sm/data_sm/submit_multi destination;
    ``dlt_tags`` are the TLV tags the client's DLT ids come in (field, tag)."""
    send_at = _time(pdu, "schedule_delivery_time", now)
    expires = _time(pdu, "validity_period", now)
    validity = None
    if expires is not None:
        start = max(now, send_at or now)
        validity = min(max(expires - start, MIN_VALIDITY), MAX_VALIDITY)
    registered = pdu.int_field("registered_delivery") & 0x03
    return SendRequest(
        to=to_number(to),
        message=text,
        sender=pdu.str_field("source_addr") or None,
        kind=_KINDS.get(pdu.str_field("service_type").upper(), MessageKind.TRANSACTIONAL),
        validity=validity,
        send_at=send_at,
        spintax=False,
        origin="smpp",
        smpp_user_id=smpp_user_id,
        receipt_requested=1 if registered == 3 else registered,
        message_id=message_id,
        # a client that sent UCS-2 gets UCS-2: its text is sent as it chose (docs/encoding.md)
        encoding="ucs2" if pdu.int_field("data_coding") == 8 else "auto",
        registration=registration_from(pdu.tlvs, dlt_tags) if pdu.tlvs else None,
    )


def _addr_fields(source: str, destination: str) -> dict[str, int | str]:
    def ton(addr: str) -> int:
        return 1 if addr.isdigit() else (5 if addr else 0)

    return {
        "source_addr_ton": ton(source),
        "source_addr_npi": 1 if source.isdigit() else 0,
        "dest_addr_ton": ton(destination),
        "dest_addr_npi": 1 if destination.isdigit() else 0,
    }


def receipt_pdu(item: SmppDelivery) -> Pdu:
    """The deliver_sm receipt for a queued outbox row (Appendix B text plus TLVs)."""
    status = MessageStatus(item.status or MessageStatus.UNKNOWN)
    state = STATE_OF[status]
    err = 0 if status is MessageStatus.DELIVERED else _error_number(item.error_code)
    text = format_receipt(
        item.ref_id,
        state,
        err=err,
        submit_date=datetime.fromtimestamp(item.submitted_at or item.created_at, UTC),
        done_date=datetime.fromtimestamp(item.done_at or item.created_at, UTC),
        text=item.body,
    )
    tlvs: dict[str | int, TlvValue] = {
        "receipted_message_id": item.ref_id,
        "message_state": int(state),
    }
    # data_coding 1 (IA5/ASCII) says what the bytes are: read as the GSM default alphabet
    # (data_coding 0), the ``_`` of our ids is ``§`` and a client matching the text's id fails
    return deliver_sm(
        item.source_addr[:20],
        item.destination_addr[:20],
        text.encode("ascii", "replace"),
        tlvs=tlvs,
        esm_class=int(EsmClass.DELIVERY_RECEIPT),
        data_coding=1,
        **_addr_fields(item.source_addr, item.destination_addr),
    )


def _error_number(error_code: str | None) -> int:
    """The receipt's ``err:`` field: the catalogue's SMPP status of the error (0-999)."""
    if error_code is None:
        return 0
    try:
        return SmsError(ErrorCode(error_code)).spec.smpp_status % 1000
    except ValueError:
        return 255


def mo_pdu(item: SmppDelivery) -> Pdu:
    """A deliver_sm carrying an MO message: GSM 03.38 when it fits, else UCS-2; text past
    254 octets goes in message_payload (§5.3.2.32)."""
    if encoding.is_gsm7(item.body):
        data, coding = encoding.encode_gsm7(item.body), 0
    else:
        data, coding = encoding.encode_ucs2(item.body), 8
    tlvs: dict[str | int, TlvValue] = {}
    if len(data) > 254:
        tlvs["message_payload"] = data
        data = b""
    return deliver_sm(
        item.source_addr[:20],
        item.destination_addr[:20],
        data,
        tlvs=tlvs,
        data_coding=coding,
        **_addr_fields(item.source_addr, item.destination_addr),
    )
