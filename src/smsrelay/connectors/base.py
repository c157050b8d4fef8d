"""The one seam between the engine and a carrier.

A connector submits one message at a time and reports back, through the sink it is started
with, every delivery receipt (and later, mobile-originated message) the carrier sends. It does
no routing and no retries: it answers each submit with the carrier ids of the segments or a
catalogue error, and the engine decides what happens next.

A connector is built from one options object (:mod:`.options`) by the registry
(:mod:`.registry`), which maps each ``type`` to its options model and its class. The SMPP
connector (``smpp``, and ``simulator``, which is SMPP to an embedded carrier simulator) is
one; an HTTP provider connector (``type = "http"``, ``provider = twilio|vonage|...``) is
another of the same shape: an ``HttpOptions`` subclass of ``ConnectorOptions``, a class
whose ``submit`` makes the provider's API call and maps its answer to a
:class:`SubmitOutcome`, and whose ``start`` hands the sink to where the provider's status
callbacks arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from smsrelay.domain.messages import (
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    SubmitOutcome,
)


class InboundSink(Protocol):
    """Where a connector hands what the carrier sends us.

    Both methods must return quickly (they queue, they do not process), because a connector
    calls them from its read loop and answers the carrier only afterwards.
    """

    async def report(self, report: DeliveryReport) -> None: ...

    async def mo(self, message: InboundMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class ConnectorHealth:
    name: str
    up: bool
    detail: str = ""


class Connector(Protocol):
    """What the engine sees of a carrier, whatever the carrier speaks.

    ``national_languages``: the GSM-7 national languages (TS 23.038 Annex A) it sends with
    their shift tables, as its options say (:meth:`~.options.ConnectorOptions.
    sends_national_languages`); routing puts these connectors first for a message counted
    with one, and the accept path counts with a language only when a route has one.
    """

    name: str
    national_languages: frozenset[str]

    async def start(self, sink: InboundSink) -> None:
        """Open connections; from now on receipts flow into ``sink``."""
        ...

    async def stop(self) -> None:
        """Close connections; pending submits fail with carrier_unavailable."""
        ...

    async def submit(self, message: OutboundMessage) -> SubmitOutcome:
        """Submit every segment of ``message``; never raises for carrier-side failures."""
        ...

    def health(self) -> ConnectorHealth: ...
