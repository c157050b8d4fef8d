"""The fraud guard in front of every code sent: gather the counts, let ``domain/fraud.py``
decide, and keep what it decided (a block, a refusal's count).

It reads in one read transaction of its own (never the engine's turn: a judgement is a
handful of index range sums, and turns are for writes); a block it decides on is written by
the verify service in the same write as the refusal's count. Two processes judging the same
prefix at once may each let one more code through before the block is stored: the bound of
``domain/fraud.py`` grows by one per process, no more.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.fraud import (
    Baseline,
    Block,
    FraudPolicy,
    Refusal,
    Scope,
    ScopeTraffic,
    block_refusal,
    destination_prefix,
    geo_refusal,
    surge,
    velocity_refusal,
)
from smsrelay.store import fraud as fraud_store
from smsrelay.store import verifications as verify_store
from smsrelay.store.db import Database
from smsrelay.store.fraud import HOUR, MINUTE
from smsrelay.store.verifications import VerifySettings


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a code goes, and from whom, in the guard's terms."""

    account_id: str
    to: str
    country: str | None
    prefix: str
    device_ip: str | None

    def keys(self) -> list[tuple[str, str]]:
        """The (scope, key) pairs a send to it is counted under."""
        keys = [(Scope.PREFIX.value, self.prefix), (Scope.ACCOUNT.value, "all")]
        if self.country:
            keys.append((Scope.COUNTRY.value, self.country))
        if self.device_ip:
            keys.append((Scope.IP.value, self.device_ip))
        return keys

    def conversion_keys(self) -> list[tuple[str, str]]:
        """The (scope, key) pairs an approval is counted under (the judged ones)."""
        keys = [(Scope.PREFIX.value, self.prefix)]
        if self.country:
            keys.append((Scope.COUNTRY.value, self.country))
        return keys


@dataclass(frozen=True, slots=True)
class Judgement:
    """``refusal`` None: send. ``block``: a new block to store with the refusal."""

    refusal: Refusal | None = None
    block: Block | None = None


class FraudGuard:
    def __init__(self, db: Database, policy: FraudPolicy) -> None:
        self._db = db
        self.policy = policy

    def destination(
        self, account_id: str, to: str, country: str | None, device_ip: str | None
    ) -> Destination:
        return Destination(
            account_id, to, country, destination_prefix(to, self.policy.prefix_digits), device_ip
        )

    async def judge(self, dest: Destination, now: float) -> tuple[Judgement, VerifySettings]:
        """Whether a code may go to ``dest`` now, and the account's verify settings (read in
        the same read transaction). In order: geo permissions, blocks in force, velocity,
        then a surge against the baseline (which makes a new block)."""
        async with self._db.read() as conn:
            settings = await verify_store.get_settings(conn, dest.account_id)
            return await self._judge(conn, dest, settings.allowed_countries, now), settings

    async def _judge(
        self,
        conn: AsyncConnection,
        dest: Destination,
        allowed_countries: tuple[str, ...] | None,
        now: float,
    ) -> Judgement:
        geo = geo_refusal(dest.country, allowed_countries)
        if geo is not None:
            return Judgement(geo)
        if not self.policy.enabled:
            return Judgement()
        judged = [(Scope.PREFIX, dest.prefix)]
        if dest.country:
            judged.append((Scope.COUNTRY, dest.country))
        blocks = await fraud_store.active_blocks(
            conn, dest.account_id, [(str(s), k) for s, k in judged], now
        )
        if blocks:
            first = blocks[0]
            return Judgement(block_refusal(first.scope, first.key, first.until, first.reason))
        velocity = await self._velocity(conn, dest, now)
        if velocity is not None:
            return Judgement(velocity)
        lifted = await fraud_store.lifted_since(
            conn, dest.account_id, [(str(s), k) for s, k in judged], now - self.policy.window
        )
        for scope, key in judged:
            since = max(now - self.policy.window, lifted.get((str(scope), key), 0.0))
            traffic = await self._traffic(conn, dest.account_id, scope, key, since, now)
            block = surge(traffic, self.policy)
            if block is not None:
                until = now + self.policy.block_seconds
                return Judgement(block_refusal(str(scope), key, until, block.reason), block)
        return Judgement()

    async def _velocity(
        self, conn: AsyncConnection, dest: Destination, now: float
    ) -> Refusal | None:
        start = float(int(now // MINUTE) * MINUTE)
        counts: dict[Scope, tuple[str, int]] = {}
        wanted = [(Scope.PREFIX, dest.prefix), (Scope.ACCOUNT, "all")]
        if dest.device_ip:
            wanted.append((Scope.IP, dest.device_ip))
        for scope, key in wanted:
            if not self.policy.per_minute(scope):
                continue
            traffic, _ = await fraud_store.traffic_between(
                conn, dest.account_id, str(scope), key, MINUTE, start, start + MINUTE
            )
            counts[scope] = (key, traffic.sends)
        return velocity_refusal(counts, self.policy, seconds_left=start + MINUTE - now)

    async def _traffic(
        self,
        conn: AsyncConnection,
        account_id: str,
        scope: Scope,
        key: str,
        since: float,
        now: float,
    ) -> ScopeTraffic:
        """``since``: the window's start, or the operator's last lift of a block on it."""
        p = self.policy
        # minute buckets wholly older than the grace: their codes had time to be entered
        matured, _ = await fraud_store.traffic_between(
            conn, account_id, str(scope), key, MINUTE, since, now - p.grace - MINUTE
        )
        # hour buckets wholly before the window: the account's normal traffic there
        until = float(int((now - p.window) // HOUR) * HOUR)
        history, first = await fraud_store.traffic_between(
            conn, account_id, str(scope), key, HOUR, until - p.baseline_days * 86400, until
        )
        hours = (until - first) / HOUR if first is not None else 0.0
        return ScopeTraffic(
            scope, key, matured, Baseline.of(history, hours, min_sends=p.min_sends(scope))
        )
