"""Telnyx Messaging API v2 (https://developers.telnyx.com/api-reference/messages/send-a-message).

Send: ``POST /v2/messages`` with ``Authorization: Bearer {api_key}`` and a JSON body with
``from``, ``to``, ``text``, ``webhook_url`` (our status URL: Telnyx sends this message's
events there before any URL of the messaging profile) and ``validity_period`` (seconds left,
where the message expires). A sender that is not a number, short code or alphanumeric ID,
i.e. a messaging profile id (a UUID), goes as ``messaging_profile_id`` (sending from the
profile's number pool). Telnyx splits and encodes long texts itself: the whole text goes in
one call and the answer's ``data.id`` is the message's one id.

Errors come as ``{"errors": [{"code", "title", "detail"}]}``
(https://developers.telnyx.com/docs/messaging/messages/error-codes): the code decides where
the HTTP status alone would not (an invalid ``to`` is permanent, a STOP block is an opt-out).

Webhooks (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks) are JSON
``{"data": {"event_type", "id", "occurred_at", "payload": {...}, "record_type": "event"},
"meta": {...}}``: ``message.sent`` and ``message.finalized`` for an outbound message (its
``payload.to[0].status``), ``message.received`` for an inbound one. They are signed with
Ed25519: ``telnyx-signature-ed25519`` is the base64 signature of ``{telnyx-timestamp}|{raw
body}`` under the account's key pair; we verify it with the account's public key
(``public_key`` credential, base64) and refuse a timestamp further than ``tolerance`` (five
minutes) from our clock, so a captured webhook cannot be replayed later. Without a
``public_key`` the connector hands Telnyx URLs carrying a secret token instead.

Status words: ``queued``, ``sending`` and ``sent`` are on the way; ``delivered`` is
delivered; ``delivery_failed`` is undelivered (expired when its error code says the
validity ran out); ``sending_failed`` is rejected; ``expired`` is expired;
``delivery_unconfirmed`` is final without a receipt, so the message stays ``sent``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackReply,
    ProviderCall,
    SendContext,
    failed,
    json_body,
)
from smsrelay.connectors.http.providers.addresses import UUID
from smsrelay.connectors.options import HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import (
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    ReceiptStatus,
    SubmitOutcome,
)
from smsrelay.httpclient import HttpResponse

__all__ = ["TOLERANCE", "Telnyx", "public_key_of"]

#: how far a webhook's timestamp may be from our clock, in seconds (Telnyx's SDKs use 300)
TOLERANCE = 300.0

# Telnyx's error codes (https://developers.telnyx.com/docs/messaging/messages/error-codes)
_ERRORS: dict[str, ErrorCode] = {
    "10009": ErrorCode.CARRIER_AUTH_FAILED,  # authentication failed
    "10010": ErrorCode.CARRIER_AUTH_FAILED,  # authorization failed
    "10011": ErrorCode.CARRIER_THROTTLED,  # too many requests
    "10002": ErrorCode.INVALID_DESTINATION,  # invalid phone number
    "10016": ErrorCode.INVALID_DESTINATION,  # phone number must be in +E.164 format
    "40001": ErrorCode.INVALID_DESTINATION,  # not routable (landline)
    "40012": ErrorCode.INVALID_DESTINATION,  # invalid messaging destination number
    "40301": ErrorCode.INVALID_DESTINATION,  # unsupported message type for the 'to' address
    "40310": ErrorCode.INVALID_DESTINATION,  # invalid 'to' address
    "40300": ErrorCode.RECIPIENT_OPTED_OUT,  # blocked due to STOP message
    "10007": ErrorCode.CARRIER_SYSTEM_ERROR,  # unexpected error
}

_STATUS: dict[str, ReceiptStatus] = {
    "delivered": ReceiptStatus.DELIVERED,
    "delivery_failed": ReceiptStatus.UNDELIVERED,
    "sending_failed": ReceiptStatus.REJECTED,
    "expired": ReceiptStatus.EXPIRED,
    "delivery_unconfirmed": ReceiptStatus.UNKNOWN,
}

# delivery errors that mean the validity period ran out
_EXPIRED_CODES = frozenset({"40005", "40014"})

_STATUS_EVENTS = frozenset({"message.sent", "message.finalized"})

# Telnyx accepts validity_period between 60 seconds and 14 days
_MIN_VALIDITY, _MAX_VALIDITY = 60, 14 * 24 * 3600


def public_key_of(text: str) -> Ed25519PublicKey | None:
    """The Ed25519 public key a ``public_key`` credential holds (base64 of its 32 raw
    bytes, as Telnyx's portal shows it), or None when it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return None


def _event(callback: Callback) -> dict[str, Any]:
    body = callback.json()
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _error_codes(errors: Any) -> list[str]:
    if not isinstance(errors, list):
        return []
    return [str(e["code"]) for e in errors if isinstance(e, dict) and e.get("code") is not None]


def _address(value: Any) -> str:
    """A ``from``/``to`` of a payload: ``{"phone_number": ...}`` or a bare string."""
    if isinstance(value, dict):
        return str(value.get("phone_number") or "")
    return str(value or "")


class Telnyx:
    name: ClassVar[str] = "telnyx"

    def __init__(
        self, *, tolerance: float = TOLERANCE, now: Callable[[], float] = time.time
    ) -> None:
        """``now`` is the wall clock webhook timestamps are compared with (tests inject it)."""
        self.tolerance = tolerance
        self._now = now

    def signs(self, options: HttpOptions) -> bool:
        return bool(options.credentials.get("public_key"))

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        sender = context.sender(message, required_by="Telnyx")
        body: dict[str, Any] = {
            "to": message.to,
            "text": message.body,
            "webhook_url": context.status_url,
            "use_profile_webhooks": False,
        }
        if UUID.match(sender):
            body["messaging_profile_id"] = sender
        else:
            body["from"] = sender
        left = context.validity_left(message)
        if left is not None and left >= 1:
            body["validity_period"] = max(_MIN_VALIDITY, min(int(left), _MAX_VALIDITY))
        return ProviderCall(
            "POST",
            f"{context.base_url}/v2/messages",
            {
                "Authorization": f"Bearer {context.credential('api_key')}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json.dumps(body, ensure_ascii=False).encode(),
        )

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        body = json_body(response)
        answer = body if isinstance(body, dict) else {}
        data = answer.get("data")
        if 200 <= response.status < 300:
            if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
                return SubmitOutcome(carrier_ids=(data["id"],))
            return failed(502, "Telnyx answered without an id", ErrorCode.CARRIER_SYSTEM_ERROR)
        errors = answer.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else {}
        first = first if isinstance(first, dict) else {}
        code = str(first.get("code", "")) if first.get("code") is not None else ""
        detail = f"Telnyx {response.status}"
        if code:
            text = first.get("detail") or first.get("title") or ""
            detail += f" error {code}: {text}"
        return failed(response.status, detail, _ERRORS.get(code))

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        signature = callback.headers.get("telnyx-signature-ed25519", "")
        timestamp = callback.headers.get("telnyx-timestamp", "")
        key = public_key_of(options.credentials.get("public_key", ""))
        if not signature or not timestamp or key is None:
            return False
        try:
            signed_at = int(timestamp)
            raw = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            return False
        if abs(self._now() - signed_at) > self.tolerance:
            return False
        try:
            key.verify(raw, timestamp.encode() + b"|" + callback.body)
        except InvalidSignature:
            return False
        return True

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        event = _event(callback)
        payload = event.get("payload")
        if event.get("event_type") not in _STATUS_EVENTS or not isinstance(payload, dict):
            return []
        carrier_id = payload.get("id")
        recipients = payload.get("to")
        if not isinstance(carrier_id, str) or not isinstance(recipients, list) or not recipients:
            return []
        first = recipients[0] if isinstance(recipients[0], dict) else {}
        word = str(first.get("status") or "").lower()
        if not word:
            return []
        codes = _error_codes(payload.get("errors"))
        status = _STATUS.get(word, ReceiptStatus.ACCEPTED)
        if status is ReceiptStatus.UNDELIVERED and _EXPIRED_CODES.intersection(codes):
            status = ReceiptStatus.EXPIRED
        return [
            DeliveryReport(
                connector=connector,
                carrier_id=carrier_id,
                status=status,
                at=now,
                error=f"telnyx {codes[0]}" if codes else None,
                raw={"status": word, **({"error_code": codes[0]} if codes else {})},
            )
        ]

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        event = _event(callback)
        payload = event.get("payload")
        if event.get("event_type") != "message.received" or not isinstance(payload, dict):
            return []
        sender = _address(payload.get("from"))
        recipients = payload.get("to")
        to = _address(recipients[0]) if isinstance(recipients, list) and recipients else ""
        text = payload.get("text")
        if not sender or not isinstance(text, str):
            return []
        carrier_id = payload.get("id")
        return [
            InboundMessage(
                connector=connector,
                sender=sender,
                to=to,
                body=text,
                received_at=now,
                carrier_id=carrier_id if isinstance(carrier_id, str) else None,
            )
        ]

    def reply(self, kind: CallbackKind) -> CallbackReply:
        # Telnyx wants a 2xx within two seconds; the body is not read
        return CallbackReply(200, b"")
