"""Quiet hours: the next allowed local time for marketing, across weekends, holidays, DST and
numbers whose prefix spans several time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.countries import QuietHours, load_shipped
from smsrelay.domain.quiet_hours import easter_sunday, next_allowed, quiet_hold, zones_for

PARIS = ZoneInfo("Europe/Paris")
FR_NUMBER = "+33612345678"
RULES = load_shipped()
FR_RULE = RULES.quiet_hours("FR")


def at(zone: ZoneInfo, *parts: int) -> float:
    return datetime(*parts, tzinfo=zone).timestamp()  # type: ignore[misc]


def local(zone: ZoneInfo, instant: float) -> datetime:
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


def rule(**raw: object) -> QuietHours:
    return QuietHours.model_validate(raw)


MON_SAT_8_20 = rule(allowed=[{"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                              "start": "08:00", "end": "20:00"}])  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "released"),
    [
        # Friday 4 December 2026, 23:00 in Paris -> Saturday 08:00
        ((2026, 12, 4, 23, 0), (2026, 12, 5, 8, 0)),
        # Saturday 21:00 -> Monday 08:00 (Sunday is quiet all day)
        ((2026, 12, 5, 21, 0), (2026, 12, 7, 8, 0)),
        # Sunday noon -> Monday 08:00
        ((2026, 12, 6, 12, 0), (2026, 12, 7, 8, 0)),
        # early on a weekday -> 08:00 that day
        ((2026, 12, 8, 6, 30), (2026, 12, 8, 8, 0)),
        # Christmas Day (a Friday) is a public holiday -> Saturday 08:00
        ((2026, 12, 25, 10, 0), (2026, 12, 26, 8, 0)),
        # Easter Monday 2027 (29 March) -> Tuesday 08:00
        ((2027, 3, 29, 9, 0), (2027, 3, 30, 8, 0)),
        # Saturday night before the autumn change (Sunday 31 October 2027); Monday is All
        # Saints' Day -> Tuesday 08:00 CET
        ((2027, 10, 30, 22, 0), (2027, 11, 2, 8, 0)),
        # Saturday night before the spring change (Sunday 28 March 2027, Easter); Monday is
        # Easter Monday -> Tuesday 08:00 CEST
        ((2027, 3, 27, 22, 0), (2027, 3, 30, 8, 0)),
    ],
)
def test_french_marketing_is_held_until_the_next_allowed_local_time(
    sent: tuple[int, ...], released: tuple[int, ...]
) -> None:
    hold = quiet_hold(RULES, "FR", FR_NUMBER, at(PARIS, *sent))
    assert hold is not None
    assert local(PARIS, hold.release_at) == datetime(*released)  # type: ignore[misc]
    assert hold.source == FR_RULE.source and hold.read_on == FR_RULE.read_on  # type: ignore[union-attr]


JOHANNESBURG = ZoneInfo("Africa/Johannesburg")


@pytest.mark.parametrize(
    ("sent", "released"),
    [
        # Saturday 5 December 2026 13:30 (the Saturday window closed at 13:00) -> Monday 08:00
        ((2026, 12, 5, 13, 30), (2026, 12, 7, 8, 0)),
        # Saturday 07:00 -> Saturday 09:00 (the Saturday window opens later)
        ((2026, 12, 5, 7, 0), (2026, 12, 5, 9, 0)),
        # Youth Day, Wednesday 16 June 2027 -> Thursday 08:00
        ((2027, 6, 16, 10, 0), (2027, 6, 17, 8, 0)),
        # Thursday 24 December 2026 21:00 -> Monday 28 December (25, 26 holidays, 27 Sunday)
        ((2026, 12, 24, 21, 0), (2026, 12, 28, 8, 0)),
    ],
)
def test_south_african_windows_differ_by_day(
    sent: tuple[int, ...], released: tuple[int, ...]
) -> None:
    hold = quiet_hold(RULES, "ZA", "+27821234567", at(JOHANNESBURG, *sent))
    assert hold is not None
    assert local(JOHANNESBURG, hold.release_at) == datetime(*released)  # type: ignore[misc]


def test_the_rule_kept_is_the_most_restrictive_reading() -> None:
    """20:30 on a Tuesday: allowed by one provider's reading (until 22:00), not by ours."""
    hold = quiet_hold(RULES, "FR", FR_NUMBER, at(PARIS, 2026, 12, 8, 20, 30))
    assert hold is not None and local(PARIS, hold.release_at) == datetime(2026, 12, 9, 8, 0)


def test_inside_the_window_nothing_is_held() -> None:
    assert quiet_hold(RULES, "FR", FR_NUMBER, at(PARIS, 2026, 12, 8, 10, 0)) is None
    assert quiet_hold(RULES, "FR", FR_NUMBER, at(PARIS, 2026, 12, 8, 19, 59)) is None


def test_a_country_without_a_rule_never_holds() -> None:
    assert RULES.quiet_hours("AC") is None
    assert quiet_hold(RULES, "AC", "+2476001", at(PARIS, 2026, 12, 6, 3, 0)) is None
    assert quiet_hold(RULES, None, "+99912345", at(PARIS, 2026, 12, 6, 3, 0)) is None


def test_spring_forward_opening_inside_the_gap() -> None:
    """A window that opens at 02:30 on the night Paris skips 02:00-03:00 opens at 03:00 CEST
    or just after, never in the hour that does not exist."""
    night = rule(allowed=[{"days": ["sun"], "start": "02:30", "end": "05:00"}])
    release = next_allowed(night, (PARIS,), at(PARIS, 2027, 3, 28, 1, 0))
    assert release is not None
    assert local(PARIS, release) >= datetime(2027, 3, 28, 3, 0)
    assert local(PARIS, release) <= datetime(2027, 3, 28, 3, 30)


def test_several_candidate_zones_wait_for_all_of_them() -> None:
    """09:00 in New York is 06:00 in Los Angeles: an 08:00-21:00 rule opens at 11:00 NY."""
    daily = rule(allowed=[{"days": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
                           "start": "08:00", "end": "21:00"}])  # fmt: skip
    ny, la = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
    release = next_allowed(daily, (ny, la), at(ny, 2026, 12, 8, 9, 0))
    assert release is not None and local(ny, release) == datetime(2026, 12, 8, 11, 0)
    assert next_allowed(daily, (ny, la), at(ny, 2026, 12, 8, 12, 0)) is None


def test_zones_that_never_overlap_settle_for_the_latest_opening() -> None:
    short = rule(allowed=[{"days": ["mon"], "start": "09:00", "end": "10:00"}])
    tokyo, la = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles")
    start = at(ZoneInfo("UTC"), 2026, 12, 6, 0, 0)  # a Sunday
    release = next_allowed(short, (tokyo, la), start)
    assert release is not None
    assert release == max(next_allowed(short, (z,), start) or start for z in (tokyo, la))


def test_time_zones_of_numbers() -> None:
    assert zones_for(FR_NUMBER) == (PARIS,)
    assert zones_for("+14155552671") == (ZoneInfo("America/Los_Angeles"),)
    assert zones_for("+99912345") == ()


@pytest.mark.parametrize(
    ("year", "month", "day"), [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28)]
)
def test_easter(year: int, month: int, day: int) -> None:
    assert easter_sunday(year) == datetime(year, month, day).date()


@settings(max_examples=300)
@given(st.floats(min_value=1.7e9, max_value=2.0e9))
def test_the_release_is_later_and_allowed(instant: float) -> None:
    release = next_allowed(FR_RULE.value, (PARIS,), instant)  # type: ignore[union-attr]
    if release is None:
        when = local(PARIS, instant)
        assert when.weekday() < 6 and 8 <= when.hour < 20
    else:
        assert release > instant
        assert next_allowed(FR_RULE.value, (PARIS,), release) is None  # type: ignore[union-attr]
        # a minute earlier is still quiet: it is the *next* allowed time
        assert next_allowed(FR_RULE.value, (PARIS,), release - 60) is not None  # type: ignore[union-attr]


def test_a_utc_instant_is_read_in_the_recipient_zone() -> None:
    # 22:30 UTC on a Tuesday is 23:30 in Paris: quiet
    instant = datetime(2026, 12, 8, 22, 30, tzinfo=UTC).timestamp()
    hold = quiet_hold(RULES, "FR", FR_NUMBER, instant)
    assert hold is not None and local(PARIS, hold.release_at) == datetime(2026, 12, 9, 8, 0)
