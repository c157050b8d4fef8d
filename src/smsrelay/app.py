"""Composition root: build the store, connectors, engine and API from Settings; run them.

``SmsRelay`` owns the start and stop order: the store first, then the unit of work that every
engine writer joins (``engine/unit_of_work.py``) and the consumers of work (committer, webhook
outbox, receipt processor), then the connectors that produce receipts, then the dispatcher that
feeds the connectors. Stopping runs the other way, the unit of work last, so nothing accepted
is dropped on a clean shutdown and a crash leaves only leases that expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from smsrelay.config import ConnectorConfig, Settings
from smsrelay.connectors.base import Connector
from smsrelay.connectors.registry import build_connector, build_connectors
from smsrelay.domain.messages import DeliveryReport, InboundMessage
from smsrelay.domain.retry import Backoff, RetryPolicy, WebhookRetryPolicy
from smsrelay.domain.routing import (
    Explanation,
    Route,
    explain,
    route_from_dict,
    route_to_dict,
)
from smsrelay.engine.accept import Acceptor, AcceptPolicy
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.budget import budget_for
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import Clock, SystemClock
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.dlr import DlrProcessor
from smsrelay.engine.inbound import InboundProcessor
from smsrelay.engine.outbox import WebhookOutbox
from smsrelay.engine.throttle import AccountRate
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.engine.webhooks import WebhookSender
from smsrelay.gateway.http.app import create_app
from smsrelay.gateway.http.context import ApiContext
from smsrelay.gateway.smpp_server import ClientSmppServer, SmppServerConfig
from smsrelay.simulator import CarrierSimulator
from smsrelay.store import accounts as account_store
from smsrelay.store import routes as route_store
from smsrelay.store.db import Database, upgrade

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "default"
FIRST_KEY_SCOPES = ("send", "read", "admin")


@dataclass(frozen=True)
class Bootstrap:
    """What happened on first start: the key file written, if any."""

    key_file: Path | None


async def open_database(settings: Settings) -> Database:
    """Migrate to the latest schema, then open the database."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, url)
    return await Database.open(url)


def write_key_file(path: Path, key: str) -> None:
    """Write the key alone on one line, readable only by its owner (0600 from creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(path, 0o600)


async def bootstrap(db: Database, settings: Settings, clock: Clock) -> Bootstrap:
    """On an empty database, create the ``default`` account and its first API key."""
    async with db.transaction() as conn:
        if await account_store.list_accounts(conn):
            return Bootstrap(None)
        account = await account_store.create_account(conn, DEFAULT_ACCOUNT, clock.now())
        _, key = await account_store.create_api_key(
            conn, account.id, FIRST_KEY_SCOPES, clock.now(), name="first key"
        )
    write_key_file(settings.key_file, key)
    return Bootstrap(settings.key_file)


def smpp_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server TLS context for client binds, when a certificate and key are configured."""
    if settings.smpp_tls_cert is None and settings.smpp_tls_key is None:
        return None
    if settings.smpp_tls_cert is None or settings.smpp_tls_key is None:
        raise ValueError("SMPP TLS needs both smpp_tls_cert and smpp_tls_key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.smpp_tls_cert, settings.smpp_tls_key)
    return context


def routes_from(settings: Settings) -> list[Route]:
    return [
        Route(
            name=r.name,
            connectors=tuple(r.connectors),
            countries=frozenset(c.upper() for c in r.countries),
            prefixes=tuple(r.prefixes),
            kinds=frozenset(r.kinds),
            accounts=frozenset(r.accounts),
            strategy=r.strategy,
            weights=dict(r.weights),
        )
        for r in settings.effective_routes()
    ]


class CarrierSink:
    """What connectors report to: receipts go to the DLR processor, MO messages to inbound."""

    def __init__(self, dlr: DlrProcessor, inbound: InboundProcessor) -> None:
        self._dlr = dlr
        self._inbound = inbound

    async def report(self, report: DeliveryReport) -> None:
        await self._dlr.report(report)

    async def mo(self, message: InboundMessage) -> None:
        await self._inbound.mo(message)


class SmsRelay:
    """A whole running gateway: store, connectors, engine and the HTTP API's context."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        connectors: dict[str, Connector] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._given_connectors = connectors
        self.db: Database | None = None
        self.connectors: dict[str, Connector] = {}
        self.bootstrap_result = Bootstrap(None)
        self._account_names: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.embedded_carrier: CarrierSimulator | None = None
        self._runtime_connectors: set[str] = set()  # added through the admin API
        self._definitions: dict[str, dict[str, Any]] = {}
        self.smpp_server: ClientSmppServer | None = None

    async def start(self) -> None:
        s = self.settings
        self.db = db = await open_database(s)
        self.bootstrap_result = await bootstrap(db, s, self.clock)
        await self._refresh_account_names()
        # one unit of work per loop turn for every engine writer, on every database
        # (engine/unit_of_work.py): accepts, submit results, receipts, inbound messages and
        # webhook attempts share its transaction, and the dispatcher and the webhook outbox
        # claim inside it
        self.uow = UnitOfWork(db, self.clock)
        policy = WebhookRetryPolicy(
            window=s.webhook_retry_window,
            backoff=Backoff(s.webhook_retry_base, 2.0, s.webhook_retry_cap),
        )
        self.webhooks = WebhookOutbox(
            self.uow,
            self.clock,
            WebhookSender(
                db,
                self.clock,
                timeout=s.webhook_timeout,
                concurrency=s.webhook_concurrency,
                per_host=s.webhook_per_host,
                host_backoff=policy.backoff,
                block_private=s.webhook_block_private,
            ),
            policy=policy,
        )
        self.dlr = DlrProcessor(self.uow, self.clock, outbox=self.webhooks)
        self.inbound = InboundProcessor(
            self.uow,
            self.clock,
            optout_keywords=s.optout_keywords,
            optin_keywords=s.optin_keywords,
            outbox=self.webhooks,
        )
        definitions = await self._connector_definitions()
        stored = await self._stored_connectors({d["name"] for d in definitions})
        self._runtime_connectors = {d["name"] for d in stored}
        self.connectors = self._given_connectors or build_connectors(definitions + stored)
        self._definitions = {c.name: c.model_dump() for c in s.effective_connectors()}
        self._definitions.update({d["name"]: d for d in definitions + stored})
        retry = RetryPolicy(
            max_attempts=s.max_attempts, backoff=Backoff(base=s.retry_base, cap=s.retry_cap)
        )
        self.dispatcher = Dispatcher(
            self.uow,
            self.connectors,
            await self._stored_routes() or routes_from(s),
            retry,
            self.clock,
            settings=DispatchSettings(
                worker_id=f"{socket.gethostname()}-{os.getpid()}",
                claim_batch=s.claim_batch,
                max_inflight=s.max_inflight,
                lease_seconds=s.lease_seconds,
                dlr_timeout=s.dlr_timeout,
                unmatched_receipt_ttl=s.unmatched_receipt_ttl,
            ),
            account_names=lambda account_id: self._account_names.get(account_id, account_id),
            outbox=self.webhooks,
            rates={n: float(d.get("throughput", 0.0)) for n, d in self._definitions.items()},
            prices={n: d.get("prices") or {} for n, d in self._definitions.items()},
            country_rates={
                n: d.get("country_throughput") or {} for n, d in self._definitions.items()
            },
        )
        # one of several processes (workers, or nodes on one PostgreSQL): limits are shared
        shared = s.worker_index is not None or db.dialect == "postgresql"
        self.budget = budget_for(db, shared=shared)
        self.committer = GroupCommitter(self.uow, dispatch=self.dispatcher.claims)
        self.acceptor = Acceptor(
            self.committer,
            AcceptPolicy(
                max_segments=s.max_segments,
                strict_numbers=s.number_validation == "strict",
                smart_encoding=s.smart_encoding,
                default_validity=s.default_validity,
            ),
            self.clock,
            rng=random.Random(),
            db=db,
            rate=AccountRate(rate=s.rate_limit, burst=s.rate_burst, budget=self.budget),
        )
        self.canceller = Canceller(self.uow, self.webhooks)
        await self.uow.start()
        await self.committer.start()
        await self.webhooks.start()
        await self.webhooks.run()
        await self.dlr.start()
        await self.inbound.start()
        self.sink = CarrierSink(self.dlr, self.inbound)
        for connector in self.connectors.values():
            await connector.start(self.sink)
        await self.dispatcher.start()
        if s.smpp_server_enabled:
            self.smpp_server = ClientSmppServer(
                db,
                self.acceptor,
                self.canceller,
                self.clock,
                SmppServerConfig(
                    host=s.smpp_host,
                    port=s.smpp_port,
                    window=s.smpp_window,
                    response_timeout=s.smpp_response_timeout,
                    reassembly_timeout=s.smpp_reassembly_timeout,
                    retry_delay=s.smpp_retry_delay,
                    tls=smpp_tls_context(s),
                ),
            )
            await self.smpp_server.start()
        self._tasks.append(asyncio.create_task(self._account_name_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.smpp_server is not None:  # first: no new submits while the rest stops
            with contextlib.suppress(Exception):
                await self.smpp_server.stop()
        await self.dispatcher.stop()
        for connector in self.connectors.values():
            with contextlib.suppress(Exception):
                await connector.stop()
        if self.embedded_carrier is not None:
            with contextlib.suppress(Exception):
                await self.embedded_carrier.stop()
            self.embedded_carrier = None
        await self.dlr.stop()
        await self.inbound.stop()
        await self.committer.stop()
        await self.webhooks.stop()
        await self.uow.stop()
        if self.db is not None:
            await self.db.close()

    async def _connector_definitions(self) -> list[dict[str, Any]]:
        """The configured connectors. With none, the default route's carrier is the built-in
        simulator, embedded in this process and reached over real SMPP on 127.0.0.1
        (``SMSRELAY_SIMULATOR_PORT``, else an ephemeral port), so the default setup runs
        the same code path as a real carrier."""
        s = self.settings
        if s.connectors:
            return [c.model_dump() for c in s.connectors]
        self.embedded_carrier = CarrierSimulator(host="127.0.0.1", port=s.simulator_port)
        await self.embedded_carrier.start()
        default = ConnectorConfig(
            name="simulator",
            type="smpp",
            host="127.0.0.1",
            port=self.embedded_carrier.port,
            window=100,
        )
        log.info("embedded carrier simulator on 127.0.0.1:%d", self.embedded_carrier.port)
        return [default.model_dump()]

    def api_context(self) -> ApiContext:
        assert self.db is not None
        s = self.settings
        return ApiContext(
            db=self.db,
            acceptor=self.acceptor,
            canceller=self.canceller,
            clock=self.clock,
            max_batch=s.max_batch,
            strict_numbers=s.number_validation == "strict",
            on_callbacks=self.webhooks.wake,
            operations=self,
        )

    # -- operations seen by the admin API --------------------------------------------------

    def connector_status(self) -> list[dict[str, Any]]:
        """Each connector's health, circuit, send lane and rate, for the admin API."""
        rows = []
        for name, connector in self.connectors.items():
            health = connector.health()
            lane = self.dispatcher.lanes.get(name)
            circuit = self.dispatcher.circuits.get(name)
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
        return self.dispatcher.routes

    def connector_names(self) -> list[str]:
        return list(self.connectors)

    async def _stored_connectors(self, taken: set[str]) -> list[dict[str, Any]]:
        """Connectors added through the admin API, validated; a name the config file already
        uses is skipped (the file wins)."""
        assert self.db is not None
        async with self.db.read() as conn:
            stored = await route_store.load_connectors(conn)
        usable = []
        for definition in stored:
            try:
                config = ConnectorConfig.model_validate(definition)
            except ValueError as error:
                log.error("stored connector %r unusable: %s", definition.get("name"), error)
                continue
            if config.name in taken:
                log.error(
                    "stored connector %r: the config file defines that name; using the file's",
                    config.name,
                )
                continue
            usable.append(config.model_dump())
        return usable

    async def add_connector(self, definition: dict[str, Any]) -> None:
        """Build, start and store a connector; routes may name it at once."""
        assert self.db is not None
        config = ConnectorConfig.model_validate(definition)
        if config.name in self.connectors:
            raise ValueError(f"a connector named {config.name!r} exists")
        connector = build_connector(config.model_dump())
        await connector.start(self.sink)
        async with self.db.transaction() as conn:
            await route_store.save_connector(conn, config.model_dump(), self.clock.now())
        self.connectors[config.name] = connector
        self._definitions[config.name] = config.model_dump()
        self._runtime_connectors.add(config.name)
        self.dispatcher.add_connector(
            config.name,
            connector,
            rate=config.throughput,
            country_rates=config.country_throughput,
            prices=config.prices,
        )
        log.info("connector %s added (%s)", config.name, config.type)

    async def remove_connector(self, name: str) -> None:
        """Stop and forget a connector added at run time that no route names."""
        assert self.db is not None
        if name not in self.connectors:
            raise LookupError(name)
        if name not in self._runtime_connectors:
            raise ValueError(f"connector {name!r} is declared in the configuration file")
        await self.dispatcher.remove_connector(name)
        connector = self.connectors.pop(name)
        self._runtime_connectors.discard(name)
        self._definitions.pop(name, None)
        with contextlib.suppress(Exception):
            await connector.stop()
        async with self.db.transaction() as conn:
            await route_store.delete_connector(conn, name)
        log.info("connector %s removed", name)

    async def replace_routes(self, routes: list[Route]) -> None:
        """Use ``routes`` from now on, and keep them (they outlive a restart)."""
        assert self.db is not None
        async with self.db.transaction() as conn:
            await route_store.save_routes(
                conn, [route_to_dict(r) for r in routes], self.clock.now()
            )
        self.dispatcher.set_routes(routes)
        log.info("route table replaced: %s", ", ".join(r.name for r in routes))

    async def _stored_routes(self) -> list[Route] | None:
        """The route table set through the admin API, if any and if still usable."""
        assert self.db is not None
        async with self.db.read() as conn:
            definitions = await route_store.load_routes(conn)
        if not definitions:
            return None
        try:
            routes = [route_from_dict(d) for d in definitions]
        except ValueError as error:
            log.error("stored route table unusable (%s); using the configured routes", error)
            return None
        unknown = {c for r in routes for c in r.connectors} - set(self.connectors)
        if unknown:
            log.error(
                "stored route table names unknown connectors %s; using the configured routes",
                sorted(unknown),
            )
            return None
        return routes

    def explain(self, *, to: str, country: str | None, kind: str, account: str) -> Explanation:
        return explain(
            self.dispatcher.routes,
            to=to,
            country=country,
            kind=kind,
            account=account,
            prices={n: d.get("prices") or {} for n, d in self._definitions.items()},
        )

    async def _refresh_account_names(self) -> None:
        assert self.db is not None
        async with self.db.read() as conn:
            self._account_names = {a.id: a.name for a in await account_store.list_accounts(conn)}

    async def _account_name_loop(self) -> None:
        while True:
            await asyncio.sleep(10)
            with contextlib.suppress(Exception):
                await self._refresh_account_names()


def build_http_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    connectors: dict[str, Connector] | None = None,
) -> FastAPI:
    """The API with the whole gateway started and stopped by its lifespan."""
    relay = SmsRelay(settings, clock=clock, connectors=connectors)

    async def on_startup(app: FastAPI) -> None:
        await relay.start()
        app.state.context = relay.api_context()
        app.state.relay = relay

    async def on_shutdown(app: FastAPI) -> None:
        await relay.stop()

    return create_app(
        max_body_bytes=settings.max_body_bytes, on_startup=on_startup, on_shutdown=on_shutdown
    )
