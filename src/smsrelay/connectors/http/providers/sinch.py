"""Sinch SMS REST API (https://developers.sinch.com/docs/sms/api-reference/).

Send: ``POST {base}/xms/v1/{service_plan_id}/batches`` with ``Authorization: Bearer
{api_token}`` and a JSON batch ``{"from", "to": [E.164], "body", "delivery_report":
"per_recipient", "callback_url", "client_reference", "expire_at"}``. The base URL names the
region (``us.sms.api.sinch.com`` by default, ``eu.``, ``au.``, ``br.``, ``ca.``: set
``base_url``). Sinch splits and encodes the text itself; the 201 answer's ``id`` is the
batch's, and as we send one message per batch it is the message's carrier id: its delivery
reports name it as ``batch_id``. Errors come as ``{"code", "text"}`` with 400, 401, 403, 404,
429 or 5xx.

Callbacks are JSON POSTs. The SMS REST API signs none by default (HMAC or OAuth is a
per-account arrangement with Sinch), so our URLs carry the connector's token. A recipient
report is ``{"type": "recipient_delivery_report_sms", "batch_id", "recipient", "code",
"status", "at", ...}``; statuses (the "Delivery report statuses" table): ``Queued`` and
``Dispatched`` are on the way; ``Delivered``; ``Failed`` and ``Deleted`` (removed by the
remote SMSC) undelivered; ``Expired``; ``Rejected``, ``Aborted`` and ``Cancelled`` refused;
``Unknown`` says nothing final. A batch report (``delivery_report_sms``, when an account sends
``full`` or ``summary`` ones) gives a report per status it counts. Inbound messages are
``{"type": "mo_text", "id", "from", "to", "body", "received_at"}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackReply,
    ProviderCall,
    SendContext,
    failed,
    json_body,
)
from smsrelay.connectors.http.providers.addresses import e164
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

__all__ = ["Sinch"]

MAX_VALIDITY = timedelta(days=3)

_STATUS: dict[str, ReceiptStatus] = {
    "queued": ReceiptStatus.ACCEPTED,
    "dispatched": ReceiptStatus.ACCEPTED,
    "delivered": ReceiptStatus.DELIVERED,
    "failed": ReceiptStatus.UNDELIVERED,
    "deleted": ReceiptStatus.UNDELIVERED,
    "expired": ReceiptStatus.EXPIRED,
    "rejected": ReceiptStatus.REJECTED,
    "aborted": ReceiptStatus.REJECTED,
    "cancelled": ReceiptStatus.REJECTED,
    "unknown": ReceiptStatus.UNKNOWN,
}

# error ``code`` values that decide where the HTTP status would not
_ERRORS: dict[str, ErrorCode] = {
    "unauthorized": ErrorCode.CARRIER_AUTH_FAILED,
    "forbidden": ErrorCode.CARRIER_AUTH_FAILED,
    "too_many_requests": ErrorCode.CARRIER_THROTTLED,
}


_RECIPIENT = {"msisdn", "recipient", "recipients"}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class Sinch:
    name: ClassVar[str] = "sinch"

    def signs(self, options: HttpOptions) -> bool:
        return False

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        batch: dict[str, Any] = {
            "to": [message.to],
            "body": message.body,
            "delivery_report": "per_recipient",
            "callback_url": context.status_url,
            "client_reference": message.message_id,
        }
        sender = context.sender(message)
        if sender:  # without one, Sinch uses the service plan's default originator
            batch["from"] = sender
        if message.expires_at is not None and message.expires_at > context.now:
            latest = context.now + MAX_VALIDITY.total_seconds()
            batch["expire_at"] = _iso(min(message.expires_at, latest))
        plan = quote(context.credential("service_plan_id"), safe="")
        return ProviderCall(
            "POST",
            f"{context.base_url}/xms/v1/{plan}/batches",
            {
                "Authorization": f"Bearer {context.credential('api_token')}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json.dumps(batch).encode(),
        )

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        body = json_body(response)
        data = body if isinstance(body, dict) else {}
        if 200 <= response.status < 300:
            batch_id = data.get("id")
            if isinstance(batch_id, str) and batch_id:
                return SubmitOutcome(carrier_ids=(batch_id,))
            return failed(502, "Sinch answered without a batch id", ErrorCode.CARRIER_SYSTEM_ERROR)
        code = str(data.get("code", ""))
        detail = f"Sinch {response.status}"
        if code:
            detail += f" {code}: {data.get('text', '')}"
        known = _ERRORS.get(code)
        if known is None and response.status == 400 and _field_words(data) & _RECIPIENT:
            known = ErrorCode.INVALID_DESTINATION  # the recipient number was refused
        return failed(response.status, detail, known)

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        return False  # never asked: the connector checks its token

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        data = callback.json_object()
        kind = data.get("type", "")
        batch_id = data.get("batch_id")
        if not isinstance(batch_id, str) or not batch_id:
            return []
        if kind == "delivery_report_sms":  # a batch report: one entry per status counted
            entries = [s for s in data.get("statuses") or [] if isinstance(s, dict)]
        elif kind == "recipient_delivery_report_sms":
            entries = [data]
        else:
            return []
        out: list[DeliveryReport] = []
        for entry in entries:
            word = str(entry.get("status", ""))
            if not word:
                continue
            code = entry.get("code")
            status = _STATUS.get(word.lower(), ReceiptStatus.UNKNOWN)
            final_failure = status not in (ReceiptStatus.DELIVERED, ReceiptStatus.ACCEPTED)
            error = f"sinch {code}" if code not in (None, 0) and final_failure else None
            raw = {"status": word, **({"code": str(code)} if code is not None else {})}
            out.append(DeliveryReport(connector, batch_id, status, now, error, raw=raw))
        return out

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        data = callback.json_object()
        sender, body = data.get("from"), data.get("body")
        if data.get("type") != "mo_text" or not isinstance(sender, str) or not sender:
            return []
        if not isinstance(body, str):
            return []
        to = data.get("to")
        carrier_id = data.get("id")
        return [
            InboundMessage(
                connector,
                e164(sender),
                e164(to) if isinstance(to, str) else "",
                body,
                now,
                carrier_id if isinstance(carrier_id, str) else None,
            )
        ]

    def reply(self, kind: CallbackKind) -> CallbackReply:
        return CallbackReply(200)


def _field_words(data: dict[str, Any]) -> set[str]:
    """The words of an error's text (Sinch names the offending field in it)."""
    text = str(data.get("text", "")).lower()
    return set(text.replace(",", " ").replace(".", " ").replace("'", " ").split())
