from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.states import (
    CANCELABLE,
    FINAL,
    PENDING,
    SETTLED,
    TRANSITIONS,
    InvalidTransition,
    MessageStatus,
    allowed_sources,
    can_transition,
    transition,
)

S = MessageStatus
ALL = list(MessageStatus)
PAIRS = [(a, b) for a in ALL for b in ALL]


def test_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(MessageStatus)
    for targets in TRANSITIONS.values():
        assert targets <= set(MessageStatus)


def test_final_statuses_have_no_exits() -> None:
    assert {S.DELIVERED, S.UNDELIVERED, S.EXPIRED, S.REJECTED, S.FAILED, S.CANCELED} == FINAL
    for status in FINAL:
        assert TRANSITIONS[status] == frozenset()
    assert S.UNKNOWN not in FINAL  # a late receipt still settles it
    assert FINAL | {S.UNKNOWN} == SETTLED


def test_no_status_moves_to_itself() -> None:
    for status, targets in TRANSITIONS.items():
        assert status not in targets


def test_the_documented_life_of_a_message() -> None:
    path = [S.QUEUED, S.SENDING, S.QUEUED, S.SENDING, S.SENT, S.UNKNOWN, S.DELIVERED]
    for current, new in itertools.pairwise(path):
        assert transition(current, new) is new
    assert transition(S.SCHEDULED, S.CANCELED) is S.CANCELED
    assert transition(S.SENDING, S.DELIVERED) is S.DELIVERED  # receipt overtook submit_sm_resp
    assert transition(S.SENDING, S.FAILED) is S.FAILED


def test_cancelable_and_pending() -> None:
    assert {S.SCHEDULED, S.QUEUED} == CANCELABLE
    assert {S.SCHEDULED, S.QUEUED, S.SENDING} == PENDING


@pytest.mark.parametrize(("current", "new"), PAIRS)
def test_transition_agrees_with_the_table(current: MessageStatus, new: MessageStatus) -> None:
    allowed = new in TRANSITIONS[current]
    assert can_transition(current, new) is allowed
    if allowed:
        assert transition(current, new) is new
        return
    with pytest.raises(InvalidTransition) as info:
        transition(current, new)
    error = info.value
    assert isinstance(error, SmsError)
    assert (error.current, error.new) == (current, new)
    expected = ErrorCode.NOT_CANCELABLE if new is S.CANCELED else ErrorCode.INTERNAL_ERROR
    assert error.code is expected


@pytest.mark.parametrize("new", ALL)
def test_allowed_sources_is_the_inverse_of_the_table(new: MessageStatus) -> None:
    assert allowed_sources(new) == {s for s in ALL if new in TRANSITIONS[s]}
    for source in allowed_sources(new):
        assert can_transition(source, new)


def test_every_status_is_reachable_from_queued_or_scheduled() -> None:
    seen = {S.QUEUED, S.SCHEDULED}
    frontier = list(seen)
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(MessageStatus)


@given(st.sampled_from([S.QUEUED, S.SCHEDULED]), st.lists(st.sampled_from(ALL), max_size=30))
@settings(max_examples=300)
def test_random_walks_never_leave_a_final_state(
    start: MessageStatus, attempts: list[MessageStatus]
) -> None:
    current = start
    for new in attempts:
        try:
            moved = transition(current, new)
        except InvalidTransition:
            assert new not in TRANSITIONS[current]
            continue
        assert current not in FINAL
        current = moved
    if current in FINAL:
        for new in ALL:
            assert not can_transition(current, new)
