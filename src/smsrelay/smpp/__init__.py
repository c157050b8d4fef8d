"""smsrelay.smpp: the SMPP 3.4 protocol stack (no knowledge of accounts, messages or storage).

Layers, bottom up (each module's docstring gives its contract):

    constants, specs     the spec's tables as data (command ids, statuses, layouts, TLVs)
    pdu, codec, framing  Pdu values; one encode and one decode walker; command_length framing
    states, timers       bind-state rules; pure timers taking ``now``
    session, events      sans-IO Session(role): bytes in, events out, PDUs in, bytes out
    transport            the asyncio shell: drives a Session over a stream pair
    client, server       ESME and MC roles over the transport
    receipts             delivery-receipt text and TLVs; message-id normalisation
"""

from __future__ import annotations

from .client import Backoff, DeliverHandler, SmppClient, connect, connect_with_backoff
from .constants import (
    NPI,
    TON,
    BindType,
    CommandId,
    CommandStatus,
    DataCoding,
    EsmClass,
    MessageState,
    RegisteredDelivery,
    status_description,
    status_name,
)
from .errors import (
    BindError,
    ConnectionLost,
    LocalProtocolError,
    PduDecodeError,
    ProtocolError,
    RemoteProtocolError,
    ResponseTimeout,
    SessionClosed,
    SmppError,
    WindowFull,
)
from .pdu import Pdu, deliver_sm, response_to, submit_sm, submit_sm_resp
from .receipts import (
    Receipt,
    format_receipt,
    message_id_candidates,
    normalise_message_id,
    parse_receipt,
    receipt_from_pdu,
)
from .server import BindRequest, ServerSession, SmppServer, SmscHandler
from .session import Session
from .specs import DistributionList, SmeAddress, UnsuccessSme
from .states import Role, State

__all__ = [
    "NPI",
    "TON",
    "Backoff",
    "BindError",
    "BindRequest",
    "BindType",
    "CommandId",
    "CommandStatus",
    "ConnectionLost",
    "DataCoding",
    "DeliverHandler",
    "DistributionList",
    "EsmClass",
    "LocalProtocolError",
    "MessageState",
    "Pdu",
    "PduDecodeError",
    "ProtocolError",
    "Receipt",
    "RegisteredDelivery",
    "RemoteProtocolError",
    "ResponseTimeout",
    "Role",
    "ServerSession",
    "Session",
    "SessionClosed",
    "SmeAddress",
    "SmppClient",
    "SmppError",
    "SmppServer",
    "SmscHandler",
    "State",
    "UnsuccessSme",
    "WindowFull",
    "connect",
    "connect_with_backoff",
    "deliver_sm",
    "format_receipt",
    "message_id_candidates",
    "normalise_message_id",
    "parse_receipt",
    "receipt_from_pdu",
    "response_to",
    "status_description",
    "status_name",
    "submit_sm",
    "submit_sm_resp",
]
