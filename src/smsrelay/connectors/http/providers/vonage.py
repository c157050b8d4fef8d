"""Vonage SMS API (https://developer.vonage.com/en/api/sms).

Send: ``POST https://rest.nexmo.com/sms/json`` with a form body holding ``api_key``,
``api_secret``, ``from``, ``to`` (digits, no ``+``), ``text``, ``type=unicode`` for a text
outside GSM-7, ``callback`` (this message's delivery-report URL), ``client-ref`` (our message
id) and ``ttl`` (milliseconds left). Vonage splits a long text itself and answers one entry
per part, ``{"message-count", "messages": [{"status", "message-id", ...}]}``, always with
HTTP 200: ``status`` ``"0"`` is success, any other is the error
(https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms). Every part's
``message-id`` is a carrier id, and each part gets its own delivery receipt.

Callbacks come as GET (query), POST form or POST JSON, as set in Vonage's dashboard. With a
``signature_secret`` they are signed (https://developer.vonage.com/en/getting-started/
concepts/signing-messages): every parameter but ``sig``, sorted by name, written as
``&name=value`` with ``&`` and ``=`` in values replaced by ``_``; ``md5hash`` is the MD5 of
that string followed by the secret, ``md5``/``sha1``/``sha256``/``sha512`` the HMAC of it
keyed with the secret; hex, upper or lower case. The signed ``timestamp`` must be within
five minutes of our clock, so a captured callback cannot be replayed later. Without a
signature secret nothing is signed and the connector's token guards the URLs.

Receipt words: ``delivered``; ``expired``; ``failed`` (undelivered); ``rejected``;
``accepted`` and ``buffered`` are on the way; ``unknown`` says nothing final. Inbound
messages longer than one SMS come as parts (``concat-ref``, ``concat-total``,
``concat-part``); they are held here until every part has come and then handed on joined.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar
from urllib.parse import urlencode

from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackRefused,
    CallbackReply,
    ProviderCall,
    SendContext,
    failed,
    json_body,
    same_secret,
)
from smsrelay.connectors.http.providers.addresses import digits, e164
from smsrelay.connectors.options import VONAGE_SIGNATURE_METHODS, HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import (
    DeliveryReport,
    Encoding,
    InboundMessage,
    OutboundMessage,
    ReceiptStatus,
    SubmitOutcome,
)
from smsrelay.httpclient import HttpResponse

__all__ = ["SIGNATURE_METHODS", "Vonage", "vonage_signature"]

SIGNATURE_METHODS = VONAGE_SIGNATURE_METHODS
#: how far a signed callback's ``timestamp`` may be from our clock, either way (seconds)
MAX_SKEW = 300.0
MIN_TTL_MS, MAX_TTL_MS = 20_000, 604_800_000
#: inbound parts waiting for the rest of their message, at most this many messages
MAX_PENDING_CONCAT = 1000

# the send answer's status codes (troubleshooting guide, "SMS API error codes")
_ERRORS: dict[str, ErrorCode] = {
    "1": ErrorCode.CARRIER_THROTTLED,  # throttled: over the account's rate
    "2": ErrorCode.CARRIER_REJECTED,  # missing parameters
    "3": ErrorCode.CARRIER_REJECTED,  # invalid parameters
    "4": ErrorCode.CARRIER_AUTH_FAILED,  # invalid credentials
    "5": ErrorCode.CARRIER_SYSTEM_ERROR,  # internal error
    "6": ErrorCode.INVALID_DESTINATION,  # invalid message: unroutable destination
    "7": ErrorCode.CARRIER_REJECTED,  # number barred
    "8": ErrorCode.CARRIER_AUTH_FAILED,  # partner account barred
    "9": ErrorCode.CARRIER_AUTH_FAILED,  # partner quota violation: out of credit
    "10": ErrorCode.CARRIER_THROTTLED,  # too many existing binds
    "11": ErrorCode.CARRIER_AUTH_FAILED,  # account not enabled for HTTP
    "12": ErrorCode.CARRIER_REJECTED,  # message too long
    "14": ErrorCode.CARRIER_AUTH_FAILED,  # invalid signature
    "15": ErrorCode.INVALID_SENDER,  # invalid sender address
    "22": ErrorCode.CARRIER_REJECTED,  # invalid network code
    "23": ErrorCode.CARRIER_REJECTED,  # invalid callback URL
    "29": ErrorCode.CARRIER_REJECTED,  # non-whitelisted destination (trial account)
    "32": ErrorCode.CARRIER_AUTH_FAILED,  # signature and API secret disallowed
    "33": ErrorCode.INVALID_DESTINATION,  # number de-activated
}

_STATUS: dict[str, ReceiptStatus] = {
    "delivered": ReceiptStatus.DELIVERED,
    "expired": ReceiptStatus.EXPIRED,
    "failed": ReceiptStatus.UNDELIVERED,
    "rejected": ReceiptStatus.REJECTED,
    "accepted": ReceiptStatus.ACCEPTED,
    "buffered": ReceiptStatus.ACCEPTED,
    "unknown": ReceiptStatus.UNKNOWN,
}


def vonage_signature(params: Mapping[str, str], secret: str, method: str = "md5hash") -> str:
    """The lower-case hex signature Vonage computes over ``params`` (``sig`` left out)."""
    if method not in SIGNATURE_METHODS:
        raise ValueError(f"unknown signature_method {method!r}: use {', '.join(SIGNATURE_METHODS)}")
    payload = "".join(
        f"&{name}={params[name].replace('&', '_').replace('=', '_')}"
        for name in sorted(params)
        if name != "sig"
    ).encode()
    if method == "md5hash":
        return hashlib.md5(payload + secret.encode()).hexdigest()
    return hmac.new(secret.encode(), payload, method).hexdigest()


def callback_params(callback: Callback) -> dict[str, str]:
    """A callback's parameters, from the query, a form or a JSON object (scalars as text)."""
    params = callback.params
    if "json" in callback.headers.get("content-type", "") and callback.body:
        for key, value in callback.json_object().items():
            if isinstance(value, bool):
                params[key] = "true" if value else "false"
            elif isinstance(value, (str, int, float)):
                params[key] = str(value)
    return params


#: Our DLT fields → the SMS API's India parameters (no telemarketer id field).
DLT_FIELDS = {"entity_id": "entity-id", "template_id": "content-id"}


class Vonage:
    name: ClassVar[str] = "vonage"

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall  # for the signed timestamp's freshness
        # (from, concat-ref) -> total and the parts so far: a per-connector buffer
        self._concat: OrderedDict[tuple[str, str], tuple[int, dict[int, str]]] = OrderedDict()

    def signs(self, options: HttpOptions) -> bool:
        return bool(options.credentials.get("signature_secret"))

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        sender = context.sender(message, required_by="Vonage")
        form = {
            "api_key": context.credential("api_key"),
            "api_secret": context.credential("api_secret"),
            "from": digits(sender),
            "to": digits(message.to),
            "text": message.body,
            "callback": context.status_url,
            "client-ref": message.message_id[:100],
        }
        if message.encoding is Encoding.UCS2:
            form["type"] = "unicode"
        left = context.validity_left(message)
        if left is not None:
            form["ttl"] = str(min(max(int(left * 1000), MIN_TTL_MS), MAX_TTL_MS))
        form.update(context.registration_fields(message, DLT_FIELDS))
        return ProviderCall(
            "POST",
            f"{context.base_url}/sms/json",
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            urlencode(form).encode(),
        )

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        body = json_body(response)
        data = body if isinstance(body, dict) else {}
        parts = data.get("messages")
        if not 200 <= response.status < 300:
            return failed(response.status, f"Vonage {response.status}")
        if not isinstance(parts, list) or not parts:
            return failed(502, "Vonage answered without messages", ErrorCode.CARRIER_SYSTEM_ERROR)
        ids: list[str] = []
        for part in parts:
            status = str(part.get("status", "")) if isinstance(part, dict) else ""
            if status != "0":
                text = part.get("error-text", "") if isinstance(part, dict) else ""
                code = _ERRORS.get(status, ErrorCode.CARRIER_REJECTED)
                return failed(400, f"Vonage status {status}: {text}", code)
            message_id = part.get("message-id")
            if not isinstance(message_id, str) or not message_id:
                return failed(
                    502, "Vonage answered without a message-id", ErrorCode.CARRIER_SYSTEM_ERROR
                )
            ids.append(message_id)
        return SubmitOutcome(carrier_ids=tuple(ids))

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        secret = options.credentials.get("signature_secret", "")
        method = options.credentials.get("signature_method", "md5hash") or "md5hash"
        try:
            params = callback_params(callback)
        except CallbackRefused:
            return False
        given = params.get("sig", "").lower()
        if not secret or not given or method not in SIGNATURE_METHODS:
            return False
        try:
            stamp = float(params.get("timestamp", ""))
        except ValueError:
            return False
        if abs(self._wall() - stamp) > MAX_SKEW:
            return False
        return same_secret(given, vonage_signature(params, secret, method))

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        params = callback_params(callback)
        carrier_id = params.get("messageId") or params.get("message-id")
        word = params.get("status", "").lower()
        if not carrier_id or not word:
            return []
        err = params.get("err-code", "")
        error = f"vonage err-code {err}" if err and err != "0" else None
        raw = {"status": word}
        if err:
            raw["err_code"] = err
        status = _STATUS.get(word, ReceiptStatus.UNKNOWN)
        return [DeliveryReport(connector, carrier_id, status, now, error, raw=raw)]

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        params = callback_params(callback)
        sender, text = params.get("msisdn", ""), params.get("text")
        if not sender or text is None:
            return []
        to, carrier_id = params.get("to", ""), params.get("messageId")
        if params.get("concat", "").lower() == "true":
            joined = self._join(params, sender, text)
            if joined is None:
                return []
            text = joined
        return [InboundMessage(connector, e164(sender), e164(to), text, now, carrier_id)]

    def _join(self, params: Mapping[str, str], sender: str, text: str) -> str | None:
        """The whole text once every part of a concatenated message has come, else None."""
        try:
            total, part = int(params.get("concat-total", "")), int(params.get("concat-part", ""))
        except ValueError:
            return text  # parts we cannot place: hand this one on as it is
        if not 1 <= part <= total <= 255:
            return text
        key = (sender, params.get("concat-ref", ""))
        _, parts = self._concat.pop(key, (total, {}))
        parts[part] = text
        if len(parts) == total:
            return "".join(parts[n] for n in sorted(parts))
        self._concat[key] = (total, parts)
        while len(self._concat) > MAX_PENDING_CONCAT:
            self._concat.popitem(last=False)
        return None

    def reply(self, kind: CallbackKind) -> CallbackReply:
        return CallbackReply(204)
