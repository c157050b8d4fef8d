"""Bind states and which requests each side may send in each of them (§2.2, §2.3).

Everything that decides whether a request is legal lives in this table, and the table does
not know which role we play: the rules are stated as "what an ESME may send to an MC in state
S" and "what an MC may send to an ESME in state S", so both ends check the same facts (h11's
``_state.py`` does the same). A request not allowed in the current state is answered with
ESME_RINVBNDSTS (ESME_RALYBND for a second bind), never with a crash.

Responses are not in the table: one is legal in any state but CLOSED if it answers a request
we sent, and generic_nack may answer anything.
"""

from __future__ import annotations

from enum import Enum

from .constants import BindType, CommandId, CommandStatus

__all__ = [
    "BIND_STATE",
    "Role",
    "State",
    "may_send",
    "rejection_status",
]


class Role(Enum):
    """Which end of the session we are."""

    ESME = "esme"  # the client: binds, submits (§2.1)
    MC = "mc"  # the message centre / SMSC: listens, accepts binds, delivers


class State(Enum):
    """Session states (§2.2). UNBOUND: an unbind was sent or received; CLOSED: no socket."""

    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBOUND = "unbound"
    CLOSED = "closed"

    @property
    def is_bound(self) -> bool:
        return self in (State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX)


#: The state a successful bind_*_resp moves both ends into.
BIND_STATE: dict[int, State] = {
    BindType.TRANSMITTER: State.BOUND_TX,
    BindType.RECEIVER: State.BOUND_RX,
    BindType.TRANSCEIVER: State.BOUND_TRX,
}

_BINDS = frozenset(
    {CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}
)
_ALWAYS = frozenset({CommandId.ENQUIRE_LINK})
_BOUND = _ALWAYS | {CommandId.UNBIND}
# §2.3 table 2-1: operations an ESME may issue, by its bind.
_ESME_TX = frozenset(
    {
        CommandId.SUBMIT_SM,
        CommandId.SUBMIT_MULTI,
        CommandId.DATA_SM,
        CommandId.QUERY_SM,
        CommandId.CANCEL_SM,
        CommandId.REPLACE_SM,
    }
)
# §2.3: operations an MC may issue towards a receiver.
_MC_RX = frozenset({CommandId.DELIVER_SM, CommandId.DATA_SM, CommandId.ALERT_NOTIFICATION})

_ESME_SENDS: dict[State, frozenset[int]] = {
    State.OPEN: _BINDS | _ALWAYS,
    State.BOUND_TX: _BOUND | _ESME_TX,
    State.BOUND_RX: _BOUND,
    State.BOUND_TRX: _BOUND | _ESME_TX,
    State.UNBOUND: frozenset(),
    State.CLOSED: frozenset(),
}
_MC_SENDS: dict[State, frozenset[int]] = {
    State.OPEN: _ALWAYS | {CommandId.OUTBIND},
    State.BOUND_TX: _BOUND,
    State.BOUND_RX: _BOUND | _MC_RX,
    State.BOUND_TRX: _BOUND | _MC_RX,
    State.UNBOUND: frozenset(),
    State.CLOSED: frozenset(),
}
_SENDS = {Role.ESME: _ESME_SENDS, Role.MC: _MC_SENDS}


def may_send(sender: Role, state: State, command_id: int) -> bool:
    """May ``sender`` issue request ``command_id`` while the session is in ``state``?"""
    return command_id in _SENDS[sender][state]


def rejection_status(command_id: int, state: State) -> int:
    """The command_status to answer a request that is not allowed in ``state``."""
    if command_id in _BINDS and state.is_bound:
        return CommandStatus.ESME_RALYBND
    return CommandStatus.ESME_RINVBNDSTS
