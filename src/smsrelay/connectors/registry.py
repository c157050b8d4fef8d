"""Connector types: each ``type`` maps to its options model and the factory that builds it.

This is the one list of known types. The config file and the admin API validate a connector
definition with :func:`connector_options` (so both accept and refuse the same things), and the
composition root builds connectors with :func:`build_connector`. Adding a connector type is
one entry in ``_KINDS``: an options subclass (:mod:`.options`) and a class that implements
:class:`~.base.Connector` from it. ``_NOT_AVAILABLE`` names the types DESIGN.md reserves whose
implementation is not in this version, so they are refused with a clear reason rather than
as unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsrelay.connectors.base import Connector
from smsrelay.connectors.embedded import EmbeddedSimulatorConnector
from smsrelay.connectors.options import ConnectorOptions, SimulatorOptions, SmppOptions
from smsrelay.connectors.smpp import SmppConnector

__all__ = [
    "DEFAULT_TYPE",
    "ConnectorConfigError",
    "Kind",
    "build_connector",
    "build_connectors",
    "connector_options",
    "connector_types",
]

#: The type of a ``[[connectors]]`` table that names none.
DEFAULT_TYPE = "simulator"


class ConnectorConfigError(ValueError):
    """A connector definition that cannot be built: unknown or unavailable type, or a name
    given twice."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One connector type: how its definition is checked, and how it is built.

    ``build`` receives the options (an instance of ``options``), the monotonic clock and
    the wall clock.
    """

    options: type[ConnectorOptions]
    build: Callable[[Any, Callable[[], float], Callable[[], float]], Connector]


def _smpp(options: SmppOptions, now: Callable[[], float], wall: Callable[[], float]) -> Connector:
    return SmppConnector(options, now=now, wall=wall)


def _simulator(
    options: SimulatorOptions, now: Callable[[], float], wall: Callable[[], float]
) -> Connector:
    return EmbeddedSimulatorConnector(options, now=now, wall=wall)


_KINDS: dict[str, Kind] = {
    "smpp": Kind(SmppOptions, _smpp),
    "simulator": Kind(SimulatorOptions, _simulator),
}

_NOT_AVAILABLE: dict[str, str] = {
    "http": "HTTP provider connectors are not available in this version",
}


def connector_types() -> list[str]:
    """The types a connector definition may name."""
    return list(_KINDS)


def connector_options(definition: Mapping[str, Any] | ConnectorOptions) -> ConnectorOptions:
    """A definition (a ``[[connectors]]`` table, an admin API body) → its type's options.

    Raises :class:`ConnectorConfigError` for a type that is unknown or not available, and
    pydantic's ``ValidationError`` (a ``ValueError`` too) for a bad field.
    """
    if isinstance(definition, ConnectorOptions):
        return definition
    if not isinstance(definition, Mapping):
        raise ConnectorConfigError("a connector definition is a table of options")
    kind = definition.get("type", DEFAULT_TYPE)
    name = definition.get("name", "?")
    if kind in _NOT_AVAILABLE:
        raise ConnectorConfigError(f"connector {name!r}: {_NOT_AVAILABLE[kind]}")
    if kind not in _KINDS:
        known = ", ".join(_KINDS)
        raise ConnectorConfigError(f"connector {name!r}: unknown type {kind!r} (known: {known})")
    return _KINDS[kind].options.model_validate({**definition, "type": kind})


def build_connector(
    options: ConnectorOptions,
    *,
    now: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Connector:
    """The connector ``options`` describe, not yet started."""
    return _KINDS[options.type].build(options, now, wall)


def build_connectors(
    definitions: Iterable[ConnectorOptions],
    *,
    now: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> dict[str, Connector]:
    """Every connector by name; a name given twice is refused."""
    connectors: dict[str, Connector] = {}
    for options in definitions:
        if options.name in connectors:
            raise ConnectorConfigError(f"connector {options.name!r} is defined twice")
        connectors[options.name] = build_connector(options, now=now, wall=wall)
    return connectors
