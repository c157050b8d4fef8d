"""What the HTTP handlers need from the rest of smsrelay, built once by the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from smsrelay.connectors.http.provider import Callback, CallbackKind, CallbackReply
from smsrelay.domain.routing import Explanation, Route
from smsrelay.engine.accept import Acceptor
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import Clock
from smsrelay.engine.content_templates import TemplateBook
from smsrelay.engine.countries import CountryBook
from smsrelay.engine.replay import WebhookReplay
from smsrelay.engine.verify import VerifyService
from smsrelay.store.db import Database


class Operations(Protocol):
    """The running gateway as the admin API sees it (``engine.operations.Operations``)."""

    def connector_status(self) -> list[dict[str, Any]]: ...

    def routes(self) -> list[Route]: ...

    def connector_names(self) -> list[str]: ...

    async def replace_routes(self, routes: list[Route]) -> None: ...

    async def add_connector(self, definition: dict[str, Any]) -> None: ...

    async def remove_connector(self, name: str) -> None: ...

    async def explain(
        self,
        *,
        to: str,
        country: str | None,
        kind: str,
        account: str,
        language: str | None = None,
    ) -> Explanation: ...

    async def connector_stats(
        self, window: float | None = None
    ) -> dict[str, list[dict[str, Any]]]: ...

    def provider_endpoint(self, name: str) -> ProviderEndpoint | None: ...


class ProviderEndpoint(Protocol):
    """An HTTP provider connector, as its callback endpoints see it."""

    async def receive(self, kind: CallbackKind, callback: Callback) -> CallbackReply: ...


@dataclass
class ApiContext:
    db: Database
    acceptor: Acceptor
    canceller: Canceller
    replay: WebhookReplay
    clock: Clock
    max_batch: int = 1000
    strict_numbers: bool = False
    key_cache_seconds: float = 5.0
    operations: Operations | None = None
    public_url: str = "http://127.0.0.1:8080"
    verify: VerifyService | None = None
    countries: CountryBook | None = None
    templates: TemplateBook | None = None


async def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx
