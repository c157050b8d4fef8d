"""Outbound half of the SMPP connector, pure: a message → its submit_sm PDUs, and
submit_sm_resp command_status → the catalogue.

No I/O here (house rule 3): :mod:`smsrelay.connectors.smpp` sends what this builds.

Segments. The text is split with :func:`~smsrelay.domain.encoding.split_segments`, the same
function the API used to report ``segments``, so the carrier gets exactly the parts the
customer was told about and billed for. A long message goes out in one of three ways
(connector option ``long_messages``):

    udh      one submit_sm per segment, a 6-octet concatenation UDH (8-bit reference) in
             front of the text and esm_class UDHI 0x40 (§5.2.12; TS 23.040 §9.2.3.24.1)
    sar      one submit_sm per segment, with sar_msg_ref_num (16-bit), sar_total_segments
             and sar_segment_seqnum (§5.3.2.22-24); the MC builds the UDH
    payload  one submit_sm carrying the whole text in message_payload (§5.3.2.32); the MC
             splits it and answers with one message id, so the message has one carrier part

National languages. A message counted at accept with a national language's shift tables
(``OutboundMessage.language``, TS 23.038 Annex A) goes out with them when the connector lists
the language in ``national_languages``: the same tables (:func:`~smsrelay.domain.
encoding_choice.national_alphabet` finds them again from the text), data_coding 0, and in
every segment's UDH the locking shift IE 0x25 and/or single shift IE 0x24 (TS 23.040
§9.2.3.24.15-16, after the concatenation IE), esm_class UDHI. A long message goes as UDH
segments even under ``payload`` (an MC that splits a payload would not repeat the IEs), and
under ``sar`` each segment carries a UDH of the shift IEs alone. A connector that does not
list the language sends the text with the default tables when they can write it, else as
UCS-2, which may take more segments than the message was counted for (docs/encoding.md).

data_coding (§5.2.19): UCS-2 texts go as 8. GSM-7 texts go as 0 (the SMSC default alphabet,
one unpacked septet per octet; packed septets with ``gsm7_packing``), or, when the connector
is configured for it and the text fits, as 1 (IA5/ASCII) or 3 (Latin-1) for carriers whose
default alphabet is not GSM 03.38. Segment boundaries stay the GSM-7 ones in every case.

Registration ids (India's DLT, ``OutboundMessage.registration``): every submit_sm of the
message, each segment, carries each id as a vendor-specific TLV (§5.3.2; tags from the
connector's ``dlt_tlvs``, defaults 0x1400 entity, 0x1401 template, 0x1402 telemarketer, see
:class:`~smsrelay.domain.registration.DltTags` for their sources) holding the id as ASCII
octets without a NUL, as Indian operators' specifications give them; the connector's
``telemarketer_id`` is added to a message that carries ids and names none.

Addresses (§5.2.5-§5.2.8): the source TON/NPI follows the sender's kind (alphanumeric 5/0,
short code 3/0, international 1/1 without '+'); the destination is international 1/1
without '+'. registered_delivery is 1 on every PDU (§5.2.17): a receipt for every part, so
a message is ``delivered`` only when every part is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from smsrelay.domain.encoding import (
    DEFAULT_ALPHABET,
    Alphabet,
    build_udh,
    concat_udh,
    encode_gsm7,
    encode_ucs2,
    is_gsm7,
    pack_septets,
    split_segments,
)
from smsrelay.domain.encoding_choice import national_alphabet
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Encoding, OutboundMessage
from smsrelay.domain.numbers import SenderKind, parse_sender
from smsrelay.domain.registration import DltTags, Registration, with_telemarketer
from smsrelay.smpp.constants import NPI, TON, CommandStatus, DataCoding, EsmClass
from smsrelay.smpp.pdu import Pdu, TlvValue, submit_sm

__all__ = [
    "SENDER_ADDRESSING",
    "SUBMIT_STATUS_ERRORS",
    "SubmitOptions",
    "build_submits",
    "error_for_status",
    "registration_tlvs",
    "source_address",
]

#: Sender kind → (TON, NPI) of source_addr (§5.2.5, §5.2.6).
SENDER_ADDRESSING: dict[SenderKind, tuple[int, int]] = {
    SenderKind.ALPHANUMERIC: (TON.ALPHANUMERIC, NPI.UNKNOWN),
    SenderKind.SHORT_CODE: (TON.NETWORK_SPECIFIC, NPI.UNKNOWN),
    SenderKind.INTERNATIONAL: (TON.INTERNATIONAL, NPI.ISDN),
}

#: submit_sm_resp command_status (§5.1.3) → catalogue error. Any status not listed is a
#: permanent refusal: CARRIER_REJECTED. Retryable rows (per the catalogue) are marked R.
#:
#:     command_status      error                  retry  why
#:     ESME_RTHROTTLED     CARRIER_THROTTLED      R      over the carrier's rate; we slow down
#:     ESME_RMSGQFUL       CARRIER_QUEUE_FULL     R      the MC's queue is full for now
#:     ESME_RSYSERR        CARRIER_SYSTEM_ERROR   R      transient failure inside the MC
#:     ESME_RX_T_APPN      CARRIER_SYSTEM_ERROR   R      "temporary application error"
#:     ESME_RINVBNDSTS     CARRIER_UNAVAILABLE    R      the MC thinks we are not bound
#:     ESME_RINVDSTADR     INVALID_DESTINATION           the number is not reachable
#:     ESME_RINVDSTTON/NPI INVALID_DESTINATION
#:     ESME_RINVSRCADR     INVALID_SENDER                sender refused (not registered, ...)
#:     ESME_RINVSRCTON/NPI INVALID_SENDER
#:     anything else       CARRIER_REJECTED
SUBMIT_STATUS_ERRORS: dict[int, ErrorCode] = {
    CommandStatus.ESME_RTHROTTLED: ErrorCode.CARRIER_THROTTLED,
    CommandStatus.ESME_RMSGQFUL: ErrorCode.CARRIER_QUEUE_FULL,
    CommandStatus.ESME_RSYSERR: ErrorCode.CARRIER_SYSTEM_ERROR,
    CommandStatus.ESME_RX_T_APPN: ErrorCode.CARRIER_SYSTEM_ERROR,
    CommandStatus.ESME_RINVBNDSTS: ErrorCode.CARRIER_UNAVAILABLE,
    CommandStatus.ESME_RINVDSTADR: ErrorCode.INVALID_DESTINATION,
    CommandStatus.ESME_RINVDSTTON: ErrorCode.INVALID_DESTINATION,
    CommandStatus.ESME_RINVDSTNPI: ErrorCode.INVALID_DESTINATION,
    CommandStatus.ESME_RINVSRCADR: ErrorCode.INVALID_SENDER,
    CommandStatus.ESME_RINVSRCTON: ErrorCode.INVALID_SENDER,
    CommandStatus.ESME_RINVSRCNPI: ErrorCode.INVALID_SENDER,
}


def error_for_status(command_status: int) -> ErrorCode:
    """The catalogue error for a non-zero submit_sm_resp (or generic_nack) status."""
    return SUBMIT_STATUS_ERRORS.get(command_status, ErrorCode.CARRIER_REJECTED)


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """The connector options that shape submit_sm PDUs (see the module docstring)."""

    long_messages: Literal["udh", "sar", "payload"] = "udh"
    data_coding: Literal["default", "ia5", "latin1"] = "default"
    gsm7_packing: bool = False
    service_type: str = ""
    default_sender: str = ""
    national_languages: frozenset[str] = frozenset()
    dlt_tags: tuple[tuple[str, int], ...] = DltTags().by_field()  # (field, TLV tag)
    telemarketer_id: str = ""  # India's DLT: ours for this carrier


def registration_tlvs(
    registration: Registration | None, tags: tuple[tuple[str, int], ...]
) -> dict[str | int, TlvValue]:
    """The vendor-specific TLVs of a message's DLT ids: tag → the id's ASCII octets."""
    if not registration:
        return {}
    ids = dict(registration.items())
    return {tag: ids[name].encode("ascii") for name, tag in tags if name in ids}


@functools.lru_cache(maxsize=1024)
def source_address(sender: str | None, default: str = "") -> tuple[str, int, int]:
    """(source_addr, TON, NPI) for a sender; ``("", 0, 0)`` lets the MC fill in its default.

    Raises ``SmsError(INVALID_SENDER)`` for a sender that is none of the three kinds.
    Cached: bulk traffic repeats a few senders, and parsing a number is not cheap.
    """
    raw = sender or default
    if not raw:
        return "", TON.UNKNOWN, NPI.UNKNOWN
    parsed = parse_sender(raw)
    ton, npi = SENDER_ADDRESSING[parsed.kind]
    return parsed.value.lstrip("+"), ton, npi


def _data_coding(text: str, encoding: Encoding, options: SubmitOptions) -> int:
    if encoding is Encoding.UCS2:
        return DataCoding.UCS2
    if options.data_coding == "ia5" and text.isascii():
        return DataCoding.IA5
    if options.data_coding == "latin1":
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            return DataCoding.DEFAULT
        return DataCoding.LATIN1
    return DataCoding.DEFAULT


def _encode(
    text: str,
    coding: int,
    *,
    packed: bool,
    fill_bits: int = 0,
    alphabet: Alphabet = DEFAULT_ALPHABET,
) -> bytes:
    if coding == DataCoding.UCS2:
        return encode_ucs2(text)
    if coding == DataCoding.IA5:
        return text.encode("ascii")
    if coding == DataCoding.LATIN1:
        return text.encode("latin-1")
    septets = encode_gsm7(text, alphabet)
    return pack_septets(septets, fill_bits) if packed else septets


def build_submits(message: OutboundMessage, options: SubmitOptions, ref: int) -> list[Pdu]:
    """The submit_sm PDUs for ``message``, in segment order; ``ref`` is its concatenation
    reference (the caller keeps a rolling counter; UDH uses its low 8 bits, SAR 16).

    Raises ``SmsError(INVALID_SENDER)`` (see :func:`source_address`).
    """
    text, encoding = message.body, message.encoding
    alphabet = _alphabet(message, options)
    if encoding is Encoding.GSM7 and not is_gsm7(text, alphabet):
        encoding = Encoding.UCS2  # stored as GSM-7 but is not: send it whole rather than fail
        alphabet = DEFAULT_ALPHABET
    if len(text) <= 70 and (encoding is Encoding.GSM7 or len(text.encode("utf-16-be")) <= 140):
        segments = [text]  # fits one segment in any alphabet: the common, hot case
    else:
        segments = split_segments(text, encoding, alphabet) or [""]
    shifts = alphabet.elements if encoding is Encoding.GSM7 else ()
    coding = DataCoding.DEFAULT if shifts else _data_coding(text, encoding, options)
    packed = coding == DataCoding.DEFAULT and options.gsm7_packing
    src, src_ton, src_npi = source_address(message.sender, options.default_sender)
    dst = message.to.lstrip("+")
    registered = registration_tlvs(
        with_telemarketer(message.registration, options.telemarketer_id), options.dlt_tags
    )

    def submit(
        body: bytes, tlvs: dict[str | int, TlvValue] | None = None, esm_class: int = 0
    ) -> Pdu:
        if registered:  # every segment carries the ids: operators check each submit_sm
            tlvs = {**tlvs, **registered} if tlvs else dict(registered)
        return submit_sm(
            src,
            dst,
            body,
            tlvs=tlvs,
            service_type=options.service_type,
            source_addr_ton=src_ton,
            source_addr_npi=src_npi,
            dest_addr_ton=TON.INTERNATIONAL,
            dest_addr_npi=NPI.ISDN,
            esm_class=esm_class,
            registered_delivery=1,
            data_coding=coding,
        )

    def with_udh(udh: bytes, segment: str) -> bytes:
        # Packed septets after a UDH start on a septet boundary (TS 23.040 §9.2.3.24).
        fill = (7 - len(udh) * 8 % 7) % 7
        return udh + _encode(segment, coding, packed=packed, fill_bits=fill, alphabet=alphabet)

    total = len(segments)
    if total == 1:
        if shifts:
            return [submit(with_udh(build_udh(shifts), text), esm_class=int(EsmClass.UDHI))]
        return [submit(_encode(text, coding, packed=packed))]
    if options.long_messages == "payload" and not shifts:
        return [submit(b"", {"message_payload": _encode(text, coding, packed=packed)})]
    pdus = []
    for seq, segment in enumerate(segments, start=1):
        if options.long_messages == "sar":
            tlvs: dict[str | int, TlvValue] = {
                "sar_msg_ref_num": ref & 0xFFFF,
                "sar_total_segments": total,
                "sar_segment_seqnum": seq,
            }
            if shifts:
                body = with_udh(build_udh(shifts), segment)
                pdus.append(submit(body, tlvs, esm_class=int(EsmClass.UDHI)))
            else:
                pdus.append(submit(_encode(segment, coding, packed=packed), tlvs))
        else:
            udh = concat_udh(ref & 0xFF, total, seq, extra=shifts)
            pdus.append(submit(with_udh(udh, segment), esm_class=int(EsmClass.UDHI)))
    return pdus


def _alphabet(message: OutboundMessage, options: SubmitOptions) -> Alphabet:
    """The tables the message was counted with, when this connector's carrier has them."""
    if message.encoding is not Encoding.GSM7 or message.language is None:
        return DEFAULT_ALPHABET
    if message.language not in options.national_languages:
        return DEFAULT_ALPHABET  # the text is sent with the default tables or as UCS-2
    return national_alphabet(message.body, message.language) or DEFAULT_ALPHABET
