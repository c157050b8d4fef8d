"""Rate budgets shared through the database: several processes together keep one rate."""

from __future__ import annotations

from smsrelay.engine.budget import SharedBudget
from smsrelay.store.db import Database

START = 1_800_000_000.0


async def _drive(budgets: list[SharedBudget], seconds: float, *, rate: float, burst: float) -> int:
    """Every budget asks for one token every millisecond of simulated time, in turn."""
    granted = 0
    steps = int(seconds * 1000)
    for step in range(steps):
        now = START + step / 1000
        for budget in budgets:
            if await budget.take("connector:a", 1, rate=rate, burst=burst, now=now) == 0:
                granted += 1
    return granted


async def test_two_processes_share_one_rate(database: Database) -> None:
    first, second = SharedBudget(database), SharedBudget(database)
    granted = await _drive([first, second], 5.0, rate=100.0, burst=10.0)
    # one bucket for both: 5 s at 100/s plus the burst, give or take a chunk each (5 tokens);
    # two buckets of their own would have passed about 1,000
    assert 480 <= granted <= 510 + 2 * 5
    # at most one ask per process per 50 ms: a few small transactions a second, not one per
    # token (about 500 here)
    assert first.refills + second.refills <= 2 * 5.0 / 0.05 + 10


async def test_a_lone_process_gets_the_whole_rate(database: Database) -> None:
    budget = SharedBudget(database)
    granted = await _drive([budget], 2.0, rate=50.0, burst=5.0)
    assert 95 <= granted <= 105 + 3


async def test_tokens_held_too_long_are_not_spent_late(database: Database) -> None:
    budget = SharedBudget(database, chunk=1.0, hold=1.0)  # takes a second's worth at once
    assert await budget.take("k", 1, rate=10.0, burst=10.0, now=START) == 0
    # nine tokens held; two seconds later they are dropped, not added to a new burst
    for _ in range(10):
        assert await budget.take("k", 1, rate=10.0, burst=10.0, now=START + 2.0) == 0
    assert await budget.take("k", 1, rate=10.0, burst=10.0, now=START + 2.0) > 0


async def test_a_new_rate_starts_a_full_bucket(database: Database) -> None:
    budget = SharedBudget(database)
    for _ in range(2):
        assert await budget.take("k", 1, rate=1.0, burst=2.0, now=START) == 0
    assert await budget.take("k", 1, rate=1.0, burst=2.0, now=START) > 0
    assert await budget.take("k", 1, rate=5.0, burst=5.0, now=START) == 0


async def test_an_unlimited_rate_takes_nothing(database: Database) -> None:
    budget = SharedBudget(database)
    assert await budget.take("k", 10_000, rate=0.0, burst=1.0, now=START) == 0
    assert budget.refills == 0


class _Unreachable:
    """A database that fails every transaction (a dropped connection, a locked file)."""

    def transaction(self) -> object:
        raise OSError("connection refused")


async def test_an_unreadable_budget_makes_its_limit_wait_not_fail() -> None:
    budget = SharedBudget(_Unreachable())  # type: ignore[arg-type]
    wait = await budget.take("connector:a", 1, rate=10.0, burst=10.0, now=START)
    assert wait > 0  # the lane or the accept waits (HTTP 429 with Retry-After), nothing raises
    assert await budget.take("connector:a", 1, rate=10.0, burst=10.0, now=START + 0.1) > 0
