"""Build connector instances from their configured definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smsrelay.connectors.base import Connector
from smsrelay.connectors.simulator import SimulatorConnector


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
    raise ConnectorConfigError(f"connector {name!r}: type {kind!r} is not supported")


def build_connectors(definitions: Sequence[Mapping[str, Any]]) -> dict[str, Connector]:
    connectors: dict[str, Connector] = {}
    for definition in definitions:
        if definition["name"] in connectors:
            raise ConnectorConfigError(f"connector {definition['name']!r} is defined twice")
        connectors[definition["name"]] = build_connector(definition)
    return connectors
