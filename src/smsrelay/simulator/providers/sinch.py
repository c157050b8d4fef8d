"""A local Sinch SMS REST API: batches, per-recipient delivery reports, inbound messages.

From Sinch's public reference: ``POST /xms/v1/{service_plan_id}/batches`` with
``Authorization: Bearer {api_token}`` and ``{"from", "to": [...], "body",
"delivery_report", "callback_url", "client_reference"?}``; a 201 answer with the batch
(``id``, ``to``, ``from``, ``body``, ``type: "mt_text"``, ``created_at``, ...); errors as
``{"code", "text"}`` (401 ``unauthorized``, 400 ``syntax_constraint_violation``, 429
``too_many_requests``, 500 ``internal_error``). With ``delivery_report`` ``per_recipient``
each recipient's report (``recipient_delivery_report_sms``) is POSTed as JSON to the batch's
``callback_url``, first ``Dispatched`` and then its final status (``per_recipient_final``:
only the final one). Inbound messages are POSTed as ``mo_text``. Nothing is signed.
"""

from __future__ import annotations

import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeConfig, Outbound, ProviderFake, Sent

__all__ = ["SinchFake"]

_NUMBER = re.compile(r"^\+?[1-9]\d{6,14}$")

# our outcome -> Sinch's final status and code (the delivery report error codes)
_FINAL = {
    "delivered": ("Delivered", 0),
    "undelivered": ("Failed", 404),  # temporary delivery failure
    "expired": ("Expired", 406),  # internal expiry
    "rejected": ("Rejected", 408),  # internal reject
}


def _error(status: int, code: str, text: str) -> JSONResponse:
    return JSONResponse({"code": code, "text": text}, status)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SinchFake(ProviderFake):
    name = "sinch"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        self.config.credentials.setdefault("service_plan_id", "fakeplan0000000000000000000000")
        self.config.credentials.setdefault("api_token", "fake-sinch-api-token")
        self._batches: dict[str, tuple[str, str, str]] = {}  # message -> batch, report, ref

    def routes(self) -> list[Route]:
        return [Route("/xms/v1/{plan}/batches", self._send, methods=["POST"])]

    async def _send(self, request: Request) -> Response:
        plan, token = (
            self.config.credentials["service_plan_id"],
            self.config.credentials["api_token"],
        )
        if not (
            hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}")
            and request.path_params["plan"] == plan
        ):
            return _error(401, "unauthorized", "Unauthorized")
        refusal = self.refuse()
        if refusal == "throttled":
            return _error(429, "too_many_requests", "Too many requests")
        if refusal == "error":
            return _error(500, "internal_error", "Internal error")
        try:
            batch = json.loads(await request.body())
            recipients, body = batch["to"], batch["body"]
            assert isinstance(recipients, list) and recipients and isinstance(body, str)
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "syntax_invalid_json", "The JSON body is not a valid batch")
        for number in recipients:
            if not isinstance(number, str) or not _NUMBER.match(number):
                return _error(
                    400,
                    "syntax_constraint_violation",
                    f"Recipient {number!r} is not a valid MSISDN",
                )
        report = str(batch.get("delivery_report", "none"))
        callback = str(batch.get("callback_url", "")) if report.startswith("per_recipient") else ""
        sender = str(batch.get("from", "12345"))
        reference = str(batch.get("client_reference", ""))
        batch_id = ""
        for number in recipients:
            sent = self.accept(number.lstrip("+"), sender, body, callback)
            batch_id = batch_id or sent.id
            self._batches[sent.id] = (batch_id, report, reference)
        now = _stamp()
        answer: dict[str, Any] = {
            "id": batch_id,
            "to": [n.lstrip("+") for n in recipients],
            "from": sender,
            "canceled": False,
            "body": body,
            "type": "mt_text",
            "created_at": now,
            "modified_at": now,
            "delivery_report": report,
            "flash_message": False,
        }
        if reference:
            answer["client_reference"] = reference
        return JSONResponse(answer, 201)

    def _report(self, message: Sent, status: str, code: int) -> Outbound:
        batch_id, _, reference = self._batches.get(message.id, (message.id, "", ""))
        payload: dict[str, Any] = {
            "type": "recipient_delivery_report_sms",
            "batch_id": batch_id,
            "recipient": message.to,
            "code": code,
            "status": status,
            "at": _stamp(),
            "operator_status_at": _stamp(),
        }
        if reference:
            payload["client_reference"] = reference
        return Outbound(
            "POST",
            message.callback_url,
            {"Content-Type": "application/json"},
            json.dumps(payload).encode(),
        )

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        return self._report(message, *_FINAL[outcome])

    async def _report_later(self, message: Sent) -> None:
        if self._batches.get(message.id, ("", "", ""))[1] == "per_recipient":
            await self.deliver(self._report(message, "Dispatched", 401))
        await super()._report_later(message)

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        payload = {
            "type": "mo_text",
            "id": message_id,
            "from": sender.lstrip("+"),
            "to": to.lstrip("+"),
            "body": text,
            "operator_id": "31000",
            "received_at": _stamp(),
        }
        return Outbound(
            "POST",
            self.config.inbound_url,
            {"Content-Type": "application/json"},
            json.dumps(payload).encode(),
        )
