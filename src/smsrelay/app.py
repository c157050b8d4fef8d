"""Composition root: build the store, connectors, engine and API from Settings; run them.

Nothing here decides anything at run time: connectors come from the registry
(:mod:`smsrelay.connectors.registry`), the admin API's operations and the account names from
:mod:`smsrelay.engine.operations`; this module only builds and wires them.

``SmsRelay`` owns the start and stop order: the store first, then the unit of work that every
engine writer joins (``engine/unit_of_work.py``) and the consumers of work (committer, webhook
outbox, receipt processor), then the connectors that produce receipts, then the dispatcher that
feeds the connectors. Stopping runs the other way, the unit of work last, so nothing accepted
is dropped on a clean shutdown and a crash leaves only leases that expire.

Over 400 lines because it is the one place that builds every part in order; splitting the
wiring would scatter that order, which is what this module exists to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from smsrelay.config import Settings
from smsrelay.connectors.base import Connector
from smsrelay.connectors.embedded import EmbeddedSimulatorConnector
from smsrelay.connectors.registry import Environment, build_connectors
from smsrelay.domain.fraud import FraudPolicy
from smsrelay.domain.messages import DeliveryReport, InboundMessage
from smsrelay.domain.retry import Backoff, RetryPolicy, WebhookRetryPolicy
from smsrelay.domain.routing import Route
from smsrelay.domain.scoring import AdaptiveWeights
from smsrelay.domain.senders import policy_for
from smsrelay.domain.verify import VerifyKeys
from smsrelay.engine.accept import Acceptor, AcceptPolicy
from smsrelay.engine.batcher import GroupCommitter
from smsrelay.engine.budget import budget_for
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import Clock, SystemClock
from smsrelay.engine.content_templates import TemplateBook
from smsrelay.engine.countries import CountryBook
from smsrelay.engine.delivery_stats import DeliveryStats
from smsrelay.engine.dispatcher import Dispatcher, DispatchSettings
from smsrelay.engine.dlr import DlrProcessor
from smsrelay.engine.fraud_guard import FraudGuard
from smsrelay.engine.inbound import InboundProcessor
from smsrelay.engine.money import PriceBook
from smsrelay.engine.operations import (
    AccountNames,
    ConnectorCatalog,
    Operations,
    load_catalog,
    stored_routes,
)
from smsrelay.engine.outbox import WebhookOutbox
from smsrelay.engine.replay import WebhookReplay
from smsrelay.engine.senders import SenderAdapter
from smsrelay.engine.template_check import TemplateCheck
from smsrelay.engine.throttle import AccountRate
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.engine.verify import VerifyService
from smsrelay.engine.verify_texts import SealedTexts
from smsrelay.engine.webhooks import WebhookSender
from smsrelay.gateway.http.app import create_app
from smsrelay.gateway.http.context import ApiContext
from smsrelay.gateway.smpp_server import ClientSmppServer, SmppServerConfig
from smsrelay.simulator import CarrierSimulator
from smsrelay.store import accounts as account_store
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
    """On an empty database, create the ``default`` account (the operator) and its first key."""
    async with db.transaction() as conn:
        if await account_store.list_accounts(conn):
            return Bootstrap(None)
        account = await account_store.create_account(
            conn, DEFAULT_ACCOUNT, clock.now(), role=account_store.OPERATOR
        )
        _, key = await account_store.create_api_key(
            conn, account.id, FIRST_KEY_SCOPES, clock.now(), name="first key"
        )
    write_key_file(settings.key_file, key)
    return Bootstrap(settings.key_file)


def verify_secret(settings: Settings) -> bytes:
    """The server secret of verifications: the setting, else ``<data_dir>/verify-secret``,
    made once (0600) by whichever process starts first; the others read it."""
    if settings.verify_secret:
        return settings.verify_secret.encode()
    path = settings.verify_secret_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".verify-secret.{os.getpid()}")
        write_key_file(scratch, secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):  # another worker made it first: keep that
            os.link(scratch, path)
        scratch.unlink()
    return bytes.fromhex(path.read_text().strip())


def fraud_policy(settings: Settings) -> FraudPolicy:
    s = settings
    return FraudPolicy(
        enabled=s.fraud_guard,
        prefix_digits=s.fraud_prefix_digits,
        window=s.fraud_window,
        grace=s.fraud_grace,
        block_seconds=s.fraud_block_hours * 3600.0,
        min_sends_prefix=s.fraud_min_sends_prefix,
        min_sends_country=s.fraud_min_sends_country,
        surge_factor=s.fraud_surge_factor,
        min_conversion=s.fraud_min_conversion,
        per_minute_prefix=s.fraud_per_minute_prefix,
        per_minute_account=s.fraud_per_minute_account,
        per_minute_ip=s.fraud_per_minute_ip,
    )


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
            adaptive=None if r.adaptive is None else AdaptiveWeights.from_dict(r.adaptive),
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
        self.account_names: AccountNames | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.catalog = ConnectorCatalog({})
        self._definitions: dict[str, dict[str, Any]] = {}
        self.operations: Operations | None = None
        self.smpp_server: ClientSmppServer | None = None
        self.verify: VerifyService | None = None

    async def start(self) -> None:
        s = self.settings
        self.db = db = await open_database(s)
        self.bootstrap_result = await bootstrap(db, s, self.clock)
        self.account_names = AccountNames(db, self.clock)
        await self.account_names.refresh()
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
        refund_on = frozenset(s.refund_on)
        self.prices = PriceBook(db)
        await self.prices.reload()
        # measured delivery per connector and country: counted in the turns (submit results
        # by the dispatcher, receipts by the DLR processor), read back by adaptive routes
        self.delivery = DeliveryStats(db, self.clock)
        self.uow.hook(self.delivery)
        self.dlr = DlrProcessor(
            self.uow, self.clock, outbox=self.webhooks, refund_on=refund_on, delivery=self.delivery
        )
        self.inbound = InboundProcessor(
            self.uow,
            self.clock,
            optout_keywords=s.optout_keywords,
            optin_keywords=s.optin_keywords,
            outbox=self.webhooks,
        )
        self.catalog = await load_catalog(db, s.effective_connectors())
        self.env = Environment(public_url=s.public_url)
        self.connectors = self._given_connectors or build_connectors(
            self.catalog.options.values(), self.env
        )
        self._definitions = self.catalog.definitions()
        retry = RetryPolicy(
            max_attempts=s.max_attempts, backoff=Backoff(base=s.retry_base, cap=s.retry_cap)
        )
        verify_keys = VerifyKeys.derive(verify_secret(s))
        # one of several processes (workers, or nodes on one PostgreSQL): limits are shared
        shared = s.worker_index is not None or db.dialect == "postgresql"
        self.budget = budget_for(db, shared=shared)
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
                refund_on=refund_on,
            ),
            account_names=lambda account_id: self._account_names.get(account_id, account_id),
            outbox=self.webhooks,
            rates={n: float(d.get("throughput", 0.0)) for n, d in self._definitions.items()},
            prices={n: d.get("prices") or {} for n, d in self._definitions.items()},
            country_rates={
                n: d.get("country_throughput") or {} for n, d in self._definitions.items()
            },
            budget=self.budget,
            texts=SealedTexts(db, verify_keys.seal_key),
            delivery=self.delivery,
            adaptive=s.routing.adaptive_weights(),
            price_book=self.prices,
        )
        self.countries = CountryBook(db, self.clock, s.country_overrides(), uow=self.uow)
        await self.countries.refresh()
        self.templates = TemplateBook(
            db, self.clock, uow=self.uow, max_var_chars=s.template_variable_max_chars
        )
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
            countries=lambda: self.countries.rules,
            prices=self.prices,
            senders=SenderAdapter(
                db,
                self.clock,
                policy_of=lambda country: policy_for(self.countries.rules.get(country)),
            ),
            route_languages=self.dispatcher.route_languages,
            templates=TemplateCheck(self.templates, lambda: self.countries.rules),
        )
        self.canceller = Canceller(self.uow, self.webhooks, refund_on=refund_on)
        self.replay = WebhookReplay(self.uow, self.webhooks)
        self.verify = VerifyService(
            self.uow,
            self.acceptor,
            self.canceller,
            FraudGuard(db, fraud_policy(s)),
            verify_keys,
            self.clock,
            outbox=self.webhooks,
            ttl=s.verify_ttl,
            app_name=s.verify_app_name,
            strict_numbers=s.number_validation == "strict",
        )
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
        await self.verify.start()
        if s.smpp_server_enabled:
            self.smpp_server = ClientSmppServer(
                db,
                self.uow,
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
                    dlt_tags=s.smpp_dlt_tlvs.by_field(),
                ),
            )
            await self.smpp_server.start()
        self.operations = Operations(
            db, self.clock, self.dispatcher, self.connectors, self.catalog, self.sink, self.env
        )
        self._tasks.append(asyncio.create_task(self.account_names.run()))
        self._tasks.append(asyncio.create_task(self.countries.run()))
        self._tasks.append(asyncio.create_task(self.templates.run()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.smpp_server is not None:  # first: no new submits while the rest stops
            with contextlib.suppress(Exception):
                await self.smpp_server.stop()
        if self.verify is not None:
            await self.verify.stop()
        await self.dispatcher.stop()
        for connector in self.connectors.values():
            with contextlib.suppress(Exception):
                await connector.stop()
        await self.dlr.stop()
        await self.inbound.stop()
        await self.committer.stop()
        await self.webhooks.stop()
        await self.uow.stop()
        if self.db is not None:
            await self.db.close()

    @property
    def embedded_carrier(self) -> CarrierSimulator | None:
        """The carrier simulator of the first ``type = "simulator"`` connector (the default
        setup's), for tests that inject MO messages or read what it accepted."""
        for connector in self.connectors.values():
            if isinstance(connector, EmbeddedSimulatorConnector):
                return connector.carrier
        return None

    @property
    def _account_names(self) -> dict[str, str]:
        return self.account_names.by_id if self.account_names is not None else {}

    async def _stored_routes(self) -> list[Route] | None:
        assert self.db is not None
        return await stored_routes(self.db, self.connectors)

    def api_context(self) -> ApiContext:
        assert self.db is not None
        s = self.settings
        return ApiContext(
            db=self.db,
            acceptor=self.acceptor,
            canceller=self.canceller,
            replay=self.replay,
            clock=self.clock,
            max_batch=s.max_batch,
            strict_numbers=s.number_validation == "strict",
            operations=self.operations,
            public_url=s.public_url,
            verify=self.verify,
            countries=self.countries,
            templates=self.templates,
        )


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
