"""Twilio Programmable Messaging (https://www.twilio.com/docs/messaging/api/message-resource).

Send: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP Basic with the account
SID and auth token, a form body with ``To``, ``From`` (or ``MessagingServiceSid`` for a
sender starting ``MG``), ``Body``, ``StatusCallback`` and ``ValidityPeriod`` (seconds, at
most 36,000). Twilio splits and encodes long texts itself, so the whole body goes in one
call and the answer's ``sid`` is the message's one id; its status callbacks name that id.

Errors come as ``{"code", "message", "status"}``
(https://www.twilio.com/docs/api/errors): the code decides where the status alone would not.

Callbacks (status and inbound) are forms signed with ``X-Twilio-Signature``: base64 of
HMAC-SHA1, keyed with the auth token, over the URL Twilio called followed by every POST
parameter's name and value in name order
(https://www.twilio.com/docs/usage/webhooks/webhooks-security). Twilio's own validators
also accept the URL with its default port added or removed, and so do we. Status words
(https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks):
``delivered`` and ``read`` are delivered, ``undelivered`` is undelivered, ``failed`` and
``canceled`` are rejected, the rest (``accepted``, ``queued``, ``sending``, ``sent``,
``scheduled``) are on the way. Inbound callbacks are answered with an empty TwiML document,
so Twilio sends no reply of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackReply,
    ProviderCall,
    SendContext,
    basic_auth,
    failed,
    json_body,
    same_secret,
)
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

MAX_VALIDITY = 36_000

_ERRORS: dict[int, ErrorCode] = {
    20003: ErrorCode.CARRIER_AUTH_FAILED,  # authentication failed
    20005: ErrorCode.CARRIER_AUTH_FAILED,  # account not active
    20429: ErrorCode.CARRIER_THROTTLED,  # too many requests
    14107: ErrorCode.CARRIER_THROTTLED,  # SMS send rate limit exceeded
    21211: ErrorCode.INVALID_DESTINATION,  # invalid 'To' phone number
    21217: ErrorCode.INVALID_DESTINATION,  # phone number does not appear to be valid
    21401: ErrorCode.INVALID_DESTINATION,  # invalid phone number
    21407: ErrorCode.INVALID_DESTINATION,  # this phone number type does not support SMS
    21612: ErrorCode.INVALID_DESTINATION,  # cannot route to this number
    21614: ErrorCode.INVALID_DESTINATION,  # 'To' number is not a valid mobile number
    21610: ErrorCode.RECIPIENT_OPTED_OUT,  # the recipient replied STOP
}

_STATUS: dict[str, ReceiptStatus] = {
    "delivered": ReceiptStatus.DELIVERED,
    "read": ReceiptStatus.DELIVERED,
    "undelivered": ReceiptStatus.UNDELIVERED,
    "failed": ReceiptStatus.REJECTED,
    "canceled": ReceiptStatus.REJECTED,
}

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The ``X-Twilio-Signature`` Twilio computes for a request to ``url`` with ``params``."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its default port, and with it (as Twilio's validators)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    variants = [url]
    if parts.port is None and default is not None:
        netloc = f"{prefix}{host}:{default}"
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return variants


class Twilio:
    name: ClassVar[str] = "twilio"

    def signs(self, options: HttpOptions) -> bool:
        return True

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        sid = context.credential("account_sid")
        sender = context.sender(message, required_by="Twilio")
        form = {"To": message.to, "Body": message.body, "StatusCallback": context.status_url}
        form["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
        left = context.validity_left(message)
        if left is not None and left >= 1:
            form["ValidityPeriod"] = str(min(int(left), MAX_VALIDITY))
        return ProviderCall(
            "POST",
            f"{context.base_url}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json",
            {
                "Authorization": basic_auth(sid, context.credential("auth_token")),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            urlencode(form).encode(),
        )

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        body = json_body(response)
        data = body if isinstance(body, dict) else {}
        if 200 <= response.status < 300 and isinstance(data.get("sid"), str):
            return SubmitOutcome(carrier_ids=(data["sid"],))
        code = data.get("code")
        detail = f"Twilio {response.status}"
        if code is not None:
            detail += f" error {code}: {data.get('message', '')}"
        known = _ERRORS.get(code) if isinstance(code, int) else None
        if 200 <= response.status < 300:
            return failed(502, "Twilio answered without a sid", ErrorCode.CARRIER_SYSTEM_ERROR)
        return failed(response.status, detail, known)

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        given = callback.headers.get("x-twilio-signature", "")
        if not given:
            return False
        token = options.credentials.get("auth_token", "")
        params = callback.form if callback.method == "POST" else {}
        return any(
            same_secret(given, twilio_signature(token, url, params))
            for url in _url_variants(callback.url)
        )

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        params = callback.params
        sid = params.get("MessageSid") or params.get("SmsSid")
        word = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not word:
            return []
        error = params.get("ErrorCode") or None
        return [
            DeliveryReport(
                connector=connector,
                carrier_id=sid,
                status=_STATUS.get(word, ReceiptStatus.ACCEPTED),
                at=now,
                error=f"twilio {error}" if error else None,
                raw={"status": word, **({"error_code": error} if error else {})},
            )
        ]

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        params = callback.params
        if not params.get("From") or "Body" not in params:
            return []
        return [
            InboundMessage(
                connector=connector,
                sender=params["From"],
                to=params.get("To", ""),
                body=params["Body"],
                received_at=now,
                carrier_id=params.get("MessageSid") or params.get("SmsMessageSid"),
            )
        ]

    def reply(self, kind: CallbackKind) -> CallbackReply:
        if kind == "inbound":
            return CallbackReply(200, EMPTY_TWIML, "text/xml")
        return CallbackReply(204)
