"""A local Twilio: the Messages resource, its status callbacks and inbound webhooks.

From Twilio's public reference: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with
HTTP Basic (the account SID and auth token) and a form body; a 201 answer with the Message
resource; errors as ``{"code", "message", "more_info", "status"}``; callbacks as forms signed
with ``X-Twilio-Signature`` (base64 HMAC-SHA1 under the auth token of the URL followed by
each parameter's name and value, in name order). A send first reports ``sent`` and then its
final status, as Twilio does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeConfig, Outbound, ProviderFake, Sent

__all__ = ["TwilioFake", "sign"]

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# our outcome -> Twilio's final MessageStatus and ErrorCode
_FINAL = {
    "delivered": ("delivered", ""),
    "undelivered": ("undelivered", "30003"),
    "expired": ("failed", "30001"),
    "rejected": ("undelivered", "30007"),
}


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature."""
    payload = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status,
    )


class TwilioFake(ProviderFake):
    name = "twilio"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        self.config.credentials.setdefault("account_sid", "AC00000000000000000000000000000000")
        self.config.credentials.setdefault("auth_token", "fake-auth-token")

    def routes(self) -> list[Route]:
        return [Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"])]

    def _authorized(self, request: Request) -> bool:
        sid, token = self.config.credentials["account_sid"], self.config.credentials["auth_token"]
        expected = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
        return hmac.compare_digest(request.headers.get("authorization", ""), expected) and (
            request.path_params["sid"] == sid
        )

    async def _create(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        refusal = self.refuse()
        if refusal == "throttled":
            return _error(429, 20429, "Too Many Requests")
        if refusal == "error":
            return _error(500, 20500, "Internal Server Error")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        to = form.get("To", "")
        sender = form.get("From") or form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        if not _E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender:
            return _error(400, 21604, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        message = self.accept(to, sender, body, form.get("StatusCallback", ""), "SM")
        segments = max(1, -(-len(body) // 153)) if len(body) > 160 else 1
        return JSONResponse(
            {
                "sid": message.id,
                "account_sid": self.config.credentials["account_sid"],
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status": "queued",
                "num_segments": str(segments),
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{message.id}/Messages/{message.id}.json",
            },
            201,
        )

    def _signed_form(self, url: str, params: dict[str, str]) -> Outbound:
        signature = sign(self.config.credentials["auth_token"], url, params)
        return Outbound(
            "POST",
            url,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                "User-Agent": "TwilioProxy/1.1",
            },
            urlencode(params).encode(),
        )

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        status, error = _FINAL[outcome]
        params = {
            "MessageSid": message.id,
            "SmsSid": message.id,
            "SmsStatus": status,
            "MessageStatus": status,
            "AccountSid": self.config.credentials["account_sid"],
            "From": message.sender,
            "To": message.to,
            "ApiVersion": "2010-04-01",
        }
        if error:
            params["ErrorCode"] = error
        return self._signed_form(message.callback_url, params)

    async def _report_later(self, message: Sent) -> None:
        sent = {
            "MessageSid": message.id,
            "SmsSid": message.id,
            "SmsStatus": "sent",
            "MessageStatus": "sent",
            "AccountSid": self.config.credentials["account_sid"],
            "From": message.sender,
            "To": message.to,
            "ApiVersion": "2010-04-01",
        }
        await self.deliver(self._signed_form(message.callback_url, sent))
        await super()._report_later(message)

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        sid = "SM" + message_id
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": text,
            "To": to,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.config.credentials["account_sid"],
            "From": sender,
            "ApiVersion": "2010-04-01",
        }
        return self._signed_form(self.config.inbound_url, params)
