"""Local fakes of the HTTP SMS providers' APIs (``smsrelay simulate-provider``)."""

from __future__ import annotations

from collections.abc import Callable

from .base import FakeConfig, ProviderFake, parse_outcomes
from .plivo import PlivoFake
from .telnyx import TelnyxFake
from .twilio import TwilioFake

__all__ = ["FAKES", "FakeConfig", "ProviderFake", "fake_for", "parse_outcomes"]

FAKES: dict[str, Callable[[FakeConfig], ProviderFake]] = {
    "twilio": TwilioFake,
    "telnyx": TelnyxFake,
    "plivo": PlivoFake,
}


def fake_for(provider: str, config: FakeConfig) -> ProviderFake:
    """The fake of ``provider``; ValueError for one that has none."""
    try:
        return FAKES[provider](config)
    except KeyError:
        raise ValueError(f"no fake for {provider!r} (known: {', '.join(FAKES)})") from None
