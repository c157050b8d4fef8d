"""A local Telnyx: Messaging API v2, its message webhooks and inbound webhooks.

From Telnyx's public reference: ``POST /v2/messages`` with ``Authorization: Bearer
{api_key}`` and a JSON body (``from`` or ``messaging_profile_id``, ``to``, ``text``,
``webhook_url``); a 200 answer ``{"data": {...the message...}}``; errors as
``{"errors": [{"code", "title", "detail"}]}``. Webhooks are JSON events (``message.sent``,
then ``message.finalized`` with the final status; ``message.received`` for an inbound
message) signed with Ed25519: ``telnyx-signature-ed25519`` is the base64 signature of
``{telnyx-timestamp}|{body}``. The fake signs with its own key pair: generated at start, or
the ``private_key`` credential (base64 of the 32-byte seed). The public key to configure
the gateway with (its ``public_key`` credential) is in the credentials printed at start and
at ``GET /_fake/public_key``.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeConfig, Outbound, ProviderFake, Sent

__all__ = ["TelnyxFake", "sign"]

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# our outcome -> Telnyx's final status of the recipient and the error it carries
_FINAL: dict[str, tuple[str, list[dict[str, str]]]] = {
    "delivered": ("delivered", []),
    "undelivered": ("delivery_failed", [{"code": "40008", "title": "Undeliverable"}]),
    "expired": ("delivery_failed", [{"code": "40005", "title": "Message expired"}]),
    "rejected": ("sending_failed", [{"code": "40004", "title": "Rejected by destination"}]),
}


def sign(private_key: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    """Telnyx's webhook signature: Ed25519 over ``{timestamp}|{body}``, base64."""
    return base64.b64encode(private_key.sign(timestamp.encode() + b"|" + body)).decode()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def _error(status: int, code: str, title: str, detail: str = "") -> JSONResponse:
    return JSONResponse(
        {"errors": [{"code": code, "title": title, "detail": detail or title}]}, status
    )


class TelnyxFake(ProviderFake):
    name = "telnyx"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        credentials = self.config.credentials
        credentials.setdefault("api_key", "KEYfake")
        seed = credentials.get("private_key")
        if seed:
            self.private_key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))
        else:
            self.private_key = Ed25519PrivateKey.generate()
            credentials["private_key"] = base64.b64encode(
                self.private_key.private_bytes_raw()
            ).decode()
        credentials["public_key"] = self.public_key

    @property
    def public_key(self) -> str:
        """The base64 public key, as Telnyx's portal shows the account's."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def routes(self) -> list[Route]:
        return [
            Route("/v2/messages", self._create, methods=["POST"]),
            Route("/_fake/public_key", self._public_key, methods=["GET"]),
        ]

    async def _public_key(self, request: Request) -> Response:
        return JSONResponse({"public_key": self.public_key})

    def _authorized(self, request: Request) -> bool:
        expected = f"Bearer {self.config.credentials['api_key']}"
        return hmac.compare_digest(request.headers.get("authorization", ""), expected)

    async def _create(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "10009", "Authentication failed")
        refusal = self.refuse()
        if refusal == "throttled":
            return _error(429, "10011", "Too many requests")
        if refusal == "error":
            return _error(500, "10007", "Unexpected error")
        try:
            body = json.loads(await request.body())
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            return _error(400, "10015", "Bad Request", "The request body is not JSON.")
        to, sender = str(body.get("to", "")), str(body.get("from", ""))
        profile, text = body.get("messaging_profile_id"), body.get("text")
        if not _E164.match(to):
            return _error(400, "40310", "Invalid 'to' address", f"{to!r} is not +E.164")
        if not sender and not profile:
            return _error(400, "40305", "Invalid 'from' address")
        if not isinstance(text, str) or not text:
            return _error(422, "10004", "Missing required parameter", "text is required")
        message = self.accept(to, sender or str(profile), text, str(body.get("webhook_url", "")))
        return JSONResponse({"data": self._record(message, "queued", [])})

    def _record(self, message: Sent, status: str, errors: list[dict[str, str]]) -> dict[str, Any]:
        parts = max(1, -(-len(message.text) // 153)) if len(message.text) > 160 else 1
        final = status not in ("queued", "sending", "sent")
        return {
            "record_type": "message",
            "direction": "outbound",
            "id": message.id,
            "type": "SMS",
            "messaging_profile_id": None,
            "from": {"phone_number": message.sender, "carrier": "TELNYX LLC", "line_type": "VoIP"},
            "to": [{"phone_number": message.to, "status": status, "carrier": "", "line_type": ""}],
            "text": message.text,
            "media": [],
            "webhook_url": message.callback_url,
            "encoding": "GSM-7" if message.text.isascii() else "UCS-2",
            "parts": parts,
            "received_at": _iso(message.at),
            "sent_at": None if status == "queued" else _iso(time.time()),
            "completed_at": _iso(time.time()) if final else None,
            "valid_until": None,
            "errors": errors,
        }

    def next_id(self, prefix: str = "") -> str:
        # Telnyx message ids are UUIDs; drawn from the fake's seeded generator
        return prefix + str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _event(self, url: str, event_type: str, payload: dict[str, Any]) -> Outbound:
        body = json.dumps(
            {
                "data": {
                    "event_type": event_type,
                    "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                    "occurred_at": _iso(time.time()),
                    "payload": payload,
                    "record_type": "event",
                },
                "meta": {"attempt": 1, "delivered_to": url},
            }
        ).encode()
        timestamp = str(int(time.time()))
        return Outbound(
            "POST",
            url,
            {
                "Content-Type": "application/json",
                "telnyx-timestamp": timestamp,
                "telnyx-signature-ed25519": sign(self.private_key, timestamp, body),
                "User-Agent": "telnyx-webhooks",
            },
            body,
        )

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        status, errors = _FINAL[outcome]
        payload = self._record(message, status, errors)
        return self._event(message.callback_url, "message.finalized", payload)

    async def _report_later(self, message: Sent) -> None:
        sent = self._event(message.callback_url, "message.sent", self._record(message, "sent", []))
        await self.deliver(sent)
        await super()._report_later(message)

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        payload = {
            "record_type": "message",
            "direction": "inbound",
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": "SMS",
            "from": {"phone_number": sender, "carrier": "", "line_type": "Wireless"},
            "to": [{"phone_number": to, "status": "webhook_delivered", "carrier": "TELNYX LLC"}],
            "text": text,
            "media": [],
            "encoding": "GSM-7" if text.isascii() else "UCS-2",
            "parts": 1,
            "received_at": _iso(time.time()),
            "errors": [],
        }
        return self._event(self.config.inbound_url, "message.received", payload)
