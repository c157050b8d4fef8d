from __future__ import annotations

import pytest

from smsrelay.smpp.constants import CommandId, CommandStatus
from smsrelay.smpp.states import Role, State, may_send, rejection_status


@pytest.mark.parametrize(
    ("sender", "state", "command", "allowed"),
    [
        (Role.ESME, State.OPEN, CommandId.BIND_TRANSCEIVER, True),
        (Role.ESME, State.OPEN, CommandId.SUBMIT_SM, False),
        (Role.ESME, State.BOUND_TX, CommandId.SUBMIT_SM, True),
        (Role.ESME, State.BOUND_RX, CommandId.SUBMIT_SM, False),
        (Role.ESME, State.BOUND_TRX, CommandId.QUERY_SM, True),
        (Role.ESME, State.BOUND_TX, CommandId.DELIVER_SM, False),
        (Role.MC, State.BOUND_RX, CommandId.DELIVER_SM, True),
        (Role.MC, State.BOUND_TX, CommandId.DELIVER_SM, False),
        (Role.MC, State.BOUND_TRX, CommandId.ALERT_NOTIFICATION, True),
        (Role.MC, State.OPEN, CommandId.OUTBIND, True),
        (Role.ESME, State.BOUND_TX, CommandId.UNBIND, True),
        (Role.ESME, State.UNBOUND, CommandId.SUBMIT_SM, False),
        (Role.MC, State.CLOSED, CommandId.ENQUIRE_LINK, False),
    ],
)
def test_table(sender: Role, state: State, command: int, allowed: bool) -> None:
    assert may_send(sender, state, command) is allowed


def test_rejection_statuses() -> None:
    assert rejection_status(CommandId.SUBMIT_SM, State.OPEN) == CommandStatus.ESME_RINVBNDSTS
    assert (
        rejection_status(CommandId.BIND_TRANSMITTER, State.BOUND_TX) == CommandStatus.ESME_RALYBND
    )
