"""One module per HTTP provider, each written from the provider's public API reference."""

from __future__ import annotations

from collections.abc import Callable

from smsrelay.connectors.http.provider import Provider
from smsrelay.connectors.http.providers.generic import Generic
from smsrelay.connectors.http.providers.infobip import Infobip
from smsrelay.connectors.http.providers.plivo import Plivo
from smsrelay.connectors.http.providers.sinch import Sinch
from smsrelay.connectors.http.providers.telnyx import Telnyx
from smsrelay.connectors.http.providers.twilio import Twilio
from smsrelay.connectors.http.providers.vonage import Vonage
from smsrelay.connectors.options import HttpOptions

__all__ = ["available_providers", "provider_for"]


def _generic(options: HttpOptions) -> Provider:
    assert options.generic is not None  # HttpOptions refuses generic without it
    return Generic(options.generic)


_PROVIDERS: dict[str, Callable[[HttpOptions], Provider]] = {
    "twilio": lambda options: Twilio(),
    "telnyx": lambda options: Telnyx(),
    "plivo": lambda options: Plivo(),
    "generic": _generic,
    "vonage": lambda options: Vonage(),
    "infobip": lambda options: Infobip(),
    "sinch": lambda options: Sinch(),
}


def available_providers() -> list[str]:
    """The ``provider`` names this version implements."""
    return list(_PROVIDERS)


def provider_for(options: HttpOptions) -> Provider:
    """The provider ``options`` name, built for them."""
    try:
        return _PROVIDERS[options.provider](options)
    except KeyError:
        raise ValueError(f"provider {options.provider!r} is not available") from None
