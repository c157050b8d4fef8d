from __future__ import annotations

import pytest

from smsrelay.smpp.timers import LinkTimer, LinkTimers, PendingRequests, TokenBucket


def test_session_init_fires_once_unless_bound() -> None:
    t = LinkTimers(100.0, session_init_timeout=10)
    assert t.expired(109.9) == []
    assert t.next_deadline() == 110.0
    assert t.expired(110.0) == [LinkTimer.SESSION_INIT]
    assert t.expired(200.0) == []
    bound = LinkTimers(0.0, session_init_timeout=10)
    bound.bound()
    assert bound.expired(50.0) == []


def test_enquire_link_probes_a_silent_peer_every_interval() -> None:
    t = LinkTimers(0.0, enquire_link_interval=30)
    assert t.expired(29) == []
    assert t.expired(30) == [LinkTimer.ENQUIRE_LINK]
    assert t.expired(45) == []
    t.received(50)
    assert t.expired(79) == []
    assert t.next_deadline() == 80
    assert t.expired(80) == [LinkTimer.ENQUIRE_LINK]


def test_inactivity_fires_once_until_traffic() -> None:
    t = LinkTimers(0.0, inactivity_timeout=60)
    assert t.expired(60) == [LinkTimer.INACTIVITY]
    assert t.expired(61) == []
    t.received(70)
    assert t.expired(130) == [LinkTimer.INACTIVITY]


def test_disabled_timers_have_no_deadline() -> None:
    assert LinkTimers(0.0).next_deadline() is None


def test_pending_requests_expire_by_deadline() -> None:
    p: PendingRequests[str, int] = PendingRequests(timeout=5)
    p.add(1, "a", 10, now=0)
    p.add(2, "b", 20, now=1, timeout=1)
    assert p.next_deadline() == 2
    assert [x.request for x in p.expired(2)] == ["b"]
    assert p.pop(1) is not None and len(p) == 0
    p.add(3, "c", None, now=0)
    assert [x.request for x in p.drain()] == ["c"]


def test_token_bucket() -> None:
    b = TokenBucket(rate=2, now=0.0)
    assert [b.take(0.0) for _ in range(3)] == [True, True, False]
    assert b.take(0.5)
    assert not b.take(0.5)
    assert b.take(10.0) and b.take(10.0) and not b.take(10.0)  # burst stays capped
    with pytest.raises(ValueError):
        TokenBucket(0, now=0)
