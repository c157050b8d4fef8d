"""What one HTTP provider is to the connector: its send call, its answers, its callbacks.

Each provider (Twilio, Vonage, Infobip, Telnyx, Plivo, Sinch, and the generic one described
by configuration) is a module with one class implementing :class:`Provider`. Everything in
it is pure: it builds the API request for a message, reads the provider's answer into a
:class:`~smsrelay.domain.messages.SubmitOutcome`, checks a callback's signature and reads the
callback into delivery reports or inbound messages. The I/O (the HTTP client, pacing, the
circuit's view of health, handing reports to the engine) is the connector's
(:mod:`.connector`), written once for all of them.

Failures are classified once here (:func:`http_failure`) from the HTTP status; a provider
refines it with its own error codes (an invalid number is permanent whatever the status).
The classes of failure and what the engine does with them:

* throttled (429, a provider's "too many requests" code): ``carrier_throttled``, retried
  with backoff, and the connector's pacer slows down (for ``Retry-After`` when given);
* the provider's trouble (5xx, timeouts, connection failures): retried, and counted by the
  connector's circuit so traffic fails over to the next connector of the route;
* our credentials refused (401, 403): ``carrier_auth_failed``: the circuit opens at once and
  stays open (no probe) for a growing pause, so a wrong key is not a retry storm;
* the message refused (an invalid or unreachable number, content refused): permanent.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import (
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    SubmitOutcome,
)
from smsrelay.domain.registration import Registration, with_telemarketer
from smsrelay.httpclient import HttpResponse

__all__ = [
    "Callback",
    "CallbackKind",
    "CallbackRefused",
    "CallbackReply",
    "Provider",
    "ProviderCall",
    "SendContext",
    "basic_auth",
    "failed",
    "http_failure",
    "json_body",
    "retry_after",
    "same_secret",
]

CallbackKind = Literal["status", "inbound"]


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One API request to the provider."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class SendContext:
    """What a provider needs besides the message: its options and our callback URLs."""

    options: HttpOptions
    status_url: str  # where the provider should send this message's delivery reports
    inbound_url: str
    now: float  # wall-clock seconds: validity periods are sent as time left

    @property
    def base_url(self) -> str:
        return self.options.api_url

    def credential(self, key: str) -> str:
        return self.options.credentials.get(key, "")

    def sender(self, message: OutboundMessage, *, required_by: str | None = None) -> str:
        """The message's sender, else the connector's ``default_sender`` ("" for none).
        ``required_by`` names a provider that cannot send without one: ValueError then."""
        sender = message.sender or self.options.default_sender
        if not sender and required_by:
            raise ValueError(
                f"{required_by} needs a sender: set default_sender or the message's from"
            )
        return sender

    def registration(self, message: OutboundMessage) -> Registration | None:
        """The message's DLT ids, with the connector's ``telemarketer_id`` added when it
        carries ids and names none (``domain/registration.py``)."""
        return with_telemarketer(message.registration, self.options.telemarketer_id)

    def registration_fields(
        self, message: OutboundMessage, names: Mapping[str, str]
    ) -> dict[str, str]:
        """The message's DLT ids under the provider's field ``names`` (our field → theirs);
        ids the provider has no field for are left out."""
        registration = self.registration(message)
        if not registration:
            return {}
        return {names[k]: v for k, v in registration.items() if k in names}

    def validity_left(self, message: OutboundMessage) -> float | None:
        """Seconds of ``message``'s validity left (None: no validity, or none left: the
        engine never submits an expired message), for the provider's own expiry field."""
        if message.expires_at is None or message.expires_at <= self.now:
            return None
        return message.expires_at - self.now


@dataclass(frozen=True, slots=True)
class Callback:
    """A request a provider made to one of our callback URLs.

    ``url`` is the URL as the provider called it (our public base URL, the path and the
    query string): the URL some providers sign.
    """

    method: str
    url: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (the last of a repeated name)."""
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    @property
    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body's parameters ({} for another)."""
        content_type = self.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" not in content_type:
            return {}
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise CallbackRefused(400, "the form body is not UTF-8") from None

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters together (the form wins): for providers that call
        back with GET or POST alike."""
        return {**self.query, **self.form}

    def json(self) -> Any:
        """The body as JSON; :class:`CallbackRefused` (400) when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise CallbackRefused(400, "the body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; :class:`CallbackRefused` (400) for anything else."""
        data = self.json()
        if not isinstance(data, dict):
            raise CallbackRefused(400, "the body is not a JSON object")
        return data


@dataclass(frozen=True, slots=True)
class CallbackReply:
    """What we answer a provider's callback with (each expects its own)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class CallbackRefused(Exception):
    """A callback we will not act on: 403 for a bad or missing signature, 400 for a body
    we cannot read. Nothing has been changed when it is raised."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Provider(Protocol):
    """One provider's API, as pure functions of the request and the answer."""

    name: ClassVar[str]

    def signs(self, options: HttpOptions) -> bool:
        """Whether this provider signs its callbacks with what ``options`` hold. When it
        does not, the callback URLs carry a secret token instead, checked by the connector."""
        ...

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        """The API request that submits ``message``."""
        ...

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        """The provider's answer to :meth:`send` → its message ids, or the catalogue error."""
        ...

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        """Whether the callback carries the provider's valid signature (asked only when
        :meth:`signs`)."""
        ...

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        """Delivery reports in a status callback (several where the provider batches)."""
        ...

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        """Mobile-originated messages in an inbound callback."""
        ...

    def reply(self, kind: CallbackKind) -> CallbackReply:
        """The answer the provider expects to a callback it made."""
        ...


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def json_body(response: HttpResponse) -> Any:
    """The answer's JSON, or None when it is not JSON."""
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


def http_failure(status: int) -> ErrorCode | None:
    """The catalogue error an HTTP status says by itself (None for 2xx)."""
    if 200 <= status < 300:
        return None
    if status == 429:
        return ErrorCode.CARRIER_THROTTLED
    if status in (401, 403):
        return ErrorCode.CARRIER_AUTH_FAILED
    if status in (408, 504):
        return ErrorCode.CARRIER_TIMEOUT
    if status == 503 or status >= 500:
        return ErrorCode.CARRIER_SYSTEM_ERROR
    return ErrorCode.CARRIER_REJECTED


def failed(status: int, detail: str, code: ErrorCode | None = None) -> SubmitOutcome:
    """A failed submit: ``code`` when the provider's own error code said more."""
    error = code or http_failure(status) or ErrorCode.CARRIER_REJECTED
    return SubmitOutcome(error=error, detail=detail[:300])


def retry_after(response: HttpResponse) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait (the delta form), if any."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two signatures or tokens."""
    return hmac.compare_digest(given.encode(), expected.encode())
