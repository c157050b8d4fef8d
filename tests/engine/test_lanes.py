"""Send lanes: priority order, the rate limit (on an injected clock) and marketing's share."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from smsrelay.domain.messages import Encoding, Message, MessageKind, queue_priority
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.budget import SharedBudget
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.lanes import Lane
from smsrelay.store.db import Database


def _message(n: int, kind: MessageKind, priority: int = 5, segments: int = 1) -> Message:
    return Message(
        id=f"msg_{n:06d}",
        account_id="acc",
        to="+14155552671",
        country="US",
        sender=None,
        body="x",
        encoding=Encoding.GSM7,
        segments=segments,
        kind=kind,
        priority=queue_priority(kind, priority),
        status=MessageStatus.SENDING,
        created_at=0.0,
        updated_at=0.0,
        not_before=0.0,
    )


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def test_otp_overtakes_a_marketing_backlog() -> None:
    lane = Lane("a", marketing_share=0.0)
    for n in range(1000):
        lane.put(_message(n, MessageKind.MARKETING))
    lane.put(_message(5000, MessageKind.TRANSACTIONAL))
    lane.put(_message(5001, MessageKind.OTP))
    assert (await lane.next()).kind is MessageKind.OTP
    assert (await lane.next()).kind is MessageKind.TRANSACTIONAL
    first = await lane.next()
    assert first.id == "msg_000000"  # then the backlog, oldest first


async def test_priority_within_a_kind_then_age() -> None:
    lane = Lane("a")
    lane.put(_message(1, MessageKind.TRANSACTIONAL, priority=5))
    lane.put(_message(2, MessageKind.TRANSACTIONAL, priority=9))
    lane.put(_message(3, MessageKind.TRANSACTIONAL, priority=5))
    assert [(await lane.next()).id for _ in range(3)] == ["msg_000002", "msg_000001", "msg_000003"]


async def test_marketing_keeps_its_share_under_otp_pressure() -> None:
    lane = Lane("a", marketing_share=0.25)
    for n in range(400):
        lane.put(_message(n, MessageKind.OTP))
        lane.put(_message(10_000 + n, MessageKind.MARKETING))
    kinds = [(await lane.next()).kind for _ in range(400)]
    marketing = kinds.count(MessageKind.MARKETING)
    assert 95 <= marketing <= 105  # a quarter of the connector's sends


async def test_rate_limit_on_an_injected_clock() -> None:
    clock = FakeTime()
    lane = Lane("a", rate=100.0, now=clock.now, sleep=clock.sleep)
    for n in range(2000):
        lane.put(_message(n, MessageKind.TRANSACTIONAL))
    sent_at = []
    for _ in range(2000):
        await lane.next()
        sent_at.append(clock.t)
    in_ten_seconds = sum(1 for t in sent_at if 5.0 <= t < 15.0)
    assert 990 <= in_ten_seconds <= 1010
    assert lane.room() == 0 or len(lane) == 0


async def test_long_messages_cost_one_token_per_segment() -> None:
    clock = FakeTime()
    lane = Lane("a", rate=10.0, now=clock.now, sleep=clock.sleep)
    for n in range(30):
        lane.put(_message(n, MessageKind.TRANSACTIONAL, segments=1))
    for _ in range(30):
        await lane.next()
    single = clock.t
    clock2 = FakeTime()
    lane2 = Lane("b", rate=10.0, now=clock2.now, sleep=clock2.sleep)
    for n in range(30):
        lane2.put(replace(_message(n, MessageKind.TRANSACTIONAL), segments=1))
        lane2.put(_message(100 + n, MessageKind.TRANSACTIONAL, segments=1))
    for _ in range(60):
        await lane2.next()
    assert clock2.t > single * 1.8


def test_room_follows_the_rate() -> None:
    lane = Lane("a", rate=100.0, lookahead=2.0)
    assert lane.room() == 201
    for n in range(50):
        lane.put(_message(n, MessageKind.MARKETING))
    assert lane.room() == 151
    assert Lane("b", unlimited_room=500).room() == 500


async def test_a_country_at_its_limit_does_not_hold_up_the_others() -> None:
    clock = FakeTime()
    lane = Lane("a", rate=100.0, country_rates={"in": 10.0}, now=clock.now, sleep=clock.sleep)
    for n in range(300):
        message = _message(n, MessageKind.TRANSACTIONAL)
        lane.put(replace(message, country="IN" if n % 2 else "US"))
    sent: list[tuple[float, str | None]] = []
    for _ in range(300):
        message = await lane.next()
        sent.append((clock.t, message.country))
    india = [t for t, c in sent if c == "IN"]
    in_ten_seconds = sum(1 for t in india if 2.0 <= t < 12.0)
    assert 95 <= in_ten_seconds <= 105  # 10/s for India
    us_done = max(t for t, c in sent if c == "US")
    assert us_done < 2.0  # the US messages went at the connector's 100/s meanwhile


async def test_two_processes_lanes_share_the_connector_and_country_rates(
    database: Database,
) -> None:
    """Two processes' lanes for one connector (each with its own ``SharedBudget`` on the one
    database) together keep its 100/s and India's 20/s, on a manual clock."""
    clock = ManualClock(1_800_000_000.0)
    lanes = [
        Lane(
            "a",
            rate=100.0,
            country_rates={"IN": 20.0},
            now=clock.now,
            sleep=clock.sleep,
            budget=SharedBudget(database),
        )
        for _ in range(2)
    ]
    for k, lane in enumerate(lanes):
        for n in range(1000):
            message = _message(k * 1000 + n, MessageKind.TRANSACTIONAL)
            lane.put(replace(message, country="IN" if n % 4 == 0 else "US"))
    sent: list[str | None] = []

    async def send(lane: Lane) -> None:
        while True:
            sent.append((await lane.next()).country)

    tasks = [asyncio.create_task(send(lane)) for lane in lanes]
    try:
        end = clock.now() + 5.0
        while clock.now() < end:
            for _ in range(1000):  # until both lanes wait on the clock (not the database)
                if clock.sleeping >= len(lanes):
                    break
                await asyncio.sleep(0.001)
            clock.advance(0.01)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    # one process alone or two of their own would pass 500 and 1,000 in 5 s; the burst
    # (10 and 2) and a chunk held by each process (5 and 1) come on top
    assert 480 <= len(sent) <= 500 + 10 + 2 * 5
    india = sum(1 for country in sent if country == "IN")
    assert 95 <= india <= 100 + 2 + 2 * 1
