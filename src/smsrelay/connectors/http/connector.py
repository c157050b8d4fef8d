"""The HTTP provider connector: one :class:`~.provider.Provider` behind the engine's seam.

It does for every provider what none of them should write again: pacing to ``throughput``
and slowing down when the provider throttles (``Retry-After`` honoured), a bound on calls in
flight, a keep-alive client (:mod:`.client`, the same one webhooks use), the mapping of
transport failures to catalogue errors, a pause after refused credentials, and the callback
side: the status and inbound URLs handed to the provider, the signature (or token) check,
and handing reports and inbound messages to the engine's sink.

Refused credentials: the dispatcher's circuit opens at once on ``carrier_auth_failed``
(:mod:`smsrelay.domain.circuit`) and, while the pause lasts, :meth:`health` says the
connector has no way to the provider, so no probe is spent either; after the pause one
probe goes, and a second refusal doubles the pause. A wrong key costs one call per pause,
not a retry storm.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from smsrelay.connectors.base import ConnectorHealth, InboundSink
from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackRefused,
    CallbackReply,
    Provider,
    SendContext,
    retry_after,
    same_secret,
)
from smsrelay.connectors.http.providers import provider_for
from smsrelay.connectors.options import HttpOptions
from smsrelay.connectors.pacing import Pacer
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import OutboundMessage, SubmitOutcome
from smsrelay.httpclient import HttpClient, HttpError

__all__ = ["HttpConnector", "callback_token"]

log = logging.getLogger(__name__)

USER_AGENT = "smsrelay-connector"


def callback_token(options: HttpOptions) -> str:
    """The secret in the status URL of a provider that signs nothing: configured, or
    derived from the credentials and the connector's name (stable, never shown)."""
    if options.callback_token:
        return options.callback_token
    key = "\x00".join(f"{k}={v}" for k, v in sorted(options.credentials.items())).encode()
    return hmac.new(key, f"smsrelay-callback:{options.name}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


class HttpConnector:
    """An HTTP provider's API as a connector (see the module docstring)."""

    def __init__(
        self,
        options: HttpOptions,
        *,
        public_url: str = "http://127.0.0.1:8080",
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        client: HttpClient | None = None,
        provider: Provider | None = None,
    ) -> None:
        self.name = options.name
        self.options = options
        # the provider encodes the text itself: no national shift tables of ours
        self.national_languages = options.sends_national_languages()
        self.provider = provider or provider_for(options)
        self._now = now
        self._wall = wall
        self._client = client
        self._own_client = client is None
        self._sink: InboundSink | None = None
        self._calls = asyncio.Semaphore(options.concurrency)
        self.pacer = Pacer(options.throughput)
        self._auth_paused_until = 0.0
        self._auth_pause = 0.0
        base = f"{public_url.rstrip('/')}/v1/providers/{quote(self.name, safe='')}"
        self.status_url = base + "/status"
        self.inbound_url = base + "/inbound"
        # the options are frozen: whether callbacks are signed, and the token, never change
        self._signs = self.provider.signs(options)
        self._token = "" if self._signs else callback_token(options)
        if not self._signs:
            self.status_url += f"?token={self._token}"
            self.inbound_url += f"?token={self._token}"
        self.stats = {
            "calls": 0,
            "submitted": 0,
            "failed": 0,
            "throttled": 0,
            "reports": 0,
            "inbound": 0,
        }

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink
        if self._client is None:
            self._client = HttpClient(
                timeout=self.options.timeout,
                max_idle_per_host=self.options.concurrency,
                user_agent=USER_AGENT,
            )

    async def stop(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def health(self) -> ConnectorHealth:
        if self._now() < self._auth_paused_until:
            return ConnectorHealth(self.name, False, "the provider refused our credentials")
        detail = f"{self.options.provider} at {self.options.api_url}"
        if self.pacer.slowed and self.pacer.limit is not None:
            detail += f"; slowed to {self.pacer.limit:.0f} msg/s after throttling"
        return ConnectorHealth(self.name, self._client is not None, detail)

    async def submit(self, message: OutboundMessage) -> SubmitOutcome:
        client = self._client
        if client is None:
            return SubmitOutcome(error=ErrorCode.CARRIER_UNAVAILABLE, detail="not started")
        if self._now() < self._auth_paused_until:  # dispatched before the refusal came back
            return SubmitOutcome(
                error=ErrorCode.CARRIER_AUTH_FAILED, detail="paused: credentials refused"
            )
        context = SendContext(self.options, self.status_url, self.inbound_url, self._wall())
        try:
            call = self.provider.send(message, context)
        except ValueError as error:  # the provider cannot express this message
            return SubmitOutcome(error=ErrorCode.CARRIER_REJECTED, detail=str(error))
        async with self._calls:
            await self._pace()
            self.stats["calls"] += 1
            try:
                response = await client.request(
                    call.method, call.url, call.body, call.headers, timeout=self.options.timeout
                )
            except TimeoutError:
                self.stats["failed"] += 1
                return SubmitOutcome(error=ErrorCode.CARRIER_TIMEOUT, detail="no answer in time")
            except HttpError as error:
                self.stats["failed"] += 1
                return SubmitOutcome(error=ErrorCode.CARRIER_UNAVAILABLE, detail=str(error))
        outcome = self.provider.sent(response)
        if outcome.ok:
            self.stats["submitted"] += 1
            self._auth_pause = 0.0
            return outcome
        self.stats["failed"] += 1
        if outcome.error is ErrorCode.CARRIER_THROTTLED:
            self.stats["throttled"] += 1
            self.pacer.throttled(self._now())
            wait = retry_after(response)
            if wait:
                self.pacer.pause_for(self._now(), wait)
        elif (
            outcome.error is ErrorCode.CARRIER_AUTH_FAILED
            and self._now() >= self._auth_paused_until
        ):
            # (refusals of calls made together count once: the pause doubles per probe)
            self._auth_pause = min(
                self.options.auth_pause_max, max(self.options.auth_pause, self._auth_pause * 2)
            )
            self._auth_paused_until = self._now() + self._auth_pause
            log.warning(
                "connector %s: %s refused our credentials; paused %.0f s",
                self.name,
                self.options.provider,
                self._auth_pause,
            )
        return outcome

    async def _pace(self) -> None:
        while True:
            generation = self.pacer.generation
            delay = self.pacer.reserve(self._now())
            if delay > 0:
                await asyncio.sleep(delay)
            if self.pacer.generation == generation:
                return

    async def receive(self, kind: CallbackKind, callback: Callback) -> CallbackReply:
        """Act on a provider's callback: check it, hand what it carries to the engine.

        Raises :class:`CallbackRefused` (403 for a bad signature or token, 400 for a body
        that cannot be read) before anything is handed on.
        """
        if not self._authentic(callback):
            raise CallbackRefused(403, "the callback's signature or token is not valid")
        sink = self._sink
        if sink is None:
            raise CallbackRefused(503, "the connector is not running")
        now = self._wall()
        if kind == "status":
            reports = self.provider.reports(callback, self.name, now)
            for report in reports:
                await sink.report(report)
            self.stats["reports"] += len(reports)
        else:
            messages = self.provider.inbound(callback, self.name, now)
            for message in messages:
                await sink.mo(message)
            self.stats["inbound"] += len(messages)
        return self.provider.reply(kind)

    def _authentic(self, callback: Callback) -> bool:
        if self._signs:
            return self.provider.authentic(callback, self.options)
        return same_secret(callback.query.get("token", ""), self._token)
