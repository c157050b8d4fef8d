"""The ``Pdu`` value type and constructors for the PDUs callers build most.

A ``Pdu`` is the header (§3.2: command_id, command_status, sequence_number) plus two dicts:
``fields`` for the mandatory body (names as in :mod:`smsrelay.smpp.specs`; C-strings are
``str`` decoded as Latin-1 so any octet survives a round trip, octet strings are ``bytes``)
and ``tlvs`` for optional parameters (known ones by name, unknown ones by integer tag holding
the raw value bytes). Missing fields encode as their zero value, so ``Pdu(ENQUIRE_LINK)`` and a
submit_sm naming only its addresses and text are both complete.

Derived count fields (``sm_length``, ``number_of_dests``, ``no_unsuccess``) are never stored:
the codec computes them, so they cannot disagree with the data.

``Pdu`` is a plain slotted class rather than a frozen dataclass because it is built and read
on the hot path; treat it as a value all the same (the session only sets the sequence number
of a request it sends with ``sequence_number == 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .constants import RESPONSE_BIT, BindType, CommandId, CommandStatus
from .specs import DistributionList, SmeAddress, UnsuccessSme

__all__ = [
    "FieldValue",
    "Pdu",
    "TlvValue",
    "bind",
    "deliver_sm",
    "enquire_link",
    "generic_nack",
    "response_to",
    "submit_sm",
    "submit_sm_resp",
    "unbind",
]

FieldValue = int | str | bytes | list[SmeAddress | DistributionList] | list[UnsuccessSme]
TlvValue = int | str | bytes


@dataclass(slots=True)
class Pdu:
    """One SMPP PDU (§3.2). ``command_status`` is 0 on requests."""

    command_id: int
    command_status: int = 0
    sequence_number: int = 0
    fields: dict[str, FieldValue] = field(default_factory=dict)
    tlvs: dict[str | int, TlvValue] = field(default_factory=dict)

    @property
    def is_response(self) -> bool:
        """True for *_resp and generic_nack (bit 31 of command_id, §5.1.2.1)."""
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def name(self) -> str:
        """Lower-case command name (``submit_sm``), or hex for an unknown id."""
        try:
            return CommandId(self.command_id).name.lower()
        except ValueError:
            return f"0x{self.command_id:08x}"

    @property
    def ok(self) -> bool:
        """True when command_status is ESME_ROK."""
        return self.command_status == 0

    def get(self, name: str, default: FieldValue | TlvValue | None = None) -> object:
        """A mandatory field, else a TLV of that name, else ``default``."""
        if name in self.fields:
            return self.fields[name]
        return self.tlvs.get(name, default)

    def str_field(self, name: str) -> str:
        """A C-string field as ``str`` ('' when absent)."""
        value = self.fields.get(name, "")
        return value if isinstance(value, str) else ""

    def int_field(self, name: str) -> int:
        """An integer field (0 when absent)."""
        value = self.fields.get(name, 0)
        return value if isinstance(value, int) else 0


def response_to(
    request: Pdu,
    command_status: int = 0,
    fields: dict[str, FieldValue] | None = None,
    tlvs: dict[str | int, TlvValue] | None = None,
) -> Pdu:
    """The response PDU for ``request``: same sequence number, command_id with bit 31 set."""
    return Pdu(
        request.command_id | RESPONSE_BIT,
        command_status,
        request.sequence_number,
        fields if fields is not None else {},
        tlvs if tlvs is not None else {},
    )


def generic_nack(sequence_number: int, command_status: int) -> Pdu:
    """generic_nack (§4.3.1) for a PDU we could not accept, echoing its sequence number."""
    return Pdu(CommandId.GENERIC_NACK, command_status, sequence_number)


def bind(
    bind_type: BindType,
    system_id: str,
    password: str,
    *,
    system_type: str = "",
    interface_version: int = 0x34,
    addr_ton: int = 0,
    addr_npi: int = 0,
    address_range: str = "",
) -> Pdu:
    """bind_transmitter / bind_receiver / bind_transceiver (§4.1). Version 0x34 = SMPP 3.4."""
    return Pdu(
        int(bind_type),
        fields={
            "system_id": system_id,
            "password": password,
            "system_type": system_type,
            "interface_version": interface_version,
            "addr_ton": addr_ton,
            "addr_npi": addr_npi,
            "address_range": address_range,
        },
    )


def _sm(
    command_id: int,
    source_addr: str,
    destination_addr: str,
    short_message: bytes,
    tlvs: dict[str | int, TlvValue] | None,
    extra: dict[str, int | str],
) -> Pdu:
    fields: dict[str, FieldValue] = {
        "source_addr": source_addr,
        "destination_addr": destination_addr,
        "short_message": short_message,
    }
    fields.update(extra)
    return Pdu(command_id, fields=fields, tlvs=tlvs if tlvs is not None else {})


def submit_sm(
    source_addr: str,
    destination_addr: str,
    short_message: bytes = b"",
    *,
    tlvs: dict[str | int, TlvValue] | None = None,
    **fields: int | str,
) -> Pdu:
    """submit_sm (§4.4.1); any other mandatory field by keyword (``data_coding=8``, ...)."""
    return _sm(CommandId.SUBMIT_SM, source_addr, destination_addr, short_message, tlvs, fields)


def deliver_sm(
    source_addr: str,
    destination_addr: str,
    short_message: bytes = b"",
    *,
    tlvs: dict[str | int, TlvValue] | None = None,
    **fields: int | str,
) -> Pdu:
    """deliver_sm (§4.6.1): an MO message, or a receipt with ``esm_class=0x04``."""
    return _sm(CommandId.DELIVER_SM, source_addr, destination_addr, short_message, tlvs, fields)


def enquire_link() -> Pdu:
    """enquire_link (§4.11.1)."""
    return Pdu(CommandId.ENQUIRE_LINK)


def unbind() -> Pdu:
    """unbind (§4.2.1)."""
    return Pdu(CommandId.UNBIND)


def submit_sm_resp(request: Pdu, message_id: str, command_status: int = 0) -> Pdu:
    """submit_sm_resp (§4.4.2); an error response carries an empty body."""
    if command_status != CommandStatus.ESME_ROK:
        return response_to(request, command_status)
    return response_to(request, 0, {"message_id": message_id})
