"""The dispatcher: claim due messages, submit them, record what happened.

It is three rooms around the connectors' send lanes, sharing one in-flight budget:

* claiming (``dispatch_claim.py``) takes due messages under a lease inside the engine's turns
  (``unit_of_work.py``), in priority order, as many as the budget and the lanes allow;
* this module routes each claimed message (the connector for this attempt, from its route and
  the connectors' circuits) into its lane and runs one submit task per message the lane lets go;
* recording (``dispatch_record.py``) writes the answers in batches: sent, a backed-off retry
  on the route's next connector, or failed;
* housekeeping (``housekeeping.py``) returns leases of crashed workers, expires messages whose
  validity passed, settles those whose receipt never came as ``unknown``, matches late
  receipts and purges.

This module stays over 400 lines because routing a claim, the lanes and the submit tasks share
the in-flight state (leases, lanes, circuits) that each step reads and changes.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from smsrelay.connectors.base import Connector
from smsrelay.domain.circuit import CircuitBreaker, CircuitState
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import Message, OutboundMessage, SubmitOutcome
from smsrelay.domain.retry import RetryPolicy
from smsrelay.domain.routing import (
    PriceTable,
    Route,
    connector_order,
    exploration_draw,
    prefer_language,
    ranking,
    route_languages,
    select_route,
)
from smsrelay.domain.scoring import AdaptiveWeights, Ranking, StatsTable, explore
from smsrelay.engine.clock import Clock
from smsrelay.engine.delivery_stats import DeliveryStats
from smsrelay.engine.dispatch_claim import DispatchClaims
from smsrelay.engine.dispatch_record import SubmitRecorder, SubmitResult
from smsrelay.engine.housekeeping import Housekeeper
from smsrelay.engine.lanes import Lane
from smsrelay.engine.money import PriceBook
from smsrelay.engine.tasks import finish
from smsrelay.engine.throttle import RateBudget
from smsrelay.engine.unit_of_work import Claimant, UnitOfWork
from smsrelay.engine.verify_texts import VERIFY_ORIGIN, SealedTexts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    worker_id: str = "worker-1"
    claim_batch: int = 500
    max_inflight: int = 2000
    lease_seconds: float = 120.0
    dlr_timeout: float = 48 * 3600.0
    unmatched_receipt_ttl: float = 3600.0
    housekeeping_interval: float = 1.0
    idle_poll: float = 0.5
    marketing_share: float = 0.1
    refund_on: frozenset[str] = frozenset()  # final statuses whose price is credited back


class Dispatcher:
    def __init__(
        self,
        uow: UnitOfWork,
        connectors: Mapping[str, Connector],
        routes: Sequence[Route],
        retry: RetryPolicy,
        clock: Clock,
        *,
        settings: DispatchSettings | None = None,
        account_names: Callable[[str], str] | None = None,
        outbox: Claimant[Any] | None = None,
        rates: Mapping[str, float] | None = None,
        prices: PriceTable | None = None,
        country_rates: Mapping[str, Mapping[str, float]] | None = None,
        rng: random.Random | None = None,
        budget: RateBudget | None = None,
        texts: SealedTexts | None = None,
        delivery: DeliveryStats | None = None,
        adaptive: AdaptiveWeights | None = None,
        price_book: PriceBook | None = None,
    ) -> None:
        """``outbox``: the webhook outbox, which claims the callbacks these changes queue;
        ``budget``: where the lanes take the connectors' rate tokens from (shared by the
        gateway's processes when there are several; this process's memory by default);
        ``texts``: the sealed texts of one-time-code messages (``engine/verify_texts.py``);
        ``delivery``: the measured delivery per connector, counted in the turns and read
        back for adaptive routes (one of its own by default); ``adaptive``: the weights of
        adaptive routes that have none of their own (``[routing.adaptive]``)."""
        self._texts = texts
        self._uow = uow
        self._budget = budget
        self._connectors = dict(connectors)
        # the national languages each connector sends with their tables (prefer_language)
        self._languages = {n: c.national_languages for n, c in self._connectors.items()}
        self.settings = s = settings or DispatchSettings()
        self._clock = clock
        rates = rates or {}
        self.lanes: dict[str, Lane] = {}
        self.circuits: dict[str, CircuitBreaker] = {}
        for name in self._connectors:
            self._add_lane(name, rates.get(name, 0.0), (country_rates or {}).get(name))
        self._routes = list(routes)
        self._prices: PriceTable = dict(prices or {})
        # imported connector price lists (engine/money.py): least_cost routing prefers them
        # the connectors' imported price lists: least-cost order and the measured cost
        self.price_book = price_book
        self.adaptive = adaptive or AdaptiveWeights()
        self.delivery = delivery or DeliveryStats(uow.db, clock)
        self.delivery.prices = self._prices
        self.delivery.price_book = price_book
        self.delivery.windows = self._windows
        # adaptive routes' scores by (route, country), with the snapshot they were worked from
        self._ranked: dict[tuple[int, str | None], tuple[StatsTable, Ranking]] = {}
        self._account_names = account_names or (lambda account_id: account_id)
        self.stats = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0}
        self.claims = DispatchClaims(
            uow,
            clock,
            worker_id=s.worker_id,
            claim_batch=s.claim_batch,
            max_inflight=s.max_inflight,
            lease_seconds=s.lease_seconds,
            idle_poll=s.idle_poll,
            assign=self._assign,
            lanes_room=self._lanes_room,
            stats=self.stats,
        )
        self.recorder = SubmitRecorder(
            uow,
            clock,
            self.claims,
            retry,
            dlr_timeout=s.dlr_timeout,
            rng=rng or random.Random(),
            outbox=outbox,
            stats=self.stats,
            refund_on=s.refund_on,
            delivery=self.delivery,
        )
        self.housekeeper = Housekeeper(
            uow,
            clock,
            self.claims,
            interval=s.housekeeping_interval,
            lease_seconds=s.lease_seconds,
            unmatched_receipt_ttl=s.unmatched_receipt_ttl,
            outbox=outbox,
            refund_on=s.refund_on,
            delivery=self.delivery,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._submits: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._uow.join(self.claims)
        self._uow.hook(self.delivery)
        try:  # adaptive routes start from what was measured before a restart
            await self.delivery.refresh()
        except Exception:
            log.exception("reading delivery stats failed; adaptive routes start unmeasured")
        self._tasks = [
            asyncio.create_task(self.claims.run(), name="dispatch-claim"),
            asyncio.create_task(self.recorder.run(), name="dispatch-record"),
            asyncio.create_task(self.housekeeper.run(), name="dispatch-housekeeping"),
            asyncio.create_task(self.delivery.run(), name="delivery-stats"),
            *(
                asyncio.create_task(self._lane_loop(lane), name=f"lane-{lane.name}")
                for lane in self.lanes.values()
            ),
        ]

    async def stop(self) -> None:
        """Stop claiming, return unsent claims, let submits in flight finish, record them.

        Loops that write are asked to stop and awaited, never cancelled mid-turn (see
        engine/tasks.py).
        """
        self.claims.stop()
        self.housekeeper.stop()
        self.delivery.stop()
        claim, record, housekeeping, refresh, *lane_loops = self._tasks or (None,) * 4
        for task in lane_loops:  # no database work in a lane loop: safe to cancel
            task.cancel()
        await asyncio.gather(*lane_loops, return_exceptions=True)
        await finish(claim)
        await finish(housekeeping)
        await finish(refresh)
        await self.claims.give_back([m for lane in self.lanes.values() for m in lane.drain()])
        if self._submits:  # the carriers' answers: a network boundary
            await asyncio.wait(self._submits, timeout=10)
        self.recorder.stop()
        await finish(record)
        await self.recorder.record_pending()
        self._uow.leave(self.claims)

    def wake(self) -> None:
        """New work may be due (outside the engine's turns: an admin change, a test)."""
        self.claims.note_due()
        self.claims.wake.set()

    async def housekeeping(self, *, purge: bool = False) -> None:
        """One housekeeping tick now (the loop runs one every ``housekeeping_interval``)."""
        await self.housekeeper.tick(purge=purge)

    # -- lanes and routing -----------------------------------------------------------------

    def _add_lane(self, name: str, rate: float, country_rates: Mapping[str, float] | None) -> Lane:
        self.lanes[name] = lane = Lane(
            name,
            rate,
            marketing_share=self.settings.marketing_share,
            country_rates=country_rates,
            unlimited_room=self.settings.max_inflight,
            now=self._clock.now,
            sleep=self._clock.sleep,
            budget=self._budget,
        )
        self.circuits[name] = CircuitBreaker()
        return lane

    def _lanes_room(self) -> int | None:
        return sum(lane.room() for lane in self.lanes.values()) if self.lanes else None

    def _fail(self, message: Message, connector: str | None, detail: str) -> None:
        self.recorder.put(
            SubmitResult(message, connector, SubmitOutcome(error=ErrorCode.NO_ROUTE, detail=detail))
        )

    def _assign(self, message: Message) -> bool:
        """Choose the connector for this attempt and queue the message in its lane.

        False when that lane is already full (its connector is throttled): the message goes
        back to the queue rather than waiting here, in ``sending``, where it could be neither
        canceled nor expired.
        """
        try:
            route = self.route_for(message)
            if route is None:
                self._fail(message, None, "no route matches this message")
                return True
            name = self._choose_connector(route, message)
        except Exception as error:  # a bad route must not strand a claimed message
            log.exception("routing failed message_id=%s", message.id)
            self._fail(message, None, f"routing failed: {error}")
            return True
        lane = self.lanes.get(name)
        if lane is None:
            self._fail(message, name, f"connector {name!r} is not defined")
            return True
        if lane.room() <= 0 and message.priority < lane.lowest_waiting_priority():
            return False
        lane.put(message)
        return True

    def _choose_connector(self, route: Route, message: Message) -> str:
        """The attempt's connector in the route's order for this message, skipping connectors
        whose circuit is open while another one of the route is usable. A message counted
        with a national language's tables tries the connectors that send them first."""
        now = self._clock.now()
        if route.strategy == "adaptive":
            order = self._adaptive_order(route, message)
        else:
            prices = self._prices
            if self.price_book is not None and route.strategy == "least_cost":
                # only least-cost routing reads prices: no lookups for the other strategies
                prices = self.price_book.routing_prices(prices, message.to, message.country)
            order = connector_order(
                route, message_id=message.id, country=message.country, prices=prices
            )
        if message.language is not None:
            order = prefer_language(order, message.language, self._languages)
        start = (max(message.attempts, 1) - 1) % len(order)
        for offset in range(len(order)):
            name = order[(start + offset) % len(order)]
            if self._usable(name, now):
                return name
        return order[start]

    def _adaptive_order(self, route: Route, message: Message) -> tuple[str, ...]:
        """The adaptive order for ``message``: the route's scores for its country are worked
        out once per stats snapshot (they are the same for every message until the next
        refresh); only the message's exploration draw is its own."""
        stats = self.delivery.snapshot((route.adaptive or self.adaptive).window)
        key = (id(route), message.country)
        cached = self._ranked.get(key)
        if cached is not None and cached[0] is stats:
            base = cached[1]
        else:
            base = ranking(
                route,
                country=message.country,
                prices=self._prices,
                stats=stats,
                adaptive=self.adaptive,
            )
            self._ranked[key] = (stats, base)
        draw, pick = exploration_draw(message.id)
        return explore(base, draw=draw, pick=pick).order

    def _usable(self, name: str, now: float) -> bool:
        """Whether the circuit lets a message through this connector now.

        While the circuit is not closed the connector's own health is asked too: a probe
        into a connector with no way to its carrier would only fail and lengthen the
        cool-down, and once the way is back (the binds came up) the probe goes at once.
        """
        circuit = self.circuits.get(name)
        if circuit is None or circuit.state is CircuitState.CLOSED:
            return True
        connector = self._connectors.get(name)
        if connector is not None:
            if not connector.health().up:
                circuit.unreachable()
                return False
            circuit.reachable()
        return circuit.allows(now)

    def add_connector(
        self,
        name: str,
        connector: Connector,
        *,
        rate: float = 0.0,
        country_rates: Mapping[str, float] | None = None,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        """Start sending through a new connector (routes may name it from now on)."""
        if name in self._connectors:
            raise ValueError(f"connector {name!r} exists")
        self._connectors[name] = connector
        self._languages[name] = connector.national_languages
        lane = self._add_lane(name, rate, country_rates)
        self._prices = {**self._prices, name: dict(prices or {})}
        self.delivery.prices = self._prices
        self._ranked.clear()
        if self._tasks:
            self._tasks.append(asyncio.create_task(self._lane_loop(lane), name=f"lane-{name}"))

    async def remove_connector(self, name: str) -> None:
        """Stop using a connector no route names; its waiting messages go back to the queue."""
        if any(name in route.connectors for route in self._routes):
            raise ValueError(f"connector {name!r} is still named by a route")
        lane = self.lanes.pop(name, None)
        self._connectors.pop(name, None)
        self._languages.pop(name, None)
        self.circuits.pop(name, None)
        for task in list(self._tasks):
            if task.get_name() == f"lane-{name}":
                task.cancel()  # a lane loop does no database work: safe to cancel
                self._tasks.remove(task)
        if lane is not None and len(lane):
            await self.claims.give_back(lane.drain())

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def _windows(self) -> set[float]:
        """The windows the adaptive routes read (the stats refresh reads each)."""
        return {
            (r.adaptive or self.adaptive).window for r in self._routes if r.strategy == "adaptive"
        }

    def set_routes(self, routes: Sequence[Route]) -> None:
        """Replace the route table; messages claimed from now on use it."""
        self._routes = list(routes)
        self._ranked.clear()

    async def _lane_loop(self, lane: Lane) -> None:
        connector = self._connectors[lane.name]
        while True:
            try:
                message = await lane.next()
            except Exception:  # a lane must outlive any one failure: its messages wait in it
                log.exception("lane %s failed; going on in a second", lane.name)
                await self._clock.sleep(1.0)
                continue
            task = asyncio.create_task(self._submit(message, lane.name, connector))
            self._submits.add(task)
            task.add_done_callback(self._submits.discard)

    def route_for(self, message: Message) -> Route | None:
        return select_route(
            self._routes,
            to=message.to,
            country=message.country,
            kind=str(message.kind),
            account=self._account_names(message.account_id),
        )

    @property
    def connector_languages(self) -> Mapping[str, frozenset[str]]:
        """The national languages each running connector sends (``smsrelay routes test``)."""
        return self._languages

    def route_languages(
        self, to: str, country: str | None, kind: str, account: str
    ) -> frozenset[str]:
        """The national languages a message would be sent with: those some connector of the
        route it matches (the same match as at dispatch; ``account``: its name) sends. The
        accept path counts with a language only when it is among them."""
        route = select_route(self._routes, to=to, country=country, kind=kind, account=account)
        return frozenset() if route is None else route_languages(route, self._languages)

    async def _submit(self, message: Message, name: str, connector: Connector) -> None:
        outbound = _outbound(message)
        if message.origin == VERIFY_ORIGIN:
            # the row holds the text with the code masked: the real one is sealed apart
            unsealed = await self._unsealed(outbound)
            if isinstance(unsealed, SubmitOutcome):  # not sent: no connector, no circuit
                self.recorder.put(SubmitResult(message, name, unsealed))
                return
            outbound = unsealed
        try:
            outcome = await connector.submit(outbound)
        except Exception as error:  # a connector bug must not lose the message
            log.exception("submit raised message_id=%s connector=%s", message.id, name)
            outcome = SubmitOutcome(error=ErrorCode.CARRIER_SYSTEM_ERROR, detail=str(error))
        circuit = self.circuits.get(name)
        if circuit is not None:
            circuit.record(outcome.error, self._clock.now())
        self.recorder.put(SubmitResult(message, name, outcome))

    async def _unsealed(self, outbound: OutboundMessage) -> OutboundMessage | SubmitOutcome:
        """A one-time code's message with its real text, or why it is not sent: the
        verification ended or has a newer code (final), or the text could not be read now
        (retried)."""
        try:
            text = (
                await self._texts.text_for(outbound.message_id) if self._texts is not None else None
            )
        except Exception as error:
            log.exception("reading a sealed text failed message_id=%s", outbound.message_id)
            return SubmitOutcome(error=ErrorCode.UNAVAILABLE, detail=str(error))
        if text is None:
            detail = "the verification ended or its code was replaced before it was sent"
            return SubmitOutcome(error=ErrorCode.VERIFICATION_CLOSED, detail=detail)
        return replace(outbound, body=text)


def _outbound(message: Message) -> OutboundMessage:
    return OutboundMessage(
        message_id=message.id,
        to=message.to,
        body=message.body,
        encoding=message.encoding,
        segments=message.segments,
        sender=message.sender,
        kind=message.kind,
        attempt=message.attempts,
        expires_at=message.expires_at,
        language=message.language,
        registration=message.registration,
    )
