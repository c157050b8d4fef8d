"""A gateway whose connectors are HTTP providers, each played by its local fake."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from smsrelay.simulator.providers import FakeConfig, ProviderFake, fake_for
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import free_port, serve_app


@contextlib.asynccontextmanager
async def provider_fake(provider: str, **config: Any) -> AsyncIterator[tuple[ProviderFake, str]]:
    """The fake of ``provider`` on a real socket: (the fake, its base URL)."""
    fake = fake_for(provider, FakeConfig(**config))
    async with serve_app(fake.app()) as url:
        yield fake, url


@contextlib.asynccontextmanager
async def gateway_with(
    tmp_path: Path, backend: str, connectors: list[Any], **overrides: Any
) -> AsyncIterator[RunningGateway]:
    """A gateway whose public URL (where providers call back) is its own address."""
    public_url = f"http://127.0.0.1:{free_port()}"
    async with running_gateway(
        tmp_path, backend, connectors=connectors, public_url=public_url, **overrides
    ) as gw:
        yield gw


async def all_in_status(gw: RunningGateway, ids: list[str], status: str = "delivered") -> bool:
    """Whether every message of ``ids`` has ``status`` (for ``wait_for``)."""
    for message_id in ids:
        got = await gw.client.get(f"/v1/messages/{message_id}", headers=gw.auth())
        if got.json()["status"] != status:
            return False
    return True
