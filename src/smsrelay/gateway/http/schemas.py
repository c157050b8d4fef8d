"""The public JSON contract of the REST API, as pydantic models (and so as OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from smsrelay.domain.messages import MessageKind
from smsrelay.domain.registration import check_id

NationalLanguage = Literal[
    "tr", "es", "pt", "bn", "gu", "hi", "kn", "ml", "or", "pa", "ta", "te", "ur"
]
"""The languages of ``domain/gsm_national.py`` (3GPP TS 23.038 Annex A), for OpenAPI."""

RegistrationId = Annotated[str, AfterValidator(check_id)]


class RegistrationBody(BaseModel):
    """Registration ids the message carries to the carrier: India's DLT ids (each 1 to 64
    printable ASCII characters). Sent as SMPP TLVs or the provider's own fields; see
    docs/countries.md."""

    model_config = ConfigDict(extra="forbid")

    entity_id: RegistrationId | None = Field(
        default=None,
        description="DLT Principal Entity id (PE ID); defaults to the account's "
        "dlt_entity_id for destinations in India.",
    )
    template_id: RegistrationId | None = Field(
        default=None, description="DLT content template id the text was registered as."
    )
    telemarketer_id: RegistrationId | None = Field(
        default=None,
        description="DLT telemarketer id; defaults to the connector's telemarketer_id.",
    )


class Registration(BaseModel):
    entity_id: str | None
    template_id: str | None
    telemarketer_id: str | None


class SendBody(BaseModel):
    """One message. ``to`` and ``message`` are the seed's two fields; the rest are optional."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="ignore",
        json_schema_extra={
            "examples": [{"to": "+14155552671", "message": "Your verification code is 1234"}]
        },
    )

    to: str = Field(max_length=64, description="Destination, E.164 (+4915112345678).")
    message: str = Field(max_length=10_000, description="Text; spintax allowed.")
    sender: str | None = Field(
        default=None,
        alias="from",
        max_length=20,
        description="Sender: alphanumeric (max 11), short code or number.",
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Status webhook for this message; defaults to the account's webhook URL.",
    )
    client_ref: str | None = Field(
        default=None, max_length=200, description="Your own reference, echoed in callbacks."
    )
    kind: MessageKind = Field(
        default=MessageKind.TRANSACTIONAL,
        description="otp | transactional | marketing: the priority lane.",
    )
    priority: int | None = Field(
        default=None, ge=0, le=9, description="0..9 within the kind's lane; default 5."
    )
    validity: int | None = Field(
        default=None, description="Seconds the message may wait before it is sent (30..604800)."
    )
    send_at: datetime | None = Field(default=None, description="Schedule (ISO 8601).")
    spintax: bool | None = Field(
        default=None,
        description="true: render spintax, errors reported; false: "
        "send the text as is; absent: render when the "
        "text is well-formed spintax.",
    )

    encoding: Literal["auto", "gsm7", "ucs2", "transliterate"] = Field(
        default="auto",
        description="auto: the fewest segments the account allows; gsm7: GSM-7 or refuse "
        "(invalid_encoding); transliterate: GSM-7 with letters outside it written as their "
        "closest GSM-7 form (á → a), or refuse; ucs2: UCS-2 as given.",
    )
    national_language: NationalLanguage | None = Field(
        default=None,
        description="Allow GSM-7 with this language's national shift tables (3GPP TS 23.038 "
        "Annex A) when that takes fewer segments; refused (national_language_unsupported) "
        "when no connector of the route to this number sends them.",
    )
    registration: RegistrationBody | None = Field(
        default=None,
        description="Registration ids for the carrier (India's DLT: entity_id, template_id, "
        "telemarketer_id). Carried whatever the destination; the account's and connector's "
        "defaults are added only for destinations whose rules name india_dlt.",
    )

    @model_validator(mode="after")
    def _no_nul(self) -> SendBody:
        """PostgreSQL cannot store a NUL character, and no SMS or URL needs one."""
        for name in ("to", "message", "sender", "callback_url", "client_ref"):
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"{name} must not contain NUL characters")
        return self


class BatchBody(BaseModel):
    messages: list[SendBody] = Field(
        description="1 to 1000 messages; each is accepted or rejected on its own."
    )


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class SenderAdapted(BaseModel):
    requested: str
    reason: str


class CharacterChange(BaseModel):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str


class Accepted(BaseModel):
    message_id: str
    status: str
    segments: int
    encoding: str
    variant: str | None
    to: str
    country: str | None
    kind: str
    priority: int
    client_ref: str | None
    send_at: str | None
    expires_at: str | None
    replaced_characters: list[list[str]] = Field(
        default_factory=list,
        description="The pairs of characters_changed as [from, to] lists (the older form).",
    )
    characters_changed: list[CharacterChange] = Field(
        default_factory=list,
        description="Characters replaced to send GSM-7 (look-alikes, transliterated "
        'letters), each once: [{"from": "á", "to": "a"}].',
    )
    national_language: str | None = Field(
        default=None,
        description="Present when the GSM-7 text uses this language's national shift tables.",
    )
    held_for_quiet_hours: bool = Field(
        default=False,
        description="A marketing message scheduled for the end of its destination's quiet "
        "hours (send_at says when).",
    )
    quiet_hours_source: str | None = Field(
        default=None, description="Where the quiet-hours rule that held it was read."
    )
    opt_out_added: str | None = Field(
        default=None,
        description="Present when the account's opt-out text was added to a marketing "
        "message bound for a country that requires one (counted in segments and price).",
    )
    price: str | None = Field(
        default=None,
        description="What the message costs (segments x price per segment, a decimal "
        "string); only when the account's price list prices it.",
    )
    currency: str | None = Field(default=None, description="The price's currency (ISO 4217).")
    sender: str | None = Field(
        default=None,
        serialization_alias="from",
        description="The sender the message goes with (null: the connector's default).",
    )
    sender_adapted: SenderAdapted | None = Field(
        default=None,
        description="Set when the destination did not allow the requested sender and "
        "another of the account's sender pool is used.",
    )
    registration: Registration | None = Field(
        default=None,
        description="The registration ids (India's DLT) the message goes with: its own, "
        "else the account's entity id; the connector's telemarketer id is added at submit. "
        "null: none.",
    )


class BatchItem(BaseModel):
    index: int
    message_id: str | None = None
    status: str | None = None
    segments: int | None = None
    encoding: str | None = None
    variant: str | None = None
    held_for_quiet_hours: bool | None = None
    registration: Registration | None = None
    price: str | None = None
    currency: str | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItem]


class Event(BaseModel):
    status: str
    at: str
    error_code: str | None = None
    detail: str | None = None


class MessageOut(BaseModel):
    message_id: str
    status: str
    to: str
    sender: str | None = Field(serialization_alias="from")
    message: str
    encoding: str
    national_language: str | None = None
    segments: int
    kind: str
    priority: int
    country: str | None
    variant: str | None
    client_ref: str | None
    callback_url: str | None
    created_at: str
    updated_at: str
    send_at: str | None
    expires_at: str | None
    attempts: int
    connector: str | None
    carrier_ids: list[str]
    error: ErrorBody | None
    smpp_parts: list[str] | None = Field(
        default=None,
        description="Single-message view: the ids of the parts an SMPP client sent the "
        "message in (each got its own submit_sm_resp and receipt); null otherwise.",
    )
    sender_adapted: SenderAdapted | None = None
    registration: Registration | None = Field(
        default=None,
        description="Single-message view: the registration ids (India's DLT) it carries.",
    )
    events: list[Event] | None = None
    price: str | None = Field(
        default=None, description="What the message cost (decimal string), when priced."
    )
    currency: str | None = None


class MessageList(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None


def as_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


SEND_ERROR_STATUSES = (400, 401, 402, 403, 404, 409, 413, 422, 429)
"""The error statuses the sending and message endpoints document (each an ``ErrorResponse``)."""
