"""Settings: the documented defaults, overridden by ``smsrelay.toml`` and then by ``SMSRELAY_*``.

Only ``app.py`` and ``cli.py`` read settings; every other module takes plain arguments, so the
engine and store can be built in tests without touching the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from smsrelay.connectors.options import ConnectorOptions, SimulatorOptions
from smsrelay.connectors.registry import connector_options
from smsrelay.domain.countries import country_code, load_shipped, parse_overrides
from smsrelay.domain.registration import DltTags
from smsrelay.domain.scoring import AdaptiveWeights


def _adaptive_weights(value: dict[str, Any]) -> dict[str, Any]:
    AdaptiveWeights.from_dict(value)  # a ValueError becomes a validation error
    return value


AdaptiveTable = Annotated[dict[str, Any], AfterValidator(_adaptive_weights)]
"""The adaptive strategy's weights as written in the file, checked when it is loaded."""


class RouteConfig(BaseModel):
    """One routing rule (``[[routes]]``); the most specific matching route wins."""

    name: str
    countries: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    strategy: Literal["failover", "weighted", "least_cost", "adaptive"] = "failover"
    connectors: list[str] = Field(min_length=1)
    weights: dict[str, float] = Field(default_factory=dict)  # for strategy = "weighted"
    # for strategy = "adaptive": this route's own weights (else [routing.adaptive])
    adaptive: AdaptiveTable | None = None


class RoutingConfig(BaseModel):
    """``[routing]``: settings of the routing strategies."""

    # [routing.adaptive]: the adaptive strategy's weights for routes without their own
    adaptive: AdaptiveTable = Field(default_factory=dict)

    def adaptive_weights(self) -> AdaptiveWeights:
        return AdaptiveWeights.from_dict(self.adaptive)


RefundStatus = Literal["failed", "rejected", "undelivered", "expired", "unknown", "canceled"]
"""The final statuses ``refund_on`` may name (a message's price is credited back)."""


def _refund_default() -> list[RefundStatus]:
    return ["failed", "rejected"]


def _config_file() -> Path | None:
    path = Path(os.environ.get("SMSRELAY_CONFIG", "smsrelay.toml"))
    return path if path.is_file() else None


class Settings(BaseSettings):
    """Every knob of a running smsrelay, with the defaults DESIGN.md promises."""

    model_config = SettingsConfigDict(env_prefix="SMSRELAY_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # the address at which HTTP providers reach our callback endpoints
    # (/v1/providers/{connector}/status and /inbound): this host as the outside sees it
    public_url: str = "http://127.0.0.1:8080"
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    simulator_port: int = Field(
        default=0, ge=0, le=65535, description="embedded carrier simulator; 0 = ephemeral"
    )
    data_dir: Path = Path("data")
    database_url: str | None = None
    log_level: str = "info"
    # HTTP worker processes, each a whole gateway on the same database (PostgreSQL advised
    # for more than 1); worker_index is set by the supervising process
    workers: int = Field(default=1, ge=1, le=64)
    worker_index: int | None = None

    # accept
    max_segments: int = Field(default=10, ge=1, le=255)
    number_validation: Literal["lenient", "strict"] = "lenient"
    smart_encoding: bool = True
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 1000
    rate_limit: float = Field(default=500.0, ge=0, description="messages/s per account; 0 = off")
    rate_burst: int = Field(default=1000, ge=1)
    default_validity: float = Field(default=48 * 3600, gt=0)
    # characters one {#var#} of a registered content template may stand for (India's DLT
    # scrubbing limit, docs/countries.md)
    template_variable_max_chars: int = Field(default=30, ge=1, le=2000)

    # dispatch
    claim_batch: int = Field(default=500, ge=1)
    max_inflight: int = Field(default=2000, ge=1)
    lease_seconds: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    retry_base: float = Field(default=2.0, gt=0)
    retry_cap: float = Field(default=300.0, gt=0)
    dlr_timeout: float = Field(default=48 * 3600, gt=0)
    unmatched_receipt_ttl: float = Field(default=3600.0, gt=0)
    # money: final statuses whose message price is credited back to the account (once)
    refund_on: list[RefundStatus] = Field(default_factory=_refund_default)

    # webhooks
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_concurrency: int = Field(default=64, ge=1)
    webhook_per_host: int = Field(default=16, ge=1)
    # refuse callbacks to loopback/private/link-local addresses (SSRF guard for shared setups)
    webhook_block_private: bool = False
    webhook_retry_base: float = Field(default=5.0, gt=0)
    webhook_retry_cap: float = Field(default=3600.0, gt=0)
    webhook_retry_window: float = Field(default=86400.0, ge=86400.0)

    # SMPP server for client binds (smpp_host:smpp_port; port 0 = ephemeral)
    smpp_server_enabled: bool = True
    # SMPP over TLS for client binds: both set → the SMPP port speaks TLS only
    smpp_tls_cert: Path | None = None
    smpp_tls_key: Path | None = None
    smpp_window: int = Field(
        default=10, ge=1, le=1000, description="outstanding deliver_sm per client bind"
    )
    smpp_response_timeout: float = Field(
        default=10.0, gt=0, description="a deliver_sm unanswered this long ends the bind"
    )
    smpp_reassembly_timeout: float = Field(default=60.0, gt=0)
    smpp_retry_delay: float = Field(default=5.0, gt=0)
    # TLV tags of India's DLT ids in clients' submits (docs/countries.md)
    smpp_dlt_tlvs: DltTags = Field(default_factory=DltTags)

    # inbound: first-word keywords (case and accents ignored)
    optout_keywords: list[str] = Field(
        default_factory=lambda: ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET"]
    )
    optin_keywords: list[str] = Field(default_factory=lambda: ["START", "UNSTOP"])

    # verifications (docs/verify.md): the server secret that hashes codes and seals their
    # texts; unset, ``<data_dir>/verify-secret`` is made on first start (set it on every
    # node when several share one PostgreSQL database)
    verify_secret: str | None = Field(default=None, min_length=32)
    verify_ttl: float = Field(default=600.0, ge=60, le=86400)
    verify_app_name: str = Field(default="smsrelay", min_length=1, max_length=40)
    # the fraud guard against SMS pumping (domain/fraud.py), on by default
    fraud_guard: bool = True
    fraud_prefix_digits: int = Field(default=6, ge=2, le=15)
    fraud_block_hours: float = Field(default=12.0, gt=0)
    fraud_window: float = Field(default=3600.0, ge=300)
    fraud_grace: float = Field(default=120.0, ge=0)
    fraud_min_sends_prefix: int = Field(default=20, ge=1)
    fraud_min_sends_country: int = Field(default=50, ge=1)
    fraud_surge_factor: float = Field(default=3.0, ge=1)
    fraud_min_conversion: float = Field(default=0.2, ge=0, le=1)
    fraud_per_minute_prefix: int = Field(default=30, ge=0, description="0 = no limit")
    fraud_per_minute_account: int = Field(default=600, ge=0, description="0 = no limit")
    fraud_per_minute_ip: int = Field(default=10, ge=0, description="0 = no limit")

    # each [[connectors]] table is validated by its type's options model (connectors.options)
    connectors: list[ConnectorOptions] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    # [countries.FR] quiet_hours = {...}: the operator's value of any rule of a country
    # (docs/countries.md); the admin API's override of the same field wins over this one
    countries: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("countries")
    @classmethod
    def _country_rules(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Checked at start, with the field at fault named, not when a message needs it."""
        shipped = load_shipped()
        checked: dict[str, dict[str, Any]] = {}
        for iso, fields in value.items():
            code = country_code(iso)
            if code is None or shipped.get(code) is None:
                raise ValueError(f"countries.{iso}: not a known ISO 3166 alpha-2 country code")
            parse_overrides(fields, f"countries.{code}")
            checked[code] = fields
        return checked

    def country_overrides(self) -> dict[str, dict[str, Any]]:
        """The configuration file's country overrides as typed values, by ISO code."""
        return {iso: parse_overrides(f) for iso, f in self.countries.items()}

    @field_validator("connectors", mode="before")
    @classmethod
    def _typed_connectors(cls, value: Any) -> Any:
        """Each table → the options of its ``type`` (the registry's list of types)."""
        if not isinstance(value, list):
            return value
        return [connector_options(item) for item in value]

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'smsrelay.db'}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "api-key"

    @property
    def verify_secret_file(self) -> Path:
        return self.data_dir / "verify-secret"

    def effective_connectors(self) -> list[ConnectorOptions]:
        """The configured connectors, or, when none are declared, the carrier simulator
        embedded in this process (on ``simulator_port``), answering at once and reporting
        every message delivered after its default receipt delay."""
        if self.connectors:
            return list(self.connectors)
        return [SimulatorOptions(name="simulator", port=self.simulator_port, latency_ms=0)]

    def effective_routes(self) -> list[RouteConfig]:
        """The configured routes, or one default route over every connector in order."""
        if self.routes:
            return self.routes
        return [
            RouteConfig(name="default", connectors=[c.name for c in self.effective_connectors()])
        ]


def load_settings(**overrides: Any) -> Settings:
    """Build settings from file and environment, with explicit overrides on top."""
    return Settings(**overrides)
