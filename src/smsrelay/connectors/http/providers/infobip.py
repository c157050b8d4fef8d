"""Infobip SMS API (https://www.infobip.com/docs/api/channels/sms).

Send: ``POST {base}/sms/2/text/advanced`` with ``Authorization: App {api_key}`` and a JSON
body ``{"messages": [{"destinations": [{"to", "messageId"}], "from", "text", "notifyUrl",
"notifyContentType": "application/json", "callbackData", "validityPeriod"}]}`` (the number
without ``+``, the validity in minutes, at most 48 hours). Infobip splits and encodes the text
itself; the answer ``{"bulkId", "messages": [{"to", "messageId", "status": {"groupId",
"groupName", "id", "name", "description"}}]}`` carries one id per destination, named again
in its delivery report. A message may be refused inside a 200 answer (status group
``REJECTED``); a refused request answers ``{"requestError": {"serviceException":
{"messageId", "text"}}}`` with 400, 401, 429 or 5xx.

Callbacks are JSON POSTs that Infobip does not sign, so the URLs we hand it carry the
connector's token. Delivery reports come batched, ``{"results": [...]}`` with one report per
message; status groups (https://www.infobip.com/docs/essentials/response-status-and-error-codes):
1 ``PENDING`` (on the way), 2 ``UNDELIVERABLE``, 3 ``DELIVERED``, 4 ``EXPIRED``, 5
``REJECTED``. Inbound messages come batched the same way (``from``, ``to``, ``text``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackRefused,
    CallbackReply,
    ProviderCall,
    SendContext,
    failed,
    json_body,
)
from smsrelay.connectors.http.providers.addresses import digits, e164
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

__all__ = ["Infobip"]

MAX_VALIDITY_MINUTES = 2880

_GROUPS: dict[str, ReceiptStatus] = {
    "PENDING": ReceiptStatus.ACCEPTED,
    "UNDELIVERABLE": ReceiptStatus.UNDELIVERED,
    "DELIVERED": ReceiptStatus.DELIVERED,
    "EXPIRED": ReceiptStatus.EXPIRED,
    "REJECTED": ReceiptStatus.REJECTED,
}
_GROUP_IDS = {1: "PENDING", 2: "UNDELIVERABLE", 3: "DELIVERED", 4: "EXPIRED", 5: "REJECTED"}

# status names of the REJECTED group in a send answer that say more than "refused"
_REJECTIONS: dict[str, ErrorCode] = {
    "REJECTED_NETWORK": ErrorCode.INVALID_DESTINATION,
    "REJECTED_PREFIX_MISSING": ErrorCode.INVALID_DESTINATION,
    "REJECTED_DESTINATION": ErrorCode.INVALID_DESTINATION,
    "REJECTED_INVALID_DESTINATION": ErrorCode.INVALID_DESTINATION,
    "MISSING_TO": ErrorCode.INVALID_DESTINATION,
    "REJECTED_SENDER": ErrorCode.INVALID_SENDER,
    "REJECTED_SOURCE": ErrorCode.INVALID_SENDER,
    "REJECTED_DND": ErrorCode.RECIPIENT_OPTED_OUT,
    "REJECTED_NOT_ENOUGH_CREDITS": ErrorCode.CARRIER_AUTH_FAILED,  # the account cannot send
}

# serviceException.messageId values that decide where the HTTP status would not
_EXCEPTIONS: dict[str, ErrorCode] = {
    "UNAUTHORIZED": ErrorCode.CARRIER_AUTH_FAILED,
    "TOO_MANY_REQUESTS": ErrorCode.CARRIER_THROTTLED,
}


def _group(status: Any) -> str:
    """The status object's group name (from ``groupName``, else ``groupId``)."""
    if not isinstance(status, dict):
        return ""
    name = status.get("groupName")
    if isinstance(name, str) and name:
        return name.upper()
    group = status.get("groupId")
    return _GROUP_IDS.get(group, "") if isinstance(group, int) else ""


def _results(callback: Callback) -> list[dict[str, Any]]:
    data = callback.json()
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise CallbackRefused(400, 'the body has no "results" list')
    return [item for item in results if isinstance(item, dict)]


#: Our DLT fields → Infobip's ``regional.indiaDlt`` (``/sms/2/text/advanced``).
DLT_FIELDS = {
    "entity_id": "principalEntityId",
    "template_id": "contentTemplateId",
    "telemarketer_id": "telemarketerId",
}


class Infobip:
    name: ClassVar[str] = "infobip"

    def signs(self, options: HttpOptions) -> bool:
        return False

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        entry: dict[str, Any] = {
            "destinations": [{"to": digits(message.to)}],
            "text": message.body,
            "notifyUrl": context.status_url,
            "notifyContentType": "application/json",
            "callbackData": message.message_id,
        }
        sender = context.sender(message)
        if sender:  # without one, Infobip uses the account's default
            entry["from"] = digits(sender)
        left = context.validity_left(message)
        if left is not None and left >= 60:
            entry["validityPeriod"] = min(int(left // 60), MAX_VALIDITY_MINUTES)
        india_dlt = context.registration_fields(message, DLT_FIELDS)
        if india_dlt:
            entry["regional"] = {"indiaDlt": india_dlt}
        return ProviderCall(
            "POST",
            f"{context.base_url}/sms/2/text/advanced",
            {
                "Authorization": f"App {context.credential('api_key')}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json.dumps({"messages": [entry]}).encode(),
        )

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        body = json_body(response)
        data = body if isinstance(body, dict) else {}
        if not 200 <= response.status < 300:
            error = data.get("requestError")
            exception = error.get("serviceException") if isinstance(error, dict) else None
            exception = exception if isinstance(exception, dict) else {}
            name = str(exception.get("messageId", ""))
            detail = f"Infobip {response.status}"
            if name:
                detail += f" {name}: {exception.get('text', '')}"
            return failed(response.status, detail, _EXCEPTIONS.get(name))
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
            return failed(502, "Infobip answered without messages", ErrorCode.CARRIER_SYSTEM_ERROR)
        first = messages[0]
        status = first.get("status")
        group = _group(status)
        if group in ("REJECTED", "UNDELIVERABLE"):
            name = str(status.get("name", "")) if isinstance(status, dict) else ""
            text = status.get("description", "") if isinstance(status, dict) else ""
            code = _REJECTIONS.get(name, ErrorCode.CARRIER_REJECTED)
            return failed(400, f"Infobip {name}: {text}", code)
        message_id = first.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            return failed(
                502, "Infobip answered without a messageId", ErrorCode.CARRIER_SYSTEM_ERROR
            )
        return SubmitOutcome(carrier_ids=(message_id,))

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        return False  # never asked: Infobip signs nothing, the connector checks its token

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        out: list[DeliveryReport] = []
        for item in _results(callback):
            carrier_id, group = item.get("messageId"), _group(item.get("status"))
            if not isinstance(carrier_id, str) or not carrier_id or not group:
                continue
            status = item.get("status") or {}
            name = str(status.get("name", ""))
            raw = {"status": name or group}
            error = item.get("error")
            described = None
            if isinstance(error, dict) and error.get("id") not in (None, 0):
                raw["error_id"] = str(error.get("id"))
                described = f"infobip {error.get('id')} {error.get('name', '')}".strip()
            out.append(
                DeliveryReport(
                    connector,
                    carrier_id,
                    _GROUPS.get(group, ReceiptStatus.UNKNOWN),
                    now,
                    described,
                    raw=raw,
                )
            )
        return out

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        out: list[InboundMessage] = []
        for item in _results(callback):
            sender, text = item.get("from"), item.get("text")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                continue
            to = item.get("to")
            carrier_id = item.get("messageId")
            out.append(
                InboundMessage(
                    connector,
                    e164(sender),
                    e164(to) if isinstance(to, str) else "",
                    text,
                    now,
                    carrier_id if isinstance(carrier_id, str) else None,
                )
            )
        return out

    def reply(self, kind: CallbackKind) -> CallbackReply:
        return CallbackReply(200)
