"""An in-memory ESME session ↔ MC session pair (h11's tests/helpers.py idea)."""

from __future__ import annotations

from typing import Any

from smsrelay.smpp.constants import BindType
from smsrelay.smpp.events import NEED_DATA, ConnectionClosed, Event, PduReceived
from smsrelay.smpp.pdu import Pdu, bind, response_to
from smsrelay.smpp.session import Session
from smsrelay.smpp.states import Role


def feed(dst: Session, data: bytes, now: float | None = None) -> list[Event]:
    """Give ``data`` to ``dst`` and collect every event it yields until it needs more."""
    dst.receive_data(data, now)
    events: list[Event] = []
    while True:
        event = dst.next_event()
        if event is NEED_DATA:
            return events
        events.append(event)  # type: ignore[arg-type]
        if isinstance(event, ConnectionClosed):
            return events


class Pair:
    """Two sessions wired back to back; every method returns the receiving side's events."""

    def __init__(self, **kwargs: Any) -> None:
        self.esme = Session(Role.ESME, **kwargs)
        self.mc = Session(Role.MC, **kwargs)

    def esme_sends(self, pdu: Pdu, context: object = None, now: float | None = None) -> list[Event]:
        return feed(self.mc, self.esme.send(pdu, now, context), now)

    def mc_sends(self, pdu: Pdu, context: object = None, now: float | None = None) -> list[Event]:
        return feed(self.esme, self.mc.send(pdu, now, context), now)

    def mc_auto_replies(self) -> list[Event]:
        return feed(self.esme, self.mc.data_to_send())

    def esme_auto_replies(self) -> list[Event]:
        return feed(self.mc, self.esme.data_to_send())

    def bind(self, bind_type: BindType = BindType.TRANSCEIVER) -> None:
        [received] = self.esme_sends(bind(bind_type, "user", "pw"))
        assert isinstance(received, PduReceived)
        self.mc_sends(response_to(received.pdu, 0, {"system_id": "mc"}))
