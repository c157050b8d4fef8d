"""Mobile-originated messages as a carrier sends them: deliver_sm PDUs, concatenated if long.

Used by :meth:`~smsrelay.simulator.carrier.CarrierSimulator.inject_mo` to exercise an ESME's
inbound path. Long texts are split at the same boundaries as outbound ones
(:func:`~smsrelay.domain.encoding.split_segments`) and marked the way handsets and carriers
do it: a concatenation UDH with esm_class UDHI (§5.2.12, TS 23.040 §9.2.3.24.1), or the SAR
TLVs (§5.3.2.22-24).
"""

from __future__ import annotations

from typing import Literal

from smsrelay.domain.encoding import concat_udh, encode_gsm7, encode_ucs2, is_gsm7, split_segments
from smsrelay.domain.messages import Encoding
from smsrelay.smpp.constants import NPI, TON, DataCoding, EsmClass
from smsrelay.smpp.pdu import Pdu, TlvValue, deliver_sm

__all__ = ["mo_pdus"]


def _address(value: str) -> tuple[str, int, int]:
    """An address with its TON/NPI: ``+E.164`` is international/ISDN (sent without '+')."""
    if value.startswith("+"):
        return value[1:], TON.INTERNATIONAL, NPI.ISDN
    if value.isdigit():
        return value, TON.UNKNOWN, NPI.ISDN
    return value, TON.ALPHANUMERIC, NPI.UNKNOWN


def mo_pdus(
    source: str,
    destination: str,
    text: str,
    *,
    concat: Literal["udh", "sar"] = "udh",
    ref: int = 1,
) -> list[Pdu]:
    """The deliver_sm PDUs that carry ``text`` from ``source`` (a handset, ``+E.164``) to
    ``destination`` (our number or short code). GSM-7 (unpacked, data_coding 0) when the
    text allows, else UCS-2 (data_coding 8). ``ref`` is the concatenation reference."""
    encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    encode = encode_gsm7 if encoding is Encoding.GSM7 else encode_ucs2
    coding = DataCoding.DEFAULT if encoding is Encoding.GSM7 else DataCoding.UCS2
    parts = split_segments(text, encoding) or [""]
    src, src_ton, src_npi = _address(source)
    dst, dst_ton, dst_npi = _address(destination)
    total = len(parts)
    pdus = []
    for seq, part in enumerate(parts, start=1):
        body = encode(part)
        esm = 0
        tlvs: dict[str | int, TlvValue] = {}
        if total > 1 and concat == "udh":
            body = concat_udh(ref & 0xFF, total, seq) + body
            esm = EsmClass.UDHI
        elif total > 1:
            tlvs = {
                "sar_msg_ref_num": ref & 0xFFFF,
                "sar_total_segments": total,
                "sar_segment_seqnum": seq,
            }
        pdus.append(
            deliver_sm(
                src,
                dst,
                body,
                tlvs=tlvs,
                source_addr_ton=src_ton,
                source_addr_npi=src_npi,
                dest_addr_ton=dst_ton,
                dest_addr_npi=dst_npi,
                esm_class=int(esm),
                data_coding=int(coding),
            )
        )
    return pdus
