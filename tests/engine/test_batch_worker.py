"""The batch worker: commits shared, a poison item dropped alone, a database outage retried."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from smsrelay.engine.batch_worker import BatchWorker, clean_text
from smsrelay.engine.clock import ManualClock


class Recorder(BatchWorker[str]):
    def __init__(self, clock: ManualClock | None = None) -> None:
        super().__init__(clock or ManualClock(), max_batch=100, retry_pause=1.0)
        self.stored: list[str] = []
        self.down = False
        self.calls = 0

    async def _apply_batch(self, batch: Sequence[str]) -> None:
        self.calls += 1
        if self.down or "poison" in batch:
            raise RuntimeError("refused")
        self.stored.extend(batch)


async def test_submit_returns_after_the_commit_and_batches_share_it() -> None:
    worker = Recorder()
    for n in range(50):
        worker.put(f"item{n}")
    await worker.start()
    await worker.submit("last")
    assert worker.stored[-1] == "last" and len(worker.stored) == 51
    assert worker.calls <= 3
    await worker.stop()


async def test_a_poison_item_is_dropped_alone() -> None:
    worker = Recorder()
    for item in ("a", "poison", "b"):
        worker.put(item)
    await worker.start()
    await worker.submit("c")
    assert sorted(worker.stored) == ["a", "b", "c"]
    await worker.stop()


async def test_an_outage_is_retried_until_the_database_is_back() -> None:
    clock = ManualClock()
    worker = Recorder(clock)
    worker.down = True
    await worker.start()
    pending = asyncio.create_task(worker.submit("x"))
    await clock.settle()
    assert clock.sleeping == 1  # the retry pause
    assert not pending.done() and worker.stored == [] and worker.calls == 1
    clock.advance(0.5)
    await clock.settle()
    assert worker.calls == 1  # still pausing
    worker.down = False
    clock.advance(0.5)
    await pending
    assert worker.stored == ["x"]
    await worker.stop()


def test_clean_text() -> None:
    assert clean_text("a\x00b" + "c" * 100, 5) == "abccc"
