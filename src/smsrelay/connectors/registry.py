"""Connector types: each ``type`` maps to its options model and the factory that builds it.

This is the one list of known types. The config file and the admin API validate a connector
definition with :func:`connector_options` (so both accept and refuse the same things), and the
composition root builds connectors with :func:`build_connector`. Adding a connector type is
one entry in ``_KINDS``: an options subclass (:mod:`.options`) and a class that implements
:class:`~.base.Connector` from it. An HTTP provider connector (``type = "http"``) is
refused here when its ``provider`` has no implementation in this version.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsrelay.connectors.base import Connector
from smsrelay.connectors.embedded import EmbeddedSimulatorConnector
from smsrelay.connectors.http.connector import HttpConnector
from smsrelay.connectors.http.providers import available_providers
from smsrelay.connectors.options import (
    ConnectorOptions,
    HttpOptions,
    SimulatorOptions,
    SmppOptions,
)
from smsrelay.connectors.smpp import SmppConnector

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "DEFAULT_TYPE",
    "ConnectorConfigError",
    "Environment",
    "Kind",
    "build_connector",
    "build_connectors",
    "connector_options",
    "connector_types",
]

#: The type of a ``[[connectors]]`` table that names none.
DEFAULT_TYPE = "simulator"

#: Where providers reach our callback endpoints unless ``SMSRELAY_PUBLIC_URL`` says.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class Environment:
    """What a connector is built with besides its options: the clocks, and the public
    address of our API (where HTTP providers send their callbacks)."""

    now: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    public_url: str = DEFAULT_PUBLIC_URL


class ConnectorConfigError(ValueError):
    """A connector definition that cannot be built: unknown or unavailable type, or a name
    given twice."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One connector type: how its definition is checked, and how it is built.

    ``build`` receives the options (an instance of ``options``) and the environment.
    """

    options: type[ConnectorOptions]
    build: Callable[[Any, Environment], Connector]


def _smpp(options: SmppOptions, env: Environment) -> Connector:
    return SmppConnector(options, now=env.now, wall=env.wall)


def _simulator(options: SimulatorOptions, env: Environment) -> Connector:
    return EmbeddedSimulatorConnector(options, now=env.now, wall=env.wall)


def _http(options: HttpOptions, env: Environment) -> Connector:
    return HttpConnector(options, public_url=env.public_url, now=env.now, wall=env.wall)


_KINDS: dict[str, Kind] = {
    "smpp": Kind(SmppOptions, _smpp),
    "simulator": Kind(SimulatorOptions, _simulator),
    "http": Kind(HttpOptions, _http),
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
    if kind not in _KINDS:
        known = ", ".join(_KINDS)
        raise ConnectorConfigError(f"connector {name!r}: unknown type {kind!r} (known: {known})")
    options = _KINDS[kind].options.model_validate({**definition, "type": kind})
    if isinstance(options, HttpOptions) and options.provider not in available_providers():
        raise ConnectorConfigError(
            f"connector {name!r}: provider {options.provider!r} is not available in this "
            f"version (available: {', '.join(available_providers())})"
        )
    return options


def build_connector(options: ConnectorOptions, env: Environment | None = None) -> Connector:
    """The connector ``options`` describe, not yet started."""
    return _KINDS[options.type].build(options, env or Environment())


def build_connectors(
    definitions: Iterable[ConnectorOptions], env: Environment | None = None
) -> dict[str, Connector]:
    """Every connector by name; a name given twice is refused."""
    connectors: dict[str, Connector] = {}
    for options in definitions:
        if options.name in connectors:
            raise ConnectorConfigError(f"connector {options.name!r} is defined twice")
        connectors[options.name] = build_connector(options, env)
    return connectors
