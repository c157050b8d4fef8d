"""Every connector option and its default, written once: one frozen model per connector type.

A ``[[connectors]]`` table of the config file (or the body of ``POST /v1/admin/connectors``)
is validated into the options model of its ``type`` (see :mod:`.registry`), and the connector
is built from that object whole. docs/configuration.md documents the same fields; nothing else
repeats a default.

:class:`ConnectorOptions` holds what every connector has, whatever it speaks: its name, its
type and what the engine reads to pace and price it (``throughput``, ``country_throughput``,
``prices``). A connector type adds its own fields in a subclass; the HTTP provider connectors
add ``HttpOptions`` the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smsrelay.domain.gsm_national import NATIONAL_LANGUAGES
from smsrelay.domain.registration import DltTags, OptionalRegistrationId

__all__ = [
    "PROVIDERS",
    "VONAGE_SIGNATURE_METHODS",
    "ConnectorOptions",
    "GenericHttp",
    "HttpOptions",
    "SimulatorOptions",
    "SmppOptions",
]

#: Receipt outcome names a simulator may be told to draw (``outcomes = {delivered = 0.9}``).
OUTCOMES = ("delivered", "undelivered", "expired", "rejected")


class ConnectorOptions(BaseModel):
    """What every connector has. Frozen: a running connector's options never change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    type: str
    # segments/s across the connector (0 = no limit of ours); the dispatcher paces by it
    throughput: float = Field(default=0.0, ge=0)
    # messages/s per destination country on this connector, e.g. {IN = 20}; others: no limit
    country_throughput: dict[str, float] = Field(default_factory=dict)
    # price per segment by destination country ("default" for the rest): least-cost routing
    prices: dict[str, float] = Field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        """The plain table this was validated from (defaults included): what is stored for a
        connector added at run time, and what the engine reads rates and prices from."""
        return self.model_dump()

    def sends_national_languages(self) -> frozenset[str]:
        """The GSM-7 national languages this connector sends with their shift tables: none,
        unless its type can and its options list them (SMPP's ``national_languages``)."""
        return frozenset()


class SmppOptions(ConnectorOptions):
    """An SMPP 3.4 carrier (:class:`~smsrelay.connectors.smpp.SmppConnector`).

    The fields after ``enquire_link_interval`` are tuning that rarely needs changing; tests
    shorten them instead of sleeping through the defaults.
    """

    type: Literal["smpp"] = "smpp"
    host: str = "127.0.0.1"
    # a carrier's SMSC; 2775 is smsrelay's own SMPP server for client binds
    port: int = Field(default=2776, ge=0, le=65535)
    system_id: str = "smsrelay"
    password: str = ""
    system_type: str = ""
    bind: Literal["transceiver", "transmitter+receiver"] = "transceiver"
    binds: int = Field(default=1, ge=1, le=64)
    window: int = Field(default=10, ge=1, le=1000)
    long_messages: Literal["udh", "sar", "payload"] = "udh"
    # data_coding for GSM-7 texts (UCS-2 always goes as 8), packing, receipt id quirk
    data_coding: Literal["default", "ia5", "latin1"] = "default"
    gsm7_packing: bool = False
    receipt_id_format: Literal["same", "hex_in_receipt", "dec_in_receipt"] = "same"
    service_type: str = ""
    default_sender: str = ""
    response_timeout: float = Field(default=10.0, gt=0)
    enquire_link_interval: float = Field(default=30.0, gt=0)
    bind_timeout: float = Field(default=10.0, gt=0)
    reconnect_initial: float = Field(default=1.0, gt=0)
    reconnect_max: float = Field(default=30.0, gt=0)
    # how long a submit waits for a session to (re)bind, and start() for the first one
    bind_wait: float = Field(default=2.0, ge=0)
    start_wait: float = Field(default=2.0, ge=0)
    # an incomplete concatenated MO message is handed on as it is after this long
    mo_timeout: float = Field(default=60.0, gt=0)
    # resends of segments refused "slow down" while others of the message were accepted
    continuation_retries: int = Field(default=3, ge=0)
    # how often session timers (response timeouts, keep-alive) are checked
    tick_interval: float = Field(default=0.5, gt=0)
    # GSM-7 national shift tables the carrier delivers (TS 23.038 Annex A): e.g. ["tr", "pt"]
    national_languages: tuple[str, ...] = ()
    # India's DLT: our telemarketer id registered for this carrier, added to messages that
    # carry DLT ids and name none; the TLV tags of the ids (docs/countries.md)
    telemarketer_id: OptionalRegistrationId = ""
    dlt_tlvs: DltTags = Field(default_factory=DltTags)

    @field_validator("national_languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(NATIONAL_LANGUAGES))
        if unknown:
            known = ", ".join(NATIONAL_LANGUAGES)
            raise ValueError(f"unknown national language(s) {unknown}: use {known}")
        return value

    def sends_national_languages(self) -> frozenset[str]:
        return frozenset(self.national_languages)


class SimulatorOptions(ConnectorOptions):
    """The carrier simulator embedded in this process, reached over SMPP on 127.0.0.1.

    Not a second carrier implementation: :mod:`smsrelay.simulator` listens, and an
    :class:`SmppConnector` built from :meth:`smpp` binds to it, so a simulated route runs
    the same code as a real carrier.
    """

    type: Literal["simulator"] = "simulator"
    port: int = Field(default=0, ge=0, le=65535, description="0 = ephemeral")
    # the simulator's submit_sm_resp delay and its receipt delay
    latency_ms: float = Field(default=5.0, ge=0)
    dlr_delay_ms: float = Field(default=200.0, ge=0)
    outcomes: dict[str, float] = Field(default_factory=lambda: {"delivered": 1.0})
    # share of submits answered ESME_RSYSERR (carrier_system_error, retried)
    transient_error_rate: float = Field(default=0.0, ge=0, le=1)
    seed: int | None = None
    # outstanding submit_sm of the connector's session
    window: int = Field(default=100, ge=1, le=1000)

    @field_validator("outcomes")
    @classmethod
    def _known_outcomes(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(OUTCOMES))
        if unknown:
            raise ValueError(f"unknown outcome(s) {unknown}: use {', '.join(OUTCOMES)}")
        if not value or any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("outcomes need a positive total weight")
        return value

    def smpp(self, port: int) -> SmppOptions:
        """The options of the SMPP connector that binds to this simulator on ``port``."""
        return SmppOptions(
            name=self.name,
            port=port,
            window=self.window,
            throughput=self.throughput,
            country_throughput=self.country_throughput,
            prices=self.prices,
        )


#: Each HTTP provider's public API address and the credential keys it needs (DESIGN.md).
PROVIDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "twilio": ("https://api.twilio.com", ("account_sid", "auth_token")),
    "vonage": ("https://rest.nexmo.com", ("api_key", "api_secret")),
    "infobip": ("https://api.infobip.com", ("api_key",)),
    "telnyx": ("https://api.telnyx.com", ("api_key",)),
    "plivo": ("https://api.plivo.com", ("auth_id", "auth_token")),
    "sinch": ("https://us.sms.api.sinch.com", ("service_plan_id", "api_token")),
    "generic": ("", ()),
}

#: Vonage's signing methods, as its dashboard names them (``signature_method``)
VONAGE_SIGNATURE_METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")


class GenericHttp(BaseModel):
    """A provider described as data (``provider = "generic"``): what Kannel's generic HTTP
    SMSC offers, without code.

    ``body`` is a template: ``{to}``, ``{to_digits}``, ``{from}``, ``{text}``,
    ``{message_id}``, ``{status_url}``, ``{inbound_url}`` and India's DLT ids
    ``{entity_id}``, ``{template_id}``, ``{telemarketer_id}`` ("" when the message has none)
    are replaced, each escaped for
    ``content_type`` (form encoding or JSON string contents). ``url`` takes the same fields,
    URL-escaped. The answer is read with ``id_path`` (dots into JSON, e.g.
    ``messages.0.id``, or ``regex:<pattern>`` whose first group is the id) and classified by
    the three patterns (regular expressions searched in the status line and body, in the
    order permanent, temporary, success). Status callbacks carry ``status_id_field`` and
    ``status_field`` (in the query, form or JSON body); ``status_map`` maps the provider's
    words to ours (``delivered``, ``undelivered``, ``expired``, ``rejected``,
    ``accepted``). Inbound callbacks carry ``inbound_from_field``, ``inbound_to_field`` and
    ``inbound_text_field``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["GET", "POST", "PUT"] = "POST"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    content_type: Literal["form", "json", "none"] = "json"
    body: str = ""
    id_path: str = "id"
    success: str = r"^2\d\d"
    permanent: str = r"^4(0[0-8]|1\d|2[0-8])"  # 4xx but 429
    temporary: str = r"^(5\d\d|429)"
    status_id_field: str = "id"
    status_field: str = "status"
    status_error_field: str = "error"
    status_map: dict[str, str] = Field(default_factory=dict)
    inbound_from_field: str = "from"
    inbound_to_field: str = "to"
    inbound_text_field: str = "text"
    inbound_id_field: str = "id"

    @field_validator("status_map")
    @classmethod
    def _our_words(cls, value: dict[str, str]) -> dict[str, str]:
        ours = {*OUTCOMES, "accepted", "unknown"}
        wrong = sorted(v for v in value.values() if v not in ours)
        if wrong:
            raise ValueError(f"status_map values {wrong} are not ours: use {sorted(ours)}")
        return value


class HttpOptions(ConnectorOptions):
    """An HTTP provider (:class:`~smsrelay.connectors.http.connector.HttpConnector`).

    ``credentials`` holds the provider's keys (``PROVIDERS`` lists the required ones). A
    provider that signs nothing is handed a status URL with ``callback_token`` in it; left
    empty, the token is derived from the credentials and the connector's name, so it is
    secret and stable across restarts without configuration.
    """

    type: Literal["http"] = "http"
    provider: Literal["twilio", "vonage", "infobip", "telnyx", "plivo", "sinch", "generic"]
    base_url: str = ""
    credentials: dict[str, str] = Field(default_factory=dict)
    default_sender: str = ""
    # one API call, connect and answer together
    timeout: float = Field(default=10.0, gt=0)
    # API calls in flight at once
    concurrency: int = Field(default=32, ge=1, le=1000)
    callback_token: str = ""
    # after the provider refuses our credentials: no traffic for this long, doubling
    auth_pause: float = Field(default=30.0, gt=0)
    auth_pause_max: float = Field(default=600.0, gt=0)
    generic: GenericHttp | None = None
    # India's DLT: our telemarketer id registered with this provider, added to messages that
    # carry DLT ids and name none (docs/countries.md)
    telemarketer_id: OptionalRegistrationId = ""

    @field_validator("credentials")
    @classmethod
    def _strings(cls, value: dict[str, str]) -> dict[str, str]:
        return {str(k): str(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _complete(self) -> HttpOptions:
        needed = PROVIDERS[self.provider][1]
        missing = [k for k in needed if not self.credentials.get(k)]
        if missing:
            raise ValueError(f"provider {self.provider} needs credentials {', '.join(missing)}")
        if self.provider == "generic" and self.generic is None:
            raise ValueError("provider generic needs a [connectors.generic] table")
        method = self.credentials.get("signature_method", "")
        if self.provider == "vonage" and method and method not in VONAGE_SIGNATURE_METHODS:
            known = ", ".join(VONAGE_SIGNATURE_METHODS)
            raise ValueError(f"vonage signature_method {method!r}: use one of {known}")
        return self

    @property
    def api_url(self) -> str:
        """``base_url``, or the provider's public API address."""
        return (self.base_url or PROVIDERS[self.provider][0]).rstrip("/")
