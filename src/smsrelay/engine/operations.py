"""Operator actions on a running gateway: connectors added and removed, the route table, why
a number routes where it does. The admin API calls :class:`Operations`; the composition root
only builds it.

What an operator changes outlives a restart: connectors added here and the route table are
stored (:mod:`smsrelay.store.routes`), and :func:`load_catalog` and :func:`stored_routes`
read them back at start. The configuration file wins over what was stored: a stored
connector whose name the file uses is skipped, and a stored route table that names a
connector that no longer exists is set aside for the file's routes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from smsrelay.connectors.base import Connector, InboundSink
from smsrelay.connectors.http.connector import HttpConnector
from smsrelay.connectors.options import ConnectorOptions
from smsrelay.connectors.registry import Environment, build_connector, connector_options
from smsrelay.domain.circuit import CircuitBreaker
from smsrelay.domain.routing import (
    Explanation,
    Route,
    explain,
    route_from_dict,
    route_to_dict,
    select_route,
)
from smsrelay.domain.scoring import AdaptiveWeights
from smsrelay.engine.clock import Clock, refresh_every
from smsrelay.engine.lanes import Lane
from smsrelay.store import accounts as account_store
from smsrelay.store import routes as route_store
from smsrelay.store import stats as stats_store
from smsrelay.store.db import Database

__all__ = ["AccountNames", "ConnectorCatalog", "Operations", "load_catalog", "stored_routes"]

log = logging.getLogger(__name__)


class Dispatch(Protocol):
    """What operations change in the dispatcher (its routes and connectors) and read from
    it (each connector's send lane and circuit)."""

    @property
    def lanes(self) -> Mapping[str, Lane]: ...

    @property
    def circuits(self) -> Mapping[str, CircuitBreaker]: ...

    @property
    def routes(self) -> list[Route]: ...

    @property
    def adaptive(self) -> AdaptiveWeights: ...

    @property
    def connector_languages(self) -> Mapping[str, frozenset[str]]: ...

    def set_routes(self, routes: Sequence[Route]) -> None: ...

    def add_connector(
        self,
        name: str,
        connector: Connector,
        *,
        rate: float = 0.0,
        country_rates: Mapping[str, float] | None = None,
        prices: Mapping[str, float] | None = None,
    ) -> None: ...

    async def remove_connector(self, name: str) -> None: ...


@dataclass
class ConnectorCatalog:
    """Every connector's options by name, and which were added through the admin API (only
    those may be removed there; the file's stay until the file changes)."""

    options: dict[str, ConnectorOptions]
    added: set[str] = field(default_factory=set)

    def definitions(self) -> dict[str, dict[str, Any]]:
        """Each connector's options as a plain table (rates and prices are read from it)."""
        return {name: o.definition() for name, o in self.options.items()}

    def prices(self) -> dict[str, dict[str, float]]:
        return {name: dict(o.prices) for name, o in self.options.items()}


async def load_catalog(db: Database, configured: Iterable[ConnectorOptions]) -> ConnectorCatalog:
    """The configured connectors and, after them, those added through the admin API that are
    still usable (a stored definition the registry refuses is logged and skipped)."""
    catalog = ConnectorCatalog({o.name: o for o in configured})
    async with db.read() as conn:
        stored = await route_store.load_connectors(conn)
    for definition in stored:
        try:
            options = connector_options(definition)
        except ValueError as error:
            log.error("stored connector %r unusable: %s", definition.get("name"), error)
            continue
        if options.name in catalog.options:
            log.error(
                "stored connector %r: the config file defines that name; using the file's",
                options.name,
            )
            continue
        catalog.options[options.name] = options
        catalog.added.add(options.name)
    return catalog


async def stored_routes(db: Database, connectors: Iterable[str]) -> list[Route] | None:
    """The route table set through the admin API, if any and if it names only ``connectors``."""
    async with db.read() as conn:
        definitions = await route_store.load_routes(conn)
    if not definitions:
        return None
    try:
        routes = [route_from_dict(d) for d in definitions]
    except ValueError as error:
        log.error("stored route table unusable (%s); using the configured routes", error)
        return None
    unknown = {c for r in routes for c in r.connectors} - set(connectors)
    if unknown:
        log.error(
            "stored route table names unknown connectors %s; using the configured routes",
            sorted(unknown),
        )
        return None
    return routes


class Operations:
    """The running gateway as the admin API sees it.

    ``connectors`` is the dict the gateway runs with (shared, so a connector added here is
    stopped with the others); ``sink`` is where a new connector reports receipts.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        dispatch: Dispatch,
        connectors: dict[str, Connector],
        catalog: ConnectorCatalog,
        sink: InboundSink,
        env: Environment | None = None,
    ) -> None:
        self._env = env or Environment()
        self._db = db
        self._clock = clock
        self._dispatch = dispatch
        self._connectors = connectors
        self._catalog = catalog
        self._sink = sink

    def connector_status(self) -> list[dict[str, Any]]:
        """Each connector's health, circuit, send lane and rate."""
        rows = []
        for name, connector in self._connectors.items():
            health = connector.health()
            lane = self._dispatch.lanes.get(name)
            circuit = self._dispatch.circuits.get(name)
            rows.append(
                {
                    "name": name,
                    "up": health.up,
                    "detail": health.detail,
                    "circuit": str(circuit.state) if circuit else None,
                    "rate": lane.rate if lane is not None else 0.0,
                    "queued": len(lane) if lane is not None else 0,
                    "sent": lane.sent if lane is not None else 0,
                }
            )
        return rows

    def routes(self) -> list[Route]:
        return self._dispatch.routes

    def provider_endpoint(self, name: str) -> HttpConnector | None:
        """The HTTP provider connector ``name``, whose callbacks the API receives."""
        connector = self._connectors.get(name)
        return connector if isinstance(connector, HttpConnector) else None

    def connector_names(self) -> list[str]:
        return list(self._connectors)

    async def add_connector(self, definition: dict[str, Any]) -> None:
        """Validate, build, start and store a connector; routes may name it at once.

        Raises ``ValueError`` (pydantic's ``ValidationError`` for a bad field) for what the
        registry refuses and for a name in use.
        """
        options = connector_options(definition)
        if options.name in self._connectors:
            raise ValueError(f"a connector named {options.name!r} exists")
        connector = build_connector(options, self._env)
        await connector.start(self._sink)
        try:
            async with self._db.transaction() as conn:
                await route_store.save_connector(conn, options.definition(), self._clock.now())
        except BaseException:
            with contextlib.suppress(Exception):
                await connector.stop()
            raise
        self._connectors[options.name] = connector
        self._catalog.options[options.name] = options
        self._catalog.added.add(options.name)
        self._dispatch.add_connector(
            options.name,
            connector,
            rate=options.throughput,
            country_rates=options.country_throughput,
            prices=options.prices,
        )
        log.info("connector %s added (%s)", options.name, options.type)

    async def remove_connector(self, name: str) -> None:
        """Stop and forget a connector added at run time that no route names.

        Raises ``LookupError`` for an unknown name, ``ValueError`` for a connector of the
        configuration file or one a route still names.
        """
        if name not in self._connectors:
            raise LookupError(name)
        if name not in self._catalog.added:
            raise ValueError(f"connector {name!r} is declared in the configuration file")
        await self._dispatch.remove_connector(name)
        connector = self._connectors.pop(name)
        self._catalog.added.discard(name)
        self._catalog.options.pop(name, None)
        with contextlib.suppress(Exception):
            await connector.stop()
        async with self._db.transaction() as conn:
            await route_store.delete_connector(conn, name)
        log.info("connector %s removed", name)

    async def replace_routes(self, routes: list[Route]) -> None:
        """Use ``routes`` from now on, and keep them (they outlive a restart)."""
        async with self._db.transaction() as conn:
            await route_store.save_routes(
                conn, [route_to_dict(r) for r in routes], self._clock.now()
            )
        self._dispatch.set_routes(routes)
        log.info("route table replaced: %s", ", ".join(r.name for r in routes))

    async def connector_stats(self, window: float | None = None) -> dict[str, list[dict[str, Any]]]:
        """Each connector's measured delivery per destination country over ``window``
        seconds (default: the adaptive strategy's), read from the database."""
        window = window or self._dispatch.adaptive.window
        async with self._db.read() as conn:
            table = await stats_store.read_window(conn, self._clock.now() - window)
        return {
            name: [
                {"country": country or None, "window": window, **stats.to_dict()}
                for country, stats in sorted(table.get(name, {}).items())
            ]
            for name in self._connectors
        }

    async def explain(
        self,
        *,
        to: str,
        country: str | None,
        kind: str,
        account: str,
        language: str | None = None,
    ) -> Explanation:
        """Why a message would take its route and connectors; for an adaptive route with
        every connector's score as measured now; with ``language``, for a message counted
        with that national language's tables (which connectors send them come first)."""
        routes = self._dispatch.routes
        adaptive = self._dispatch.adaptive
        route = select_route(routes, to=to, country=country, kind=kind, account=account)
        stats = None
        if route is not None and route.strategy == "adaptive":
            window = (route.adaptive or adaptive).window
            async with self._db.read() as conn:
                stats = await stats_store.read_window(conn, self._clock.now() - window)
        return explain(
            routes,
            to=to,
            country=country,
            kind=kind,
            account=account,
            prices=self._catalog.prices(),
            stats=stats,
            adaptive=adaptive,
            language=language,
            languages=self._dispatch.connector_languages,
        )


class AccountNames:
    """Account names by id, for what the dispatcher writes into callbacks and logs; re-read
    every ``interval`` seconds of the clock, since accounts are renamed and added while the
    gateway runs."""

    def __init__(self, db: Database, clock: Clock, interval: float = 10.0) -> None:
        self._db = db
        self._clock = clock
        self._interval = interval
        self.by_id: dict[str, str] = {}

    def name(self, account_id: str) -> str:
        return self.by_id.get(account_id, account_id)

    async def refresh(self) -> None:
        async with self._db.read() as conn:
            accounts = await account_store.list_accounts(conn)
        self.by_id = {a.id: a.name for a in accounts}

    async def run(self) -> None:
        """Refresh until cancelled; a failed read keeps the names already known."""
        await refresh_every(
            self._clock,
            self._interval,
            self.refresh,
            failed="reading account names failed; keeping the old ones",
        )
