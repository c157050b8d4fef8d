"""The manual clock releases sleeps and waits when advanced, never by the wall clock."""

from __future__ import annotations

import asyncio

from smsrelay.engine.clock import ManualClock, SystemClock


async def test_sleep_returns_only_once_advanced_past_its_deadline() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(5.0))
    await clock.settle()
    assert clock.sleeping == 1
    clock.advance(4.9)
    await clock.settle()
    assert not task.done()
    clock.advance(0.1)
    await clock.settle()
    assert task.done()
    assert clock.sleeping == 0


async def test_wait_returns_true_when_the_event_is_set_first() -> None:
    clock = ManualClock()
    event = asyncio.Event()
    task = asyncio.create_task(clock.wait(event, 10.0))
    await clock.settle()
    event.set()
    assert await task is True
    assert clock.sleeping == 0  # the abandoned sleep does not linger


async def test_wait_returns_false_when_time_runs_out() -> None:
    clock = ManualClock()
    event = asyncio.Event()
    task = asyncio.create_task(clock.wait(event, 10.0))
    await clock.settle()
    clock.advance(10.0)
    assert await task is False


async def test_run_for_wakes_a_periodic_loop_once_per_period() -> None:
    clock = ManualClock()
    ticks: list[float] = []

    async def loop() -> None:
        while True:
            ticks.append(clock.now())
            await clock.sleep(1.0)

    task = asyncio.create_task(loop())
    start = clock.now()
    await clock.run_for(5.0)
    task.cancel()
    assert [t - start for t in ticks] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


async def test_system_clock_wait_sees_a_set_event_without_sleeping() -> None:
    event = asyncio.Event()
    event.set()
    assert await SystemClock().wait(event, 3600.0) is True
