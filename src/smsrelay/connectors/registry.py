"""Build connector instances from their configured definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smsrelay.connectors.base import Connector
from smsrelay.connectors.simulator import SimulatorConnector
from smsrelay.connectors.smpp import SmppConnector


class ConnectorConfigError(ValueError):
    """A connector definition that cannot be built."""


def build_connector(definition: Mapping[str, Any]) -> Connector:
    kind = definition.get("type", "simulator")
    name = definition["name"]
    if kind == "simulator":
        return SimulatorConnector(
            name,
            latency=float(definition.get("latency_ms", 5.0)) / 1000.0,
            dlr_delay=float(definition.get("dlr_delay_ms", 200.0)) / 1000.0,
            outcomes=definition.get("outcomes") or {"delivered": 1.0},
            transient_error_rate=float(definition.get("transient_error_rate", 0.0)),
            seed=definition.get("seed"),
        )
    if kind == "smpp":
        return _smpp_connector(name, definition)
    raise ConnectorConfigError(f"connector {name!r}: type {kind!r} is not supported")


def _smpp_connector(name: str, d: Mapping[str, Any]) -> Connector:
    """An SMPP carrier; the keys and defaults are those of ``ConnectorConfig``."""
    try:
        return SmppConnector(
            name,
            host=d.get("host", "127.0.0.1"),
            port=int(d.get("port", 2775)),
            system_id=d.get("system_id", "smsrelay"),
            password=d.get("password", ""),
            system_type=d.get("system_type", ""),
            bind=d.get("bind", "transceiver"),
            binds=int(d.get("binds", 1)),
            window=int(d.get("window", 10)),
            throughput=float(d.get("throughput", 0.0)),
            long_messages=d.get("long_messages", "udh"),
            data_coding=d.get("data_coding", "default"),
            gsm7_packing=bool(d.get("gsm7_packing", False)),
            receipt_id_format=d.get("receipt_id_format", "same"),
            service_type=d.get("service_type", ""),
            default_sender=d.get("default_sender", ""),
            response_timeout=float(d.get("response_timeout", 10.0)),
            enquire_link_interval=float(d.get("enquire_link_interval", 30.0)),
        )
    except ValueError as exc:
        raise ConnectorConfigError(str(exc)) from None


def build_connectors(definitions: Sequence[Mapping[str, Any]]) -> dict[str, Connector]:
    connectors: dict[str, Connector] = {}
    for definition in definitions:
        if definition["name"] in connectors:
            raise ConnectorConfigError(f"connector {definition['name']!r} is defined twice")
        connectors[definition["name"]] = build_connector(definition)
    return connectors
