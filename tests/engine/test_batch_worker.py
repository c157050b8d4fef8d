"""The batch worker: commits shared, a poison item dropped alone, a database outage retried."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from smsrelay.engine.batch_worker import BatchWorker, clean_text


class Recorder(BatchWorker[str]):
    def __init__(self) -> None:
        super().__init__(max_batch=100, retry_pause=0.01)
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
    worker = Recorder()
    worker.down = True
    await worker.start()
    pending = asyncio.create_task(worker.submit("x"))
    await asyncio.sleep(0.1)
    assert not pending.done() and worker.stored == []
    worker.down = False
    await asyncio.wait_for(pending, 5)
    assert worker.stored == ["x"]
    await worker.stop()


def test_clean_text() -> None:
    assert clean_text("a\x00b" + "c" * 100, 5) == "abccc"
