"""When a marketing message may arrive: the next allowed instant under a country's quiet hours.

A rule (:class:`~smsrelay.domain.countries.QuietHours`) lists the local windows in which
marketing may arrive; everything else is quiet. The recipient's local time comes from the
number: ``phonenumbers``' time-zone data maps number prefixes to candidate zones. Where a
prefix has several (a US mobile, a Russian number), a message may arrive only when *every*
candidate zone is inside an allowed window, since we cannot tell which one the recipient is
in: the search moves to the next instant allowed in one zone, checks the others there, and
repeats. When the candidate windows never overlap (zones further apart than the window is
long), it settles for the latest instant any single zone would open: no zone is written to
before its window opens, though an eastern one may be past its close.

The zones of a number are cached per prefix (``phonenumbers`` matches at most
``TIMEZONE_LONGEST_PREFIX`` digits), so the accept path does the lookup once per prefix.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from smsrelay.domain.countries import CountryRules, QuietHours
from smsrelay.domain.countries.model import DAYS, minutes

UTC = ZoneInfo("UTC")
SEARCH_DAYS = 21  # a rule opens at least one day a week; holidays close a few more
MAX_ROUNDS = 8  # rounds of moving between candidate zones before settling


@dataclass(frozen=True, slots=True)
class Hold:
    """A marketing message held for quiet hours: when it may go, and the rule's source."""

    release_at: float
    source: str
    read_on: date | None


def quiet_hold(rules: CountryRules, country: str | None, e164: str, at: float) -> Hold | None:
    """The hold for a marketing message to ``e164`` that would be sent at ``at``, or None
    when the destination has no quiet-hours rule or ``at`` is allowed."""
    rule = rules.quiet_hours(country)
    if rule is None:
        return None
    release = next_allowed(rule.value, zones_for(e164), at)
    return None if release is None else Hold(release, rule.source, rule.read_on)


def next_allowed(rule: QuietHours, zones: Sequence[ZoneInfo], at: float) -> float | None:
    """None when ``at`` (Unix seconds) is allowed in every zone, else the next such instant."""
    if not zones:
        return None
    t = at
    for _ in range(MAX_ROUNDS):
        moved = False
        for zone in zones:
            later = _next_in_zone(rule, zone, t)
            if later is not None:
                t, moved = later, True
        if not moved:
            return None if t == at else t
    return max(_next_in_zone(rule, zone, at) or at for zone in zones)


def _next_in_zone(rule: QuietHours, zone: ZoneInfo, at: float) -> float | None:
    local = datetime.fromtimestamp(at, zone)
    if _allowed(rule, local):
        return None
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        for start in _window_starts(rule, day):
            opens = _instant(day, start, zone)
            if opens > at:
                return opens
    raise ValueError("quiet-hours rule allows no time in three weeks")  # validation forbids


def _allowed(rule: QuietHours, local: datetime) -> bool:
    if _closed(rule, local.date()):
        return False
    day = DAYS[local.weekday()]
    now = local.hour * 60 + local.minute
    return any(day in w.days and minutes(w.start) <= now < minutes(w.end) for w in rule.allowed)


def _window_starts(rule: QuietHours, day: date) -> list[int]:
    if _closed(rule, day):
        return []
    name = DAYS[day.weekday()]
    return sorted(minutes(w.start) for w in rule.allowed if name in w.days)


def _instant(day: date, start: int, zone: ZoneInfo) -> float:
    """Local ``start`` minutes on ``day`` as an instant: the first of the two when the clock
    falls back over it, the later reading when it springs forward over it (a little late
    rather than early)."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=start)
    first = naive.replace(tzinfo=zone, fold=0).timestamp()
    second = naive.replace(tzinfo=zone, fold=1).timestamp()
    return min(first, second) if _exists(naive, zone) else max(first, second)


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _closed(rule: QuietHours, day: date) -> bool:
    return rule.holidays == "closed" and _is_holiday(rule.holiday_dates, day)


def _is_holiday(dates: Sequence[str], day: date) -> bool:
    if day.strftime("%m-%d") in dates:
        return True
    easter = easter_sunday(day.year)
    movable = {
        "good_friday": easter - timedelta(days=2),
        "easter_monday": easter + timedelta(days=1),
        "ascension": easter + timedelta(days=39),
        "whit_monday": easter + timedelta(days=50),
    }
    return any(movable.get(name) == day for name in dates)


@functools.cache
def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def zones_for(e164: str) -> tuple[ZoneInfo, ...]:
    """The candidate time zones of a number, by its longest known prefix."""
    return _zones_for_prefix(e164.lstrip("+")[:TIMEZONE_LONGEST_PREFIX])


@functools.lru_cache(maxsize=4096)
def _zones_for_prefix(digits: str) -> tuple[ZoneInfo, ...]:
    for length in range(len(digits), 0, -1):
        names = TIMEZONE_DATA.get(digits[:length])
        if names:
            return _zones(names)
    return ()


def _zones(names: Sequence[str]) -> tuple[ZoneInfo, ...]:
    zones: list[ZoneInfo] = []
    for name in names:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):  # phonenumbers' "Etc/Unknown" and the like
            continue
    return tuple(zones)
