"""A local Infobip: ``/sms/2/text/advanced``, its batched delivery reports and inbound messages.

From Infobip's public reference: ``POST /sms/2/text/advanced`` with ``Authorization: App
{api_key}`` and ``{"messages": [{"destinations": [{"to", "messageId"?}], "from", "text",
"notifyUrl", "callbackData", ...}]}``; a 200 answer ``{"bulkId", "messages": [{"to",
"messageId", "status": {"groupId": 1, "groupName": "PENDING", ...}}]}``, a destination that is
not a number refused inside it (group ``REJECTED``); errors as ``{"requestError":
{"serviceException": {"messageId", "text"}}}`` (401 ``UNAUTHORIZED``, 429
``TOO_MANY_REQUESTS``, 500 ``GENERAL_ERROR``). Reports are POSTed as JSON ``{"results":
[...]}``, several in one callback when they fall due together, as Infobip batches them;
inbound messages the same way with ``messageCount`` and ``pendingMessageCount``. Infobip
signs neither: the URLs it is given carry whatever secret the customer put in them.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeConfig, Outbound, ProviderFake, Sent

__all__ = ["InfobipFake"]

#: reports falling due within this long of the first go out together (seconds)
BATCH_WINDOW = 0.02

_PENDING = {
    "groupId": 1,
    "groupName": "PENDING",
    "id": 26,
    "name": "PENDING_ACCEPTED",
    "description": "Message sent to next instance",
}
_REJECTED = {
    "groupId": 5,
    "groupName": "REJECTED",
    "id": 52,
    "name": "REJECTED_DESTINATION",
    "description": "Invalid destination address",
}
_NO_ERROR = {
    "groupId": 0,
    "groupName": "OK",
    "id": 0,
    "name": "NO_ERROR",
    "description": "No Error",
    "permanent": False,
}
# our outcome -> Infobip's final status and error
_FINAL: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "delivered": (
        {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET"},
        _NO_ERROR,
    ),
    "undelivered": (
        {
            "groupId": 2,
            "groupName": "UNDELIVERABLE",
            "id": 9,
            "name": "UNDELIVERABLE_NOT_DELIVERED",
        },
        {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 27, "name": "EC_ABSENT_SUBSCRIBER"},
    ),
    "expired": (
        {"groupId": 4, "groupName": "EXPIRED", "id": 15, "name": "EXPIRED_EXPIRED"},
        _NO_ERROR,
    ),
    "rejected": (
        {"groupId": 5, "groupName": "REJECTED", "id": 6, "name": "REJECTED_NETWORK"},
        {"groupId": 2, "groupName": "USER_ERRORS", "id": 1, "name": "EC_UNKNOWN_SUBSCRIBER"},
    ),
}


def _error(status: int, name: str, text: str) -> JSONResponse:
    return JSONResponse(
        {"requestError": {"serviceException": {"messageId": name, "text": text}}}, status
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class InfobipFake(ProviderFake):
    name = "infobip"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        self.config.credentials.setdefault("api_key", "fake-infobip-api-key")
        self._callback_data: dict[str, str] = {}
        self._due: dict[str, list[Sent]] = {}

    def routes(self) -> list[Route]:
        return [Route("/sms/2/text/advanced", self._send, methods=["POST"])]

    async def _send(self, request: Request) -> Response:
        expected = f"App {self.config.credentials['api_key']}"
        if not hmac.compare_digest(request.headers.get("authorization", ""), expected):
            return _error(401, "UNAUTHORIZED", "Invalid login details")
        refusal = self.refuse()
        if refusal == "throttled":
            return _error(429, "TOO_MANY_REQUESTS", "Too many requests")
        if refusal == "error":
            return _error(500, "GENERAL_ERROR", "Something went wrong")
        try:
            messages = json.loads(await request.body())["messages"]
            assert isinstance(messages, list) and messages
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "BAD_REQUEST", "Bad request: send a messages list")
        answers: list[dict[str, Any]] = []
        for entry in messages:
            if not isinstance(entry, dict) or not entry.get("text"):
                return _error(400, "BAD_REQUEST", "Invalid message: text is required")
            for destination in entry.get("destinations") or []:
                to = str(destination.get("to", ""))
                if not to.isdigit() or not 7 <= len(to) <= 15:
                    answers.append({"to": to, "status": _REJECTED, "messageId": self.next_id()})
                    continue
                regional = entry.get("regional") or {}
                sent = self.accept(
                    to,
                    str(entry.get("from", "InfoSMS")),
                    entry["text"],
                    entry.get("notifyUrl", ""),
                    dlt=regional.get("indiaDlt") if isinstance(regional, dict) else None,
                )
                if entry.get("callbackData"):
                    self._callback_data[sent.id] = str(entry["callbackData"])
                answers.append({"to": to, "status": _PENDING, "messageId": sent.id})
        return JSONResponse({"bulkId": self.next_id(), "messages": answers})

    def _result(self, message: Sent, outcome: str) -> dict[str, Any]:
        status, error = _FINAL[outcome]
        result = {
            "bulkId": "",
            "messageId": message.id,
            "to": message.to,
            "sentAt": _stamp(),
            "doneAt": _stamp(),
            "smsCount": 1,
            "mccMnc": "22801",
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "status": {**status, "description": status["name"].replace("_", " ").title()},
            "error": {**error, "description": error["name"], "permanent": outcome != "delivered"},
        }
        if message.id in self._callback_data:
            result["callbackData"] = self._callback_data[message.id]
        return result

    def _post(self, url: str, payload: dict[str, Any]) -> Outbound:
        return Outbound(
            "POST", url, {"Content-Type": "application/json"}, json.dumps(payload).encode()
        )

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        return self._post(message.callback_url, {"results": [self._result(message, outcome)]})

    async def _report_later(self, message: Sent) -> None:
        await asyncio.sleep(self.config.dlr_delay_ms / 1000)
        due = self._due.setdefault(message.callback_url, [])
        due.append(message)
        if len(due) > 1:
            return  # the first report due for this URL sends them all
        await asyncio.sleep(BATCH_WINDOW)
        batch = self._due.pop(message.callback_url)
        results = [self._result(m, m.outcome) for m in batch]
        await self.deliver(self._post(message.callback_url, {"results": results}))

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        keyword, _, clean = text.partition(" ")
        result = {
            "messageId": message_id,
            "from": sender.lstrip("+"),
            "to": to.lstrip("+"),
            "text": text,
            "cleanText": clean,
            "keyword": keyword.upper(),
            "receivedAt": _stamp(),
            "smsCount": 1,
            "price": {"pricePerMessage": 0, "currency": "EUR"},
            "callbackData": None,
        }
        payload = {"results": [result], "messageCount": 1, "pendingMessageCount": 0}
        return self._post(self.config.inbound_url, payload)
