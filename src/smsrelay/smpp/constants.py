"""SMPP 3.4 numeric constants, one table each (§5.1.2, §5.1.3, §5.2.5, §5.2.12, §5.2.19, §5.2.28).

Every value the wire carries as a bare number and that code needs to name lives here as an
``IntEnum``/``IntFlag``. Values received from a peer are kept as plain ``int`` on a ``Pdu`` (a
carrier may use vendor-specific command_status codes 0x400-0x4FF, §5.1.3), so nothing here
is used to *validate* input; use :func:`status_name` to print any status.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "GENERIC_NACK_ID",
    "NPI",
    "RESPONSE_BIT",
    "TON",
    "BindType",
    "CommandId",
    "CommandStatus",
    "DataCoding",
    "EsmClass",
    "MessageState",
    "RegisteredDelivery",
    "status_description",
    "status_name",
]

#: §5.1.2: a response command_id is its request's id with bit 31 set.
RESPONSE_BIT = 0x80000000
GENERIC_NACK_ID = 0x80000000


class CommandId(IntEnum):
    """command_id values (§5.1.2.1)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103

    @property
    def is_response(self) -> bool:
        return bool(self.value & RESPONSE_BIT)


class BindType(IntEnum):
    """The three bind requests, valued as their command_id (§4.1)."""

    RECEIVER = CommandId.BIND_RECEIVER
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    TRANSCEIVER = CommandId.BIND_TRANSCEIVER


class CommandStatus(IntEnum):
    """command_status values (§5.1.3); text for each in :func:`status_description`."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


_DESCRIPTIONS: dict[int, str] = {
    CommandStatus.ESME_ROK: "No error",
    CommandStatus.ESME_RINVMSGLEN: "Message length is invalid",
    CommandStatus.ESME_RINVCMDLEN: "Command length is invalid",
    CommandStatus.ESME_RINVCMDID: "Invalid command ID",
    CommandStatus.ESME_RINVBNDSTS: "Incorrect bind status for given command",
    CommandStatus.ESME_RALYBND: "ESME already in bound state",
    CommandStatus.ESME_RINVPRTFLG: "Invalid priority flag",
    CommandStatus.ESME_RINVREGDLVFLG: "Invalid registered delivery flag",
    CommandStatus.ESME_RSYSERR: "System error",
    CommandStatus.ESME_RINVSRCADR: "Invalid source address",
    CommandStatus.ESME_RINVDSTADR: "Invalid destination address",
    CommandStatus.ESME_RINVMSGID: "Message ID is invalid",
    CommandStatus.ESME_RBINDFAIL: "Bind failed",
    CommandStatus.ESME_RINVPASWD: "Invalid password",
    CommandStatus.ESME_RINVSYSID: "Invalid system ID",
    CommandStatus.ESME_RCANCELFAIL: "cancel_sm failed",
    CommandStatus.ESME_RREPLACEFAIL: "replace_sm failed",
    CommandStatus.ESME_RMSGQFUL: "Message queue full",
    CommandStatus.ESME_RINVSERTYP: "Invalid service type",
    CommandStatus.ESME_RINVNUMDESTS: "Invalid number of destinations",
    CommandStatus.ESME_RINVDLNAME: "Invalid distribution list name",
    CommandStatus.ESME_RINVDESTFLAG: "Destination flag is invalid (submit_multi)",
    CommandStatus.ESME_RINVSUBREP: "Invalid 'submit with replace' request",
    CommandStatus.ESME_RINVESMCLASS: "Invalid esm_class field data",
    CommandStatus.ESME_RCNTSUBDL: "Cannot submit to distribution list",
    CommandStatus.ESME_RSUBMITFAIL: "submit_sm or submit_multi failed",
    CommandStatus.ESME_RINVSRCTON: "Invalid source address TON",
    CommandStatus.ESME_RINVSRCNPI: "Invalid source address NPI",
    CommandStatus.ESME_RINVDSTTON: "Invalid destination address TON",
    CommandStatus.ESME_RINVDSTNPI: "Invalid destination address NPI",
    CommandStatus.ESME_RINVSYSTYP: "Invalid system_type field",
    CommandStatus.ESME_RINVREPFLAG: "Invalid replace_if_present flag",
    CommandStatus.ESME_RINVNUMMSGS: "Invalid number of messages",
    CommandStatus.ESME_RTHROTTLED: "Throttling error (ESME has exceeded allowed message limits)",
    CommandStatus.ESME_RINVSCHED: "Invalid scheduled delivery time",
    CommandStatus.ESME_RINVEXPIRY: "Invalid message validity period (expiry time)",
    CommandStatus.ESME_RINVDFTMSGID: "Predefined message invalid or not found",
    CommandStatus.ESME_RX_T_APPN: "ESME receiver temporary app error",
    CommandStatus.ESME_RX_P_APPN: "ESME receiver permanent app error",
    CommandStatus.ESME_RX_R_APPN: "ESME receiver reject message error",
    CommandStatus.ESME_RQUERYFAIL: "query_sm request failed",
    CommandStatus.ESME_RINVOPTPARSTREAM: "Error in the optional part of the PDU body",
    CommandStatus.ESME_ROPTPARNOTALLWD: "Optional parameter not allowed",
    CommandStatus.ESME_RINVPARLEN: "Invalid parameter length",
    CommandStatus.ESME_RMISSINGOPTPARAM: "Expected optional parameter missing",
    CommandStatus.ESME_RINVOPTPARAMVAL: "Invalid optional parameter value",
    CommandStatus.ESME_RDELIVERYFAILURE: "Delivery failure (data_sm_resp)",
    CommandStatus.ESME_RUNKNOWNERR: "Unknown error",
}


def status_name(status: int) -> str:
    """Name of any command_status, e.g. ``ESME_RTHROTTLED``; vendor codes print as hex."""
    try:
        return CommandStatus(status).name
    except ValueError:
        pass
    if 0x400 <= status <= 0x4FF:
        return f"SMSC_VENDOR_0x{status:X}"
    return f"0x{status:08X}"


def status_description(status: int) -> str:
    """Human text for a command_status (§5.1.3), for logs and error messages."""
    text = _DESCRIPTIONS.get(status)
    if text is not None:
        return text
    if 0x400 <= status <= 0x4FF:
        return "SMSC vendor-specific error"
    return "Reserved or unknown error"


class TON(IntEnum):
    """Type of number (§5.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class NPI(IntEnum):
    """Numbering plan indicator (§5.2.6)."""

    UNKNOWN = 0
    ISDN = 1  # E.163/E.164
    DATA = 3  # X.121
    TELEX = 4  # F.69
    LAND_MOBILE = 6  # E.212
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14  # IP
    WAP_CLIENT_ID = 18


class EsmClass(IntFlag):
    """esm_class bits (§5.2.12): messaging mode (bits 1-0), type (5-2), GSM features (7-6)."""

    DEFAULT = 0x00
    # messaging mode, bits 1-0
    MODE_DATAGRAM = 0x01
    MODE_FORWARD = 0x02
    MODE_STORE_AND_FORWARD = 0x03
    # message type, bits 5-2
    DELIVERY_RECEIPT = 0x04  # MC delivery receipt (deliver_sm)
    DELIVERY_ACK = 0x08
    MANUAL_USER_ACK = 0x10
    CONVERSATION_ABORT = 0x18
    INTERMEDIATE_NOTIFICATION = 0x20
    # GSM network specific features, bits 7-6
    UDHI = 0x40
    REPLY_PATH = 0x80


#: Mask of the message-type bits (§5.2.12 bits 5-2).
ESM_TYPE_MASK = 0x3C


class RegisteredDelivery(IntFlag):
    """registered_delivery bits (§5.2.17)."""

    NONE = 0x00
    RECEIPT_ALWAYS = 0x01  # on final outcome, success or failure
    RECEIPT_ON_FAILURE = 0x02
    SME_DELIVERY_ACK = 0x04
    SME_MANUAL_ACK = 0x08
    INTERMEDIATE = 0x10


class DataCoding(IntEnum):
    """data_coding values (§5.2.19)."""

    DEFAULT = 0x00  # SMSC default alphabet (often GSM 03.38)
    IA5 = 0x01  # IA5 (CCITT T.50)/ASCII
    BINARY_8BIT = 0x02
    LATIN1 = 0x03  # ISO-8859-1
    BINARY = 0x04
    JIS = 0x05
    CYRILLIC = 0x06  # ISO-8859-5
    HEBREW = 0x07  # ISO-8859-8
    UCS2 = 0x08  # ISO/IEC-10646
    PICTOGRAM = 0x09
    MUSIC_CODES = 0x0A  # ISO-2022-JP
    EXTENDED_KANJI = 0x0D
    KS_C_5601 = 0x0E


class MessageState(IntEnum):
    """message_state values (§5.2.28), used by query_sm_resp and the message_state TLV."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
