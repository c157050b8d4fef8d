"""The shape of a country's rules: which fields exist, what each may hold, and where it came from.

Every rule is a *sourced value*: the value, the public page it was read from and the date it was
read (``read_on``). Public sources disagree (France's marketing hours are given three ways by
three providers), so a rule keeps the value we act on (the most restrictive reading) and the
other readings as ``alternatives``, each with its own source; nothing is merged into a certainty
that no source gives. A field no source was read for is ``None`` with the source
:data:`NO_SOURCE`: unknown, not "allowed".

Validation is pydantic's (one ``TypeAdapter`` per field), so the shipped data file, the
configuration file's overrides and the admin API's all pass through the same checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

NO_SOURCE = "no public source read"
OVERRIDE_FILE = "operator override (configuration file)"
OVERRIDE_API = "operator override (admin API)"

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MOVABLE_HOLIDAYS = ("good_friday", "easter_monday", "ascension", "whit_monday")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Window(_Strict):
    """Local hours on some weekdays when marketing may arrive: ``start`` to ``end``, same day."""

    days: tuple[Day, ...] = Field(min_length=1)
    start: str = Field(description="HH:MM, local time of the recipient")
    end: str = Field(description="HH:MM (24:00 = midnight at the end of the day)")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        for value in (self.start, self.end):
            if not _HHMM.match(value):
                raise ValueError(f"{value!r} is not a time as HH:MM")
        if minutes(self.start) >= minutes(self.end):
            raise ValueError(f"window {self.start}-{self.end} does not end after it starts")
        return self


class QuietHours(_Strict):
    """When marketing may arrive, in the recipient's local time; every other moment is quiet.

    Stated as the *allowed* windows because that is how the rules read ("Monday to Saturday,
    08:00 to 20:00"); a weekday no window names is quiet all day. With ``holidays = "closed"``
    the dates in ``holiday_dates`` are quiet all day: fixed dates as ``MM-DD`` and the movable
    Christian holidays by name (:data:`MOVABLE_HOLIDAYS`), computed from Easter.
    """

    allowed: tuple[Window, ...] = Field(min_length=1)
    holidays: Literal["allowed", "closed"] = "allowed"
    holiday_dates: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _dates(self) -> QuietHours:
        for value in self.holiday_dates:
            if not (_MMDD.match(value) or value in MOVABLE_HOLIDAYS):
                raise ValueError(f"{value!r} is neither MM-DD nor one of {MOVABLE_HOLIDAYS}")
        if self.holidays == "closed" and not self.holiday_dates:
            raise ValueError("holidays = 'closed' needs the holiday_dates it closes")
        return self

    def summary(self) -> str:
        """One line for tables: ``mon-sat 08:00-20:00, not on holidays``."""
        parts = [
            (w.days[0] if len(w.days) == 1 else f"{w.days[0]}-{w.days[-1]}") + f" {w.start}-{w.end}"
            for w in self.allowed
        ]
        return ", ".join(parts) + (", not on holidays" if self.holidays == "closed" else "")


SenderTypeName = Literal["10dlc", "toll_free", "short_code"]
"""The sender types a registration scheme may name: the ones sender adaptation knows how to
match with a pool sender (``domain/senders.py``); another name is refused when the rule is
read, where it would otherwise match no sender and refuse every number."""


class TemplateRegistration(_Strict):
    """A registration scheme senders must go through before messages are delivered.

    ``fields`` are the identifiers each message must carry to a provider (India's DLT:
    ``entity_id``, ``template_id``, ``telemarketer_id``, passed as SMPP TLVs or provider
    fields); ``sender_types`` the kinds of sender the scheme registers (US: ``10dlc``,
    ``toll_free``, ``short_code``).
    """

    scheme: str = Field(min_length=1, max_length=40)
    fields: tuple[str, ...] = ()
    sender_types: tuple[SenderTypeName, ...] = ()


class MarketingTag(_Strict):
    """The mark a marketing message's alphanumeric sender must carry (UAE ``AD-`` before it,
    Saudi Arabia ``-AD`` after it), and the longest the marked sender may be."""

    prefix: str = Field(default="", max_length=5)
    suffix: str = Field(default="", max_length=5)
    max_length: int = Field(default=11, ge=3, le=11)

    @model_validator(mode="after")
    def _one_mark(self) -> MarketingTag:
        if bool(self.prefix) == bool(self.suffix):
            raise ValueError("a marketing tag is a prefix or a suffix (one of them)")
        return self


AlphanumericSender = Literal["allowed", "registration_required", "not_supported"]

FIELDS: dict[str, Any] = {
    "alphanumeric_sender": AlphanumericSender | None,
    "numeric_sender_required": bool | None,
    "two_way": bool | None,
    "concatenation": bool | None,
    "max_segments": int | None,
    "ucs2": bool | None,
    "quiet_hours": QuietHours | None,
    "opt_out_text_required": bool | None,
    "template_registration": TemplateRegistration | None,
    "marketing_sender_tag": MarketingTag | None,
}
"""Every rule a country has, with the type of its value (``None``: unknown)."""

_ADAPTERS = {name: TypeAdapter(kind) for name, kind in FIELDS.items()}
_TYPE_NAMES = {
    "MarketingTag",
    "QuietHours",
    "TemplateRegistration",
    "Window",
    "bool",
    "int",
    "str",
    "none",
}
_MODELS = ("quiet_hours", "template_registration", "marketing_sender_tag")


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def parse_value(name: str, raw: Any) -> Any:
    """The typed value of rule ``name`` from its JSON form; ``ValueError`` naming what is wrong."""
    adapter = _ADAPTERS.get(name)
    if adapter is None:
        raise ValueError(f"unknown rule {name!r}; known: {', '.join(FIELDS)}")
    # scalars strictly (no "yes" for true), models from their JSON form (lists for tuples)
    strict = name not in _MODELS
    try:
        value = adapter.validate_python(raw, strict=strict)
    except ValidationError as error:
        first = error.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if str(p) not in _TYPE_NAMES]
        where = ".".join([name, *loc])
        raise ValueError(f"{where}: {first.get('msg')}") from None
    if name == "max_segments" and value is not None and not 1 <= value <= 255:
        raise ValueError("max_segments: must be between 1 and 255")
    return value


def dump_value(value: Any) -> Any:
    """The JSON form of a typed value (the inverse of :func:`parse_value`)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    return value


@dataclass(frozen=True, slots=True)
class Reading:
    """One source's reading of a rule."""

    value: Any
    source: str
    read_on: date | None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "value": dump_value(self.value),
            "source": self.source,
            "read_on": self.read_on.isoformat() if self.read_on else None,
        }
        if self.note:
            body["note"] = self.note
        return body


@dataclass(frozen=True, slots=True)
class Rule:
    """The reading we act on, and the readings of other sources that disagree."""

    value: Any
    source: str
    read_on: date | None
    note: str | None = None
    alternatives: tuple[Reading, ...] = ()

    @property
    def known(self) -> bool:
        return self.value is not None

    def as_json(self) -> dict[str, Any]:
        body = Reading(self.value, self.source, self.read_on, self.note).as_json()
        if self.alternatives:
            body["alternatives"] = [a.as_json() for a in self.alternatives]
        return body


UNKNOWN = Rule(None, NO_SOURCE, None)


@dataclass(frozen=True, slots=True)
class Country:
    """One ISO 3166 region that ``phonenumbers`` knows, with every rule of :data:`FIELDS`."""

    iso: str
    name: str
    calling_code: int
    rules: dict[str, Rule] = field(default_factory=dict)

    def rule(self, name: str) -> Rule:
        return self.rules.get(name, UNKNOWN)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "country": self.iso,
            "name": self.name,
            "calling_code": self.calling_code,
        }
        for name in FIELDS:
            body[name] = self.rule(name).as_json()
        return body


def _reading(name: str, raw: dict[str, Any], where: str) -> Reading:
    if not isinstance(raw, dict) or "value" not in raw or "source" not in raw:
        raise ValueError(f"{where}: a rule is an object with value, source and read_on")
    unknown = set(raw) - {"value", "source", "read_on", "note", "alternatives"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    value = parse_value(name, raw["value"])
    source, read_on = raw["source"], raw.get("read_on")
    if value is None:
        if source != NO_SOURCE or read_on is not None:
            raise ValueError(f"{where}: an unknown value has source {NO_SOURCE!r}, no read_on")
        return Reading(None, NO_SOURCE, None)
    if not isinstance(source, str) or not source.startswith(("https://", "http://")):
        raise ValueError(f"{where}: a known value needs the URL it was read from")
    if not isinstance(read_on, str):
        raise ValueError(f"{where}: a known value needs the date it was read (read_on)")
    try:
        day = date.fromisoformat(read_on)
    except ValueError:
        raise ValueError(f"{where}: read_on {read_on!r} is not a date") from None
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        raise ValueError(f"{where}: note must be text")
    return Reading(value, source, day, note)


def parse_rule(name: str, raw: dict[str, Any], where: str) -> Rule:
    """A shipped rule from its JSON form: a URL and a date for every known value."""
    first = _reading(name, raw, where)
    alternatives = tuple(
        _reading(name, alt, f"{where}.alternatives.{i}")
        for i, alt in enumerate(raw.get("alternatives") or ())
    )
    if any(a.value is None for a in alternatives):
        raise ValueError(f"{where}: an alternative reading must have a value")
    return Rule(first.value, first.source, first.read_on, first.note, alternatives)


def parse_country(iso: str, raw: dict[str, Any]) -> Country:
    """One entry of the data file; ``ValueError`` says which field of which country is wrong."""
    rules_raw = raw.get("rules")
    if not isinstance(rules_raw, dict):
        raise ValueError(f"{iso}: no rules")
    missing = set(FIELDS) - set(rules_raw)
    extra = set(rules_raw) - set(FIELDS)
    if missing or extra:
        raise ValueError(f"{iso}: rules missing {sorted(missing)}, unknown {sorted(extra)}")
    rules = {name: parse_rule(name, rules_raw[name], f"{iso}.{name}") for name in FIELDS}
    return Country(iso, str(raw["name"]), int(raw["calling_code"]), rules)
