"""Every SMPP 3.4 PDU body and optional parameter, written down once as data.

Both walkers in :mod:`smsrelay.smpp.codec` read these tables; neither names a PDU. Adding a
PDU means adding one entry to :data:`BODIES`; adding a TLV means one entry in :data:`TLVS`.

Mandatory fields (§4) are an ordered tuple of :class:`Field`. Kinds:

- ``U8``/``U16``/``U32``: big-endian unsigned integers (§3.1).
- ``CSTR``: a NUL-terminated string; ``size`` is the maximum *including* the NUL, as the
  spec's "Var. max N" columns count it (so ``system_id`` holds at most 15 characters).
- ``TIME``: a C-string that is either empty or exactly 17 octets with the NUL (§7.1.1,
  schedule_delivery_time, validity_period, final_date).
- ``LEN8``: a one-octet count whose value is derived from the field named in ``size``
  (``sm_length``, ``number_of_dests``, ``no_unsuccess``). It never appears in a decoded
  ``fields`` dict: the codec writes it from the data and checks it when reading.
- ``OCTETS``: raw bytes whose length is the preceding ``LEN8`` field.
- ``DEST_LIST``: submit_multi's dest_address list, a case on each entry's dest_flag
  (§4.5.1.1): 1 = SME address (ton, npi, address), 2 = distribution list name.
- ``UNSUCCESS_LIST``: submit_multi_resp's unsuccess_sme list (§4.5.2).

A ``LEN8`` field always immediately precedes the field it counts; the codec relies on that.

TLVs (§5.3.2) are keyed by tag. A value kind is ``INT`` (``min_len`` = ``max_len`` octets),
``CSTR`` (maximum length including the NUL), ``OCTETS`` or ``EMPTY`` (a zero-length flag such
as alert_on_message_delivery). Unknown tags are not in the table; the codec keeps them as
raw bytes under their integer tag and re-encodes them unchanged.
"""

from __future__ import annotations

from typing import NamedTuple

from .constants import CommandId, CommandStatus

__all__ = [
    "BODIES",
    "CSTR",
    "DEST_LIST",
    "EMPTY",
    "FIELD_STATUS",
    "INT",
    "LEN8",
    "OCTETS",
    "SHORT_MESSAGE_MAX",
    "TIME",
    "TLVS",
    "TLVS_BY_NAME",
    "U8",
    "U16",
    "U32",
    "UNSUCCESS_LIST",
    "DistributionList",
    "Field",
    "SmeAddress",
    "TlvSpec",
    "UnsuccessSme",
]

# field kinds
U8 = "u8"
U16 = "u16"
U32 = "u32"
CSTR = "cstr"
TIME = "time"
LEN8 = "len8"
OCTETS = "octets"
DEST_LIST = "dest_list"
UNSUCCESS_LIST = "unsuccess_list"

# TLV value kinds
INT = "int"
EMPTY = "empty"

#: §4.4.1: short_message is 0 to 254 octets.
SHORT_MESSAGE_MAX = 254


class Field(NamedTuple):
    """One mandatory field: its name, kind, and a size (max length, or the counted field)."""

    name: str
    kind: str
    size: int | str = 0


class SmeAddress(NamedTuple):
    """A submit_multi destination with dest_flag 1 (§4.5.1.1)."""

    ton: int
    npi: int
    address: str


class DistributionList(NamedTuple):
    """A submit_multi destination with dest_flag 2 (§4.5.1.1)."""

    name: str


class UnsuccessSme(NamedTuple):
    """One failed destination in submit_multi_resp (§4.5.2)."""

    ton: int
    npi: int
    address: str
    error_status_code: int


class TlvSpec(NamedTuple):
    """One optional parameter (§5.3.2): tag, name, value kind and length bounds."""

    tag: int
    name: str
    kind: str
    min_len: int
    max_len: int


def _f(name: str, kind: str, size: int | str = 0) -> Field:
    return Field(name, kind, size)


_BIND = (
    _f("system_id", CSTR, 16),
    _f("password", CSTR, 9),
    _f("system_type", CSTR, 13),
    _f("interface_version", U8),
    _f("addr_ton", U8),
    _f("addr_npi", U8),
    _f("address_range", CSTR, 41),
)
_BIND_RESP = (_f("system_id", CSTR, 16),)
_MESSAGE_ID_RESP = (_f("message_id", CSTR, 65),)

# §4.4.1 submit_sm; §4.6.1 deliver_sm has the same layout (some fields must be NULL there).
_SM = (
    _f("service_type", CSTR, 6),
    _f("source_addr_ton", U8),
    _f("source_addr_npi", U8),
    _f("source_addr", CSTR, 21),
    _f("dest_addr_ton", U8),
    _f("dest_addr_npi", U8),
    _f("destination_addr", CSTR, 21),
    _f("esm_class", U8),
    _f("protocol_id", U8),
    _f("priority_flag", U8),
    _f("schedule_delivery_time", TIME, 17),
    _f("validity_period", TIME, 17),
    _f("registered_delivery", U8),
    _f("replace_if_present_flag", U8),
    _f("data_coding", U8),
    _f("sm_default_msg_id", U8),
    _f("sm_length", LEN8, "short_message"),
    _f("short_message", OCTETS, "sm_length"),
)

_SUBMIT_MULTI = (
    _f("service_type", CSTR, 6),
    _f("source_addr_ton", U8),
    _f("source_addr_npi", U8),
    _f("source_addr", CSTR, 21),
    _f("number_of_dests", LEN8, "dest_addresses"),
    _f("dest_addresses", DEST_LIST, "number_of_dests"),
    _f("esm_class", U8),
    _f("protocol_id", U8),
    _f("priority_flag", U8),
    _f("schedule_delivery_time", TIME, 17),
    _f("validity_period", TIME, 17),
    _f("registered_delivery", U8),
    _f("replace_if_present_flag", U8),
    _f("data_coding", U8),
    _f("sm_default_msg_id", U8),
    _f("sm_length", LEN8, "short_message"),
    _f("short_message", OCTETS, "sm_length"),
)

#: command_id → mandatory body layout (§4). Commands absent here are unknown (→ generic_nack).
BODIES: dict[int, tuple[Field, ...]] = {
    CommandId.GENERIC_NACK: (),
    CommandId.BIND_TRANSMITTER: _BIND,  # §4.1.1
    CommandId.BIND_TRANSMITTER_RESP: _BIND_RESP,  # §4.1.2
    CommandId.BIND_RECEIVER: _BIND,  # §4.1.3
    CommandId.BIND_RECEIVER_RESP: _BIND_RESP,  # §4.1.4
    CommandId.BIND_TRANSCEIVER: _BIND,  # §4.1.5
    CommandId.BIND_TRANSCEIVER_RESP: _BIND_RESP,  # §4.1.6
    CommandId.OUTBIND: (_f("system_id", CSTR, 16), _f("password", CSTR, 9)),  # §4.1.7
    CommandId.UNBIND: (),  # §4.2.1
    CommandId.UNBIND_RESP: (),  # §4.2.2
    CommandId.SUBMIT_SM: _SM,  # §4.4.1
    CommandId.SUBMIT_SM_RESP: _MESSAGE_ID_RESP,  # §4.4.2
    CommandId.SUBMIT_MULTI: _SUBMIT_MULTI,  # §4.5.1
    CommandId.SUBMIT_MULTI_RESP: (  # §4.5.2
        _f("message_id", CSTR, 65),
        _f("no_unsuccess", LEN8, "unsuccess_sme"),
        _f("unsuccess_sme", UNSUCCESS_LIST, "no_unsuccess"),
    ),
    CommandId.DELIVER_SM: _SM,  # §4.6.1
    CommandId.DELIVER_SM_RESP: _MESSAGE_ID_RESP,  # §4.6.2
    CommandId.DATA_SM: (  # §4.7.1
        _f("service_type", CSTR, 6),
        _f("source_addr_ton", U8),
        _f("source_addr_npi", U8),
        _f("source_addr", CSTR, 65),
        _f("dest_addr_ton", U8),
        _f("dest_addr_npi", U8),
        _f("destination_addr", CSTR, 65),
        _f("esm_class", U8),
        _f("registered_delivery", U8),
        _f("data_coding", U8),
    ),
    CommandId.DATA_SM_RESP: _MESSAGE_ID_RESP,  # §4.7.2
    CommandId.QUERY_SM: (  # §4.8.1
        _f("message_id", CSTR, 65),
        _f("source_addr_ton", U8),
        _f("source_addr_npi", U8),
        _f("source_addr", CSTR, 21),
    ),
    CommandId.QUERY_SM_RESP: (  # §4.8.2
        _f("message_id", CSTR, 65),
        _f("final_date", TIME, 17),
        _f("message_state", U8),
        _f("error_code", U8),
    ),
    CommandId.CANCEL_SM: (  # §4.9.1
        _f("service_type", CSTR, 6),
        _f("message_id", CSTR, 65),
        _f("source_addr_ton", U8),
        _f("source_addr_npi", U8),
        _f("source_addr", CSTR, 21),
        _f("dest_addr_ton", U8),
        _f("dest_addr_npi", U8),
        _f("destination_addr", CSTR, 21),
    ),
    CommandId.CANCEL_SM_RESP: (),  # §4.9.2
    CommandId.REPLACE_SM: (  # §4.10.1
        _f("message_id", CSTR, 65),
        _f("source_addr_ton", U8),
        _f("source_addr_npi", U8),
        _f("source_addr", CSTR, 21),
        _f("schedule_delivery_time", TIME, 17),
        _f("validity_period", TIME, 17),
        _f("registered_delivery", U8),
        _f("sm_default_msg_id", U8),
        _f("sm_length", LEN8, "short_message"),
        _f("short_message", OCTETS, "sm_length"),
    ),
    CommandId.REPLACE_SM_RESP: (),  # §4.10.2
    CommandId.ENQUIRE_LINK: (),  # §4.11.1
    CommandId.ENQUIRE_LINK_RESP: (),  # §4.11.2
    CommandId.ALERT_NOTIFICATION: (  # §4.12.1
        _f("source_addr_ton", U8),
        _f("source_addr_npi", U8),
        _f("source_addr", CSTR, 65),
        _f("esme_addr_ton", U8),
        _f("esme_addr_npi", U8),
        _f("esme_addr", CSTR, 65),
    ),
}

#: The command_status a malformed field is reported with (§5.1.3); others get ESME_RINVPARLEN.
FIELD_STATUS: dict[str, int] = {
    "system_id": CommandStatus.ESME_RINVSYSID,
    "password": CommandStatus.ESME_RINVPASWD,
    "system_type": CommandStatus.ESME_RINVSYSTYP,
    "service_type": CommandStatus.ESME_RINVSERTYP,
    "source_addr": CommandStatus.ESME_RINVSRCADR,
    "destination_addr": CommandStatus.ESME_RINVDSTADR,
    "message_id": CommandStatus.ESME_RINVMSGID,
    "schedule_delivery_time": CommandStatus.ESME_RINVSCHED,
    "validity_period": CommandStatus.ESME_RINVEXPIRY,
    "short_message": CommandStatus.ESME_RINVMSGLEN,
    "dest_addresses": CommandStatus.ESME_RINVNUMDESTS,
}


def _t(tag: int, name: str, kind: str, min_len: int, max_len: int | None = None) -> TlvSpec:
    return TlvSpec(tag, name, kind, min_len, min_len if max_len is None else max_len)


#: The §5.3.2 optional parameters, by tag. Lengths are the value's octets (C-strings with NUL).
TLVS: dict[int, TlvSpec] = {
    s.tag: s
    for s in (
        _t(0x0005, "dest_addr_subunit", INT, 1),  # §5.3.2.1
        _t(0x0006, "dest_network_type", INT, 1),  # §5.3.2.3
        _t(0x0007, "dest_bearer_type", INT, 1),  # §5.3.2.5
        _t(0x0008, "dest_telematics_id", INT, 2),  # §5.3.2.7
        _t(0x000D, "source_addr_subunit", INT, 1),  # §5.3.2.2
        _t(0x000E, "source_network_type", INT, 1),  # §5.3.2.4
        _t(0x000F, "source_bearer_type", INT, 1),  # §5.3.2.6
        _t(0x0010, "source_telematics_id", INT, 1),  # §5.3.2.8
        _t(0x0017, "qos_time_to_live", INT, 4),  # §5.3.2.9
        _t(0x0019, "payload_type", INT, 1),  # §5.3.2.10
        _t(0x001D, "additional_status_info_text", CSTR, 1, 256),  # §5.3.2.11
        _t(0x001E, "receipted_message_id", CSTR, 1, 65),  # §5.3.2.12
        _t(0x0030, "ms_msg_wait_facilities", INT, 1),  # §5.3.2.13
        _t(0x0201, "privacy_indicator", INT, 1),  # §5.3.2.14
        _t(0x0202, "source_subaddress", OCTETS, 2, 23),  # §5.3.2.15
        _t(0x0203, "dest_subaddress", OCTETS, 2, 23),  # §5.3.2.16
        _t(0x0204, "user_message_reference", INT, 2),  # §5.3.2.17
        _t(0x0205, "user_response_code", INT, 1),  # §5.3.2.18
        _t(0x020A, "source_port", INT, 2),  # §5.3.2.20
        _t(0x020B, "destination_port", INT, 2),  # §5.3.2.21
        _t(0x020C, "sar_msg_ref_num", INT, 2),  # §5.3.2.22
        _t(0x020D, "language_indicator", INT, 1),  # §5.3.2.19
        _t(0x020E, "sar_total_segments", INT, 1),  # §5.3.2.23
        _t(0x020F, "sar_segment_seqnum", INT, 1),  # §5.3.2.24
        _t(0x0210, "sc_interface_version", INT, 1),  # §5.3.2.25
        _t(0x0302, "callback_num_pres_ind", INT, 1),  # §5.3.2.37
        _t(0x0303, "callback_num_atag", OCTETS, 0, 65),  # §5.3.2.38
        _t(0x0304, "number_of_messages", INT, 1),  # §5.3.2.39
        _t(0x0381, "callback_num", OCTETS, 4, 19),  # §5.3.2.36
        _t(0x0420, "dpf_result", INT, 1),  # §5.3.2.28
        _t(0x0421, "set_dpf", INT, 1),  # §5.3.2.29
        _t(0x0422, "ms_availability_status", INT, 1),  # §5.3.2.30
        _t(0x0423, "network_error_code", OCTETS, 3),  # §5.3.2.31
        _t(0x0424, "message_payload", OCTETS, 0, 0xFFFF),  # §5.3.2.32
        _t(0x0425, "delivery_failure_reason", INT, 1),  # §5.3.2.33
        _t(0x0426, "more_messages_to_send", INT, 1),  # §5.3.2.34
        _t(0x0427, "message_state", INT, 1),  # §5.3.2.35
        _t(0x0501, "ussd_service_op", INT, 1),  # §5.3.2.44
        _t(0x1201, "display_time", INT, 1),  # §5.3.2.26
        _t(0x1203, "sms_signal", INT, 2),  # §5.3.2.40
        _t(0x1204, "ms_validity", INT, 1),  # §5.3.2.27
        _t(0x130C, "alert_on_message_delivery", EMPTY, 0),  # §5.3.2.41
        _t(0x1380, "its_reply_type", INT, 1),  # §5.3.2.42
        _t(0x1383, "its_session_info", OCTETS, 2),  # §5.3.2.43
    )
}

TLVS_BY_NAME: dict[str, TlvSpec] = {s.name: s for s in TLVS.values()}
