"""Connector definitions: one list of types, one place for defaults, the same answers for the
config file and the admin API."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from smsrelay.config import Settings
from smsrelay.connectors.embedded import EmbeddedSimulatorConnector
from smsrelay.connectors.options import HttpOptions, SimulatorOptions, SmppOptions
from smsrelay.connectors.registry import (
    ConnectorConfigError,
    build_connector,
    build_connectors,
    connector_options,
    connector_types,
)
from smsrelay.connectors.smpp import SmppConnector


def test_the_type_picks_the_options_model_and_its_defaults() -> None:
    smpp = connector_options({"name": "carrier", "type": "smpp"})
    assert isinstance(smpp, SmppOptions)
    assert (smpp.port, smpp.window, smpp.bind, smpp.response_timeout) == (
        2776,
        10,
        "transceiver",
        10.0,
    )
    simulated = connector_options({"name": "sim"})  # no type: the simulator
    assert isinstance(simulated, SimulatorOptions)
    assert (simulated.latency_ms, simulated.dlr_delay_ms, simulated.port) == (5.0, 200.0, 0)
    assert simulated.smpp(4000) == SmppOptions(name="sim", port=4000, window=100)
    assert connector_types() == ["smpp", "simulator", "http"]


def test_http_needs_its_provider_credentials_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValidationError, match="needs credentials account_sid, auth_token"):
        connector_options({"name": "twilio", "type": "http", "provider": "twilio"})
    twilio = connector_options(
        {
            "name": "twilio",
            "type": "http",
            "provider": "twilio",
            "credentials": {"account_sid": "AC1", "auth_token": "t"},
        }
    )
    assert isinstance(twilio, HttpOptions) and twilio.api_url == "https://api.twilio.com"
    with pytest.raises(ValidationError):
        connector_options({"name": "x", "type": "http", "provider": "pigeonpost"})
    with pytest.raises(ConnectorConfigError, match=r"unknown type 'pigeon' \(known: smpp, sim"):
        connector_options({"name": "x", "type": "pigeon"})


def test_a_field_of_another_type_or_a_bad_value_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        connector_options({"name": "a", "type": "smpp", "latency_ms": 5})
    assert error.value.errors()[0]["loc"] == ("latency_ms",)
    with pytest.raises(ValidationError):
        connector_options({"name": "a", "type": "smpp", "bind": "receiver"})
    with pytest.raises(ValidationError, match="unknown outcome"):
        connector_options({"name": "a", "outcomes": {"lost": 1.0}})


def test_the_config_file_gets_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "smsrelay.toml"
    monkeypatch.setenv("SMSRELAY_CONFIG", str(config))
    config.write_text(
        '[[connectors]]\nname = "a"\ntype = "smpp"\nhost = "smsc.example"\n'
        '[[connectors]]\nname = "b"\nlatency_ms = 1\n'
    )
    a, b = Settings().connectors
    assert isinstance(a, SmppOptions) and (a.host, a.port) == ("smsc.example", 2776)
    assert isinstance(b, SimulatorOptions) and b.latency_ms == 1
    config.write_text('[[connectors]]\nname = "t"\ntype = "http"\nprovider = "twilio"\n')
    with pytest.raises(ValidationError, match="needs credentials"):
        Settings()


def test_without_connectors_the_default_is_the_embedded_simulator() -> None:
    [default] = Settings(connectors=[], simulator_port=0).effective_connectors()
    assert isinstance(default, SimulatorOptions) and default.name == "simulator"
    connector = build_connector(default)
    assert isinstance(connector, EmbeddedSimulatorConnector)
    assert isinstance(connector, SmppConnector)  # the same code path as a real carrier


def test_a_name_given_twice_is_refused() -> None:
    twice = [SmppOptions(name="a"), SimulatorOptions(name="a")]
    with pytest.raises(ConnectorConfigError, match="defined twice"):
        build_connectors(twice)
