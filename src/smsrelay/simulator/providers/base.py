"""What every provider fake shares: the outcome draw, errors, throttling, callbacks, records.

A fake is a local HTTP server speaking one provider's API (the routes, the authentication,
the answers and the callbacks in the provider's own format and signature), written from the
provider's public documentation and independent of smsrelay's connector for it: the
connector is checked against the fake, and the fake's signatures against the providers' own
SDK validators (in the tests). Per provider, a subclass of :class:`ProviderFake` adds its
routes; this module holds the behaviour they share:

* each accepted message gets a final outcome drawn from ``outcomes`` and a status callback
  ``dlr_delay_ms`` later, sent to the callback URL the request named (or ``status_url``);
* ``error_rate`` answers that share of sends with the provider's server error, and
  ``throttle`` (sends per second) answers the excess with its "too many requests";
* ``POST /_fake/inbound`` ``{"from", "to", "text"}`` makes the fake call ``inbound_url`` as
  the provider does when a phone writes to one of its numbers;
* ``GET /_fake/messages`` lists what was accepted (what a test reads an OTP code from).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsrelay.httpclient import HttpClient, HttpError

__all__ = ["FakeConfig", "Outbound", "ProviderFake", "Sent", "parse_outcomes"]

log = logging.getLogger(__name__)

FINAL_OUTCOMES = ("delivered", "undelivered", "expired", "rejected")
CALLBACKS_IN_FLIGHT = 32


def parse_outcomes(text: str) -> dict[str, float]:
    """``delivered=0.9,undelivered=0.1`` → weights; ValueError for anything else."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition("=")
        if name not in FINAL_OUTCOMES:
            raise ValueError(f"unknown outcome {name!r}: use {', '.join(FINAL_OUTCOMES)}")
        try:
            weights[name] = float(weight or 1)
        except ValueError:
            raise ValueError(f"outcome {name}: {weight!r} is not a number") from None
    if not weights or sum(weights.values()) <= 0 or min(weights.values()) < 0:
        raise ValueError("outcomes need a positive total weight")
    return weights


@dataclass
class FakeConfig:
    credentials: dict[str, str] = field(default_factory=dict)
    dlr_delay_ms: float = 200.0
    outcomes: dict[str, float] = field(default_factory=lambda: {"delivered": 1.0})
    error_rate: float = 0.0
    throttle: float = 0.0  # sends per second accepted; 0 = no limit
    status_url: str = ""  # where reports go when a send names no callback URL
    inbound_url: str = ""
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """One message the fake accepted."""

    id: str
    to: str
    sender: str
    text: str
    callback_url: str
    at: float
    outcome: str
    # India's DLT ids the request carried, under the provider's own field names
    dlt: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outbound:
    """A callback the fake is about to make: the provider's format, signed its way."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


class ProviderFake:
    """A provider's API in one process (see the module docstring)."""

    name = "provider"

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.rng = random.Random(self.config.seed)
        self.sent: list[Sent] = []
        self.callbacks: list[tuple[Outbound, int | str]] = []  # what was sent, the answer
        self._window_start = 0.0
        self._window_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: HttpClient | None = None
        self._callback_slots = asyncio.Semaphore(CALLBACKS_IN_FLIGHT)
        self._counter = 0

    # -- what a provider fake defines -------------------------------------------------

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        raise NotImplementedError

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        raise NotImplementedError

    # -- shared behaviour ---------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                *self.routes(),
                Route("/_fake/inbound", self._inject_inbound, methods=["POST"]),
                Route("/_fake/messages", self._list_messages, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()

    def next_id(self, prefix: str = "") -> str:
        self._counter += 1
        return f"{prefix}{self.rng.getrandbits(64):016x}{self._counter:06d}"

    def refuse(self) -> str | None:
        """``"throttled"``, ``"error"`` or None: what this send meets before it is taken."""
        if self.config.throttle > 0:
            now = time.monotonic()
            if now - self._window_start >= 1.0:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            if self._window_count > self.config.throttle:
                return "throttled"
        if self.config.error_rate and self.rng.random() < self.config.error_rate:
            return "error"
        return None

    def accept(
        self,
        to: str,
        sender: str,
        text: str,
        callback_url: str,
        id_prefix: str = "",
        dlt: Mapping[str, str] | None = None,
    ) -> Sent:
        """Record a message (with the DLT ids ``dlt`` its request carried) and schedule its
        status callback."""
        names, weights = zip(*self.config.outcomes.items(), strict=True)
        outcome = self.rng.choices(names, weights)[0]
        message = Sent(
            self.next_id(id_prefix),
            to,
            sender,
            text,
            callback_url or self.config.status_url,
            time.time(),
            outcome,
            dict(dlt or {}),
        )
        self.sent.append(message)
        if message.callback_url:
            self._spawn(self._report_later(message))
        return message

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report_later(self, message: Sent) -> None:
        await asyncio.sleep(self.config.dlr_delay_ms / 1000)
        await self.deliver(self.status_callback(message, message.outcome))

    async def deliver(self, outbound: Outbound, attempts: int = 5) -> None:
        """Make one callback, retrying a failure a few times as providers do."""
        if self._client is None:
            self._client = HttpClient(
                timeout=10.0, max_idle_per_host=CALLBACKS_IN_FLIGHT, user_agent=self.name
            )
        for attempt in range(attempts):
            try:
                # callbacks queue for a slot rather than fail (each request then has 10 s)
                async with self._callback_slots:
                    response = await self._client.request(
                        outbound.method, outbound.url, outbound.body, outbound.headers
                    )
                self.callbacks.append((outbound, response.status))
                if response.status < 500:
                    return
            except (HttpError, TimeoutError) as error:
                self.callbacks.append((outbound, str(error) or type(error).__name__))
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))

    async def _inject_inbound(self, request: Request) -> Response:
        try:
            data = json.loads(await request.body())
            sender, to, text = str(data["from"]), str(data.get("to", "")), str(data["text"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'send {"from", "to", "text"}'}, 400)
        if not self.config.inbound_url:
            return JSONResponse({"error": "no inbound URL: start the fake with one"}, 409)
        outbound = self.inbound_callback(sender, to, text, self.next_id())
        await self.deliver(outbound)
        status = self.callbacks[-1][1]
        return JSONResponse({"delivered_to": outbound.url, "answer": status})

    async def _list_messages(self, request: Request) -> Response:
        return JSONResponse(
            [
                {"id": m.id, "to": m.to, "from": m.sender, "text": m.text, "outcome": m.outcome}
                | ({"dlt": dict(m.dlt)} if m.dlt else {})
                for m in self.sent
            ]
        )

    async def settle(self) -> None:
        """Wait for the callbacks in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
