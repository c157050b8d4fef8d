"""Local fakes of the HTTP SMS providers' APIs (``smsrelay simulate-provider``)."""

from __future__ import annotations

from collections.abc import Callable

from .base import FakeConfig, ProviderFake, parse_outcomes
from .infobip import InfobipFake
from .plivo import PlivoFake
from .sinch import SinchFake
from .telnyx import TelnyxFake
from .twilio import TwilioFake
from .vonage import VonageFake

__all__ = ["FAKES", "FakeConfig", "ProviderFake", "fake_for", "parse_outcomes"]

FAKES: dict[str, Callable[[FakeConfig], ProviderFake]] = {
    "twilio": TwilioFake,
    "telnyx": TelnyxFake,
    "plivo": PlivoFake,
    "vonage": VonageFake,
    "infobip": InfobipFake,
    "sinch": SinchFake,
}


def fake_for(provider: str, config: FakeConfig) -> ProviderFake:
    """The fake of ``provider``; ValueError for one that has none."""
    try:
        return FAKES[provider](config)
    except KeyError:
        raise ValueError(f"no fake for {provider!r} (known: {', '.join(FAKES)})") from None
