"""A whole gateway (API over a real socket, dispatcher, simulator, webhooks) for tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from smsrelay.app import SmsRelay, build_http_app
from smsrelay.config import Settings
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.gateway.http.auth import forget_cached_keys
from smsrelay.gateway.webhook_listener import create_listener
from tests.support.database import empty_postgres_database
from tests.support.servers import serve_app, serve_app_on


@dataclass
class Callbacks:
    """What a webhook receiver got: bodies and whether each signature verified."""

    received: list[tuple[dict[str, Any], bool]] = field(default_factory=list)

    def add(self, body: dict[str, Any], verified: bool) -> None:
        self.received.append((body, verified))

    def for_message(self, message_id: str) -> list[str]:
        return [b["status"] for b, _ in self.received if b.get("message_id") == message_id]


@dataclass
class RunningGateway:
    base_url: str
    key: str
    relay: SmsRelay
    client: httpx.AsyncClient

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}


@contextlib.asynccontextmanager
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str | None]:
    if backend == "postgresql":
        with empty_postgres_database("gateway") as url:
            yield url
    else:
        yield None


@contextlib.asynccontextmanager
async def running_gateway(
    tmp_path: Path, backend: str = "sqlite", **overrides: Any
) -> AsyncIterator[RunningGateway]:
    forget_cached_keys()
    clock = overrides.pop("clock", None)  # a ManualClock drives the engine's loops
    overrides.setdefault("smpp_port", 0)  # the SMPP server for client binds, ephemeral
    connectors = overrides.pop(
        "connectors", [SimulatorOptions(name="simulator", latency_ms=1, dlr_delay_ms=30)]
    )
    async with database_url(backend, tmp_path) as url:
        settings = Settings(
            data_dir=tmp_path / "data", database_url=url, connectors=connectors, **overrides
        )
        app = build_http_app(settings, clock=clock)
        port = int(settings.public_url.rsplit(":", 1)[1]) if "public_url" in overrides else 0
        async with serve_app_on(app, port, lifespan="on") as base_url:
            key = (tmp_path / "data" / "api-key").read_text().strip()
            async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
                yield RunningGateway(base_url, key, app.state.relay, client)


@contextlib.asynccontextmanager
async def webhook_receiver(secret: str) -> AsyncIterator[tuple[str, Callbacks]]:
    callbacks = Callbacks()
    async with serve_app(create_listener(secret, callbacks.add), lifespan="off") as url:
        yield url, callbacks
