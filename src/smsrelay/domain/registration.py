"""The registration ids a message carries to the carrier: India's DLT ids, and where they go.

Indian operators check every A2P message against the DLT ledger (TRAI's TCCCPR 2018): a
message without its Principal Entity id and the id of the content template it was written
from is blocked (DLT errors 600-639). The country rules say so (``template_registration``,
scheme ``india_dlt``, fields ``entity_id``, ``template_id``, ``telemarketer_id``); this
module is the value that carries them with a message, and the rules that fill it in:

- a message's own ids (REST ``registration``, an SMPP client's TLVs) win;
- else its account's entity id (:func:`with_account_defaults`), and only for a destination
  whose country rule names ``india_dlt``: a UK message does not grow Indian ids;
- the connector's telemarketer id is added at submit to a message that carries ids and
  names none (:func:`with_telemarketer`).

:class:`DltTags` are the SMPP TLV tags the ids travel in (vendor-specific, §5.3.2; operators
differ, so every SMPP connector and the SMPP server take their own). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DLT_FIELDS",
    "INDIA_DLT",
    "DltTags",
    "OptionalRegistrationId",
    "Registration",
    "check_id",
    "registration_of",
    "with_account_defaults",
    "with_telemarketer",
]

INDIA_DLT = "india_dlt"
"""The ``template_registration`` scheme of the country rules whose messages take DLT ids."""

DLT_FIELDS = ("entity_id", "template_id", "telemarketer_id")
MAX_ID_LENGTH = 64  # DLT ids are 19 digits today; room for operators' own formats

#: Vendor-specific range of SMPP 3.4 optional parameter tags (§5.3.2, table 5-2).
VENDOR_TAGS = range(0x1400, 0x3FFF + 1)


def check_id(value: str) -> str:
    """``value`` when it is 1 to 64 printable ASCII characters; ``ValueError`` otherwise.

    Ids travel as ASCII octet strings in SMPP TLVs and as JSON or form fields to providers:
    nothing else survives every one of those ways unchanged.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise ValueError(f"must be 1 to {MAX_ID_LENGTH} characters")
    if not (value.isascii() and value.isprintable()):
        raise ValueError("must be printable ASCII characters")
    return value


def _check_optional(value: str) -> str:
    return value if value == "" else check_id(value)


OptionalRegistrationId = Annotated[str, AfterValidator(_check_optional)]
"""A registration id in an options model, ``""`` for none (a connector's telemarketer id)."""


@dataclass(frozen=True, slots=True)
class Registration:
    """The ids a message carries; ``None`` where it has none. Checked when built."""

    entity_id: str | None = None
    template_id: str | None = None
    telemarketer_id: str | None = None

    def __post_init__(self) -> None:
        for name, value in self.items():
            try:
                check_id(value)
            except ValueError as error:
                raise ValueError(f"{name} {error}") from None

    def items(self) -> tuple[tuple[str, str], ...]:
        """(field, id) of the ids it has, in :data:`DLT_FIELDS` order."""
        return tuple(
            (f.name, value) for f in fields(self) if (value := getattr(self, f.name)) is not None
        )

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def as_json(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in DLT_FIELDS}


def registration_of(raw: Mapping[str, Any]) -> Registration | None:
    """A registration from its JSON form (keys of :data:`DLT_FIELDS`, string values; null or
    absent for none); None when it names no id. ``ValueError`` naming the field at fault."""
    unknown = sorted(set(raw) - set(DLT_FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; known: {', '.join(DLT_FIELDS)}")
    values: dict[str, str] = {}
    for name in DLT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        try:
            values[name] = check_id(value)
        except ValueError as error:
            raise ValueError(f"{name} {error}") from None
    return Registration(**values) if values else None


def with_account_defaults(
    registration: Registration | None, entity_id: str | None, scheme: str | None
) -> Registration | None:
    """The message's ids with its account's entity id where it names none, for a destination
    whose registration ``scheme`` is India's DLT; unchanged for any other destination."""
    if not entity_id or scheme != INDIA_DLT:
        return registration
    if registration is None:
        return Registration(entity_id=entity_id)
    if registration.entity_id is not None:
        return registration
    return replace(registration, entity_id=entity_id)


def with_telemarketer(
    registration: Registration | None, telemarketer_id: str
) -> Registration | None:
    """The ids to send with the connector's telemarketer id (``""``: none) added when the
    message carries ids and names no telemarketer; a message without ids stays without."""
    if not registration or not telemarketer_id or registration.telemarketer_id is not None:
        return registration
    return replace(registration, telemarketer_id=telemarketer_id)


class DltTags(BaseModel):
    """The SMPP TLV tag of each DLT id (``dlt_tlvs`` of SMPP connectors and of the server).

    Defaults: 0x1400 for the Principal Entity id and 0x1401 for the content template id are
    what Indian operators' SMPP specifications and gateways use almost everywhere (e.g.
    https://github.com/python-smpplib/python-smpplib/issues/204,
    https://github.com/ProgressiveCoders/Spoke/issues/1792,
    https://github.com/kneodev/ksmppd/issues/135); the telemarketer id has no tag as settled,
    0x1402 is the next one that gateways commonly default to. Set what your operator's
    specification says.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: int = Field(default=0x1400, description="TLV tag of the Principal Entity id")
    template_id: int = Field(default=0x1401, description="TLV tag of the content template id")
    telemarketer_id: int = Field(default=0x1402, description="TLV tag of the telemarketer id")

    @field_validator("entity_id", "template_id", "telemarketer_id", mode="before")
    @classmethod
    def _hex_text(cls, value: Any) -> Any:
        """``"0x1400"`` as well as ``0x1400``: environment variables carry JSON, which has
        no hexadecimal numbers."""
        if isinstance(value, str):
            try:
                return int(value, 0)
            except ValueError:
                raise ValueError(f"{value!r} is not a number (e.g. 0x1400)") from None
        return value

    @model_validator(mode="after")
    def _vendor_range(self) -> DltTags:
        tags = self.by_field()
        for name, tag in tags:
            if tag not in VENDOR_TAGS:
                raise ValueError(
                    f"{name} tag {tag:#06x} is outside the vendor-specific range 0x1400-0x3FFF"
                )
        if len({tag for _, tag in tags}) != len(tags):
            raise ValueError("each DLT id needs its own TLV tag")
        return self

    def by_field(self) -> tuple[tuple[str, int], ...]:
        """(field, tag) in :data:`DLT_FIELDS` order."""
        return tuple((name, getattr(self, name)) for name in DLT_FIELDS)
