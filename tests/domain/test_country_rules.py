"""The shipped country rules: every region phonenumbers knows, every field valid and sourced,
the data and its coverage table up to date with the build script; overrides and their order."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from smsrelay.config import Settings
from smsrelay.domain.countries import (
    FIELDS,
    NO_SOURCE,
    OVERRIDE_API,
    OVERRIDE_FILE,
    ApiOverride,
    QuietHours,
    Rule,
    load_shipped,
    parse_overrides,
)
from smsrelay.domain.countries.model import DAYS, dump_value, parse_value

ROOT = Path(__file__).resolve().parents[2]
RULES = load_shipped()
ISO_CODES = sorted(c.iso for c in RULES)


def test_every_region_phonenumbers_knows_has_an_entry() -> None:
    assert set(ISO_CODES) == set(phonenumbers.SUPPORTED_REGIONS)
    assert len(ISO_CODES) >= 200


def _check_sourced(rule: Rule) -> None:
    readings = [(rule.value, rule.source, rule.read_on)]
    readings += [(a.value, a.source, a.read_on) for a in rule.alternatives]
    for index, (value, source, read_on) in enumerate(readings):
        if value is None:
            assert index == 0 and source == NO_SOURCE and read_on is None
            assert not rule.alternatives
        else:
            assert source.startswith("https://") or source.startswith("http://"), source
            assert isinstance(read_on, date)


@pytest.mark.parametrize("iso", ISO_CODES)
def test_every_entry_loads_with_every_field_valid_and_sourced(iso: str) -> None:
    country = RULES.get(iso)
    assert country is not None and country.iso == iso and country.name
    assert country.calling_code == phonenumbers.country_code_for_region(iso)
    assert set(country.rules) == set(FIELDS)
    for name in FIELDS:
        rule = country.rule(name)
        _check_sourced(rule)
        # the value is what its field's type accepts, in both directions
        assert parse_value(name, dump_value(rule.value)) == rule.value
    body = country.as_json()
    assert body["country"] == iso
    assert all({"value", "source", "read_on"} <= set(body[name]) for name in FIELDS)


def test_the_largest_markets_have_sourced_rules() -> None:
    sourced = {c.iso for c in RULES if any(c.rule(f).known for f in FIELDS)}
    for iso in ("US", "GB", "DE", "FR", "IN", "BR"):
        assert iso in sourced, iso


def test_sources_that_disagree_are_all_kept() -> None:
    """France's marketing hours: the most restrictive reading acted on, the others kept."""
    rule = RULES.get("FR").rule("quiet_hours")  # type: ignore[union-attr]
    assert isinstance(rule.value, QuietHours) and rule.alternatives
    ends = {w.end for w in rule.value.allowed}
    assert ends == {"20:00"}
    assert {w.end for a in rule.alternatives for w in a.value.allowed} >= {"22:00"}
    assert len({rule.source, *(a.source for a in rule.alternatives)}) >= 2


def test_data_file_and_coverage_table_match_the_build_script() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_country_rules.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


_window = st.builds(
    lambda days, start, length: {
        "days": days,
        "start": f"{start // 60:02d}:{start % 60:02d}",
        "end": f"{(start + length) // 60:02d}:{(start + length) % 60:02d}",
    },
    st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    st.integers(0, 22 * 60),
    st.integers(1, 60),
)


@given(st.lists(_window, min_size=1, max_size=4), st.booleans())
def test_quiet_hours_round_trip(windows: list[dict[str, object]], closed: bool) -> None:
    raw: dict[str, object] = {"allowed": windows}
    if closed:
        raw |= {"holidays": "closed", "holiday_dates": ["01-01", "easter_monday"]}
    value = parse_value("quiet_hours", raw)
    assert parse_value("quiet_hours", dump_value(value)) == value


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"two_way": "yes"}, "two_way"),
        ({"alphanumeric_sender": "sometimes"}, "alphanumeric_sender"),
        ({"max_segments": 0}, "max_segments"),
        (
            {"quiet_hours": {"allowed": [{"days": ["mon"], "start": "20:00", "end": "08:00"}]}},
            "does not end after it starts",
        ),
        (
            {"quiet_hours": {"allowed": [{"days": ["funday"], "start": "08:00", "end": "20:00"}]}},
            "quiet_hours",
        ),
        ({"quiet_hours": {"allowed": [], "holidays": "closed"}}, "quiet_hours"),
        ({"colour": "blue"}, "unknown rule 'colour'"),
        ({}, "an object of rule fields"),
    ],
)
def test_a_bad_override_names_the_field(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_overrides(raw)


def test_the_admin_api_override_wins_over_the_file_and_keeps_the_sources() -> None:
    file = {"FR": parse_overrides({"two_way": False, "max_segments": 4})}
    api = {"FR": ApiOverride(parse_overrides({"two_way": True}), date(2026, 12, 5))}
    rules = RULES.overridden(file, api, today=date(2026, 12, 4))
    fr = rules.get("FR")
    assert fr is not None
    two_way = fr.rule("two_way")
    assert (two_way.value, two_way.source, two_way.read_on) == (
        True,
        OVERRIDE_API,
        date(2026, 12, 5),
    )
    # what was there before is still visible: the file's value, then the shipped reading
    assert [a.source for a in two_way.alternatives][:1] == [OVERRIDE_FILE]
    assert any(a.source.startswith("https://") for a in two_way.alternatives)
    segments = fr.rule("max_segments")
    assert (segments.value, segments.source) == (4, OVERRIDE_FILE)
    # nothing else changed, and the shipped rules are untouched
    assert fr.rule("quiet_hours") == RULES.get("FR").rule("quiet_hours")  # type: ignore[union-attr]
    assert RULES.get("FR").rule("two_way").source.startswith("https://")  # type: ignore[union-attr]


def test_null_override_clears_quiet_hours() -> None:
    api = {"FR": ApiOverride(parse_overrides({"quiet_hours": None}), date(2026, 12, 4))}
    rules = RULES.overridden({}, api, today=date(2026, 12, 4))
    assert rules.quiet_hours("FR") is None
    assert RULES.quiet_hours("FR") is not None


def test_configuration_file_overrides_are_checked_at_start() -> None:
    settings = Settings(countries={"fr": {"two_way": False}})
    assert settings.country_overrides() == {"FR": {"two_way": False}}
    with pytest.raises(ValidationError, match=r"countries\.FR\.two_way"):
        Settings(countries={"FR": {"two_way": "nope"}})
    with pytest.raises(ValidationError, match="ISO 3166"):
        Settings(countries={"XX": {"two_way": True}})
