"""Plivo Messaging (https://www.plivo.com/docs/messaging/api/message/send-a-message).

Send: ``POST /v1/Account/{auth_id}/Message/`` with HTTP Basic (the auth id and auth token)
and a JSON body with ``src`` (or ``powerpack_uuid`` for a sender that is a Powerpack's
UUID), ``dst`` (the number's digits: Plivo strips ``+`` anyway), ``text``, ``type`` ``sms``,
``url`` and ``method`` ``POST`` (where and how its status callbacks come) and
``message_expiry`` (seconds left, 5 to 10,799, where the message expires). Plivo splits and
encodes long texts itself; the 202 answer ``{"api_id", "message": "message(s) queued",
"message_uuid": ["..."]}`` holds one UUID per destination, and we send to one.

Errors come as ``{"api_id", "error": "..."}`` with 400 (a parameter missing or invalid),
401, 404, 429 and 5xx (https://www.plivo.com/docs/messaging/api/response); a 400 that names
``dst`` is an invalid destination, permanent.

Callbacks (status: https://www.plivo.com/docs/messaging/api/message/message-status-callbacks;
inbound: the application's ``message_url``, with ``From``, ``To``, ``Text``, ``Type`` and
``MessageUUID``) are forms for POST and query parameters for GET, signed with
``X-Plivo-Signature-V3`` and ``X-Plivo-Signature-V3-Nonce``
(https://www.plivo.com/docs/messaging/concepts/signature-validation): base64 of HMAC-SHA256,
keyed with the auth token, over ``{url}.{nonce}``, where ``url`` is the URL Plivo called
with its query parameters sorted (``?a=1&b=2``) and, for a POST, followed by the body's
parameters sorted, each name then value with nothing between (``?`` or ``.`` separating, as
Plivo's SDKs build it). The header may carry several signatures, comma-separated (while
keys rotate); any one valid will do.

Status words: ``queued`` and ``sent`` are on the way; ``delivered`` (and ``read``) are
delivered; ``undelivered`` is undelivered; ``failed`` and ``rejected`` are rejected, but a
``failed`` with error 420 is a message that expired in Plivo's queue.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

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
from smsrelay.connectors.http.providers.addresses import UUID, digits
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

__all__ = ["Plivo", "plivo_signature_v3", "signed_url"]

_MIN_EXPIRY, _MAX_EXPIRY = 5, 10_799

_STATUS: dict[str, ReceiptStatus] = {
    "delivered": ReceiptStatus.DELIVERED,
    "read": ReceiptStatus.DELIVERED,
    "undelivered": ReceiptStatus.UNDELIVERED,
    "failed": ReceiptStatus.REJECTED,
    "rejected": ReceiptStatus.REJECTED,
}

# delivery error codes (https://www.plivo.com/docs/messaging/troubleshooting/error-codes)
# that say more than the status word: 420 is "expired in Plivo's queue"
_STATUS_BY_ERROR: dict[str, ReceiptStatus] = {"420": ReceiptStatus.EXPIRED}

# "000" (or nothing) is Plivo's error code of a message without error
_NO_ERROR = frozenset({"", "0", "000"})

# a 400 whose error names the destination parameter
_BAD_DESTINATION = re.compile(r"\bdst\b|destination", re.IGNORECASE)

EMPTY_XML = b'<?xml version="1.0" encoding="utf-8"?><Response></Response>'


def _sorted_query(params: Mapping[str, list[str]]) -> str:
    return "&".join(f"{name}={value}" for name in sorted(params) for value in sorted(params[name]))


def signed_url(method: str, url: str, params: Mapping[str, str]) -> str:
    """The text Plivo signs for a request to ``url`` (before ``.{nonce}``).

    ``params`` are the POST body's parameters ({} for a GET, whose parameters are in the
    URL). The URL keeps its scheme, host (and port, as called) and path; its query
    parameters are decoded and sorted. A POST with parameters always gets the ``?``, a
    ``.`` after a non-empty query, and then each body parameter's name and value in name
    order.
    """
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query = _sorted_query(parse_qs(parts.query, keep_blank_values=True))
    if method.upper() != "POST" or not params:
        return f"{base}?{query}" if query else base
    body = "".join(f"{name}{params[name]}" for name in sorted(params))
    return f"{base}?{query}.{body}" if query else f"{base}?{body}"


def plivo_signature_v3(
    auth_token: str, method: str, url: str, params: Mapping[str, str], nonce: str
) -> str:
    """The ``X-Plivo-Signature-V3`` Plivo computes for this request and nonce."""
    message = f"{signed_url(method, url, params)}.{nonce}".encode()
    digest = hmac.new(auth_token.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


#: Our DLT fields → Plivo's Message API parameters. Plivo has no telemarketer id field, and
#: ``dlt_template_category`` is a category we do not know (our ``kind`` is not the same
#: split), so neither is sent.
DLT_FIELDS = {"entity_id": "dlt_entity_id", "template_id": "dlt_template_id"}


class Plivo:
    name: ClassVar[str] = "plivo"

    def signs(self, options: HttpOptions) -> bool:
        return True

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        auth_id = context.credential("auth_id")
        sender = context.sender(message, required_by="Plivo")
        body: dict[str, Any] = {
            "dst": digits(message.to),
            "text": message.body,
            "type": "sms",
            "url": context.status_url,
            "method": "POST",
        }
        if UUID.match(sender):
            body["powerpack_uuid"] = sender
        else:
            body["src"] = sender
        left = context.validity_left(message)
        if left is not None and left >= 1:
            body["message_expiry"] = max(_MIN_EXPIRY, min(int(left), _MAX_EXPIRY))
        body.update(context.registration_fields(message, DLT_FIELDS))
        return ProviderCall(
            "POST",
            f"{context.base_url}/v1/Account/{quote(auth_id, safe='')}/Message/",
            {
                "Authorization": basic_auth(auth_id, context.credential("auth_token")),
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json.dumps(body, ensure_ascii=False).encode(),
        )

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        body = json_body(response)
        data = body if isinstance(body, dict) else {}
        if 200 <= response.status < 300:
            uuids = data.get("message_uuid")
            if isinstance(uuids, list) and uuids and all(isinstance(u, str) for u in uuids):
                return SubmitOutcome(carrier_ids=(uuids[0],))
            return failed(
                502, "Plivo answered without a message_uuid", ErrorCode.CARRIER_SYSTEM_ERROR
            )
        error = data.get("error")
        text = error if isinstance(error, str) else json.dumps(error) if error else ""
        detail = f"Plivo {response.status}" + (f": {text}" if text else "")
        known = None
        if response.status == 400 and _BAD_DESTINATION.search(text):
            known = ErrorCode.INVALID_DESTINATION
        return failed(response.status, detail, known)

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        given = callback.headers.get("x-plivo-signature-v3", "")
        nonce = callback.headers.get("x-plivo-signature-v3-nonce", "")
        if not given or not nonce:
            return False
        token = options.credentials.get("auth_token", "")
        params = callback.form if callback.method == "POST" else {}
        expected = plivo_signature_v3(token, callback.method, callback.url, params, nonce)
        return any(same_secret(one.strip(), expected) for one in given.split(","))

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        params = callback.params
        uuid = params.get("MessageUUID")
        word = params.get("Status", "").lower()
        if not uuid or not word:
            return []
        error = params.get("ErrorCode", "").strip()
        error = "" if error in _NO_ERROR else error
        status = _STATUS.get(word, ReceiptStatus.ACCEPTED)
        if status is not ReceiptStatus.DELIVERED and error in _STATUS_BY_ERROR:
            status = _STATUS_BY_ERROR[error]
        return [
            DeliveryReport(
                connector=connector,
                carrier_id=uuid,
                status=status,
                at=now,
                error=f"plivo {error}" if error else None,
                raw={"status": word, **({"error_code": error} if error else {})},
            )
        ]

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        params = callback.params
        if not params.get("From") or "Text" not in params:
            return []
        return [
            InboundMessage(
                connector=connector,
                sender=params["From"],
                to=params.get("To", ""),
                body=params["Text"],
                received_at=now,
                carrier_id=params.get("MessageUUID") or None,
            )
        ]

    def reply(self, kind: CallbackKind) -> CallbackReply:
        if kind == "inbound":  # an empty Plivo XML document: no reply message
            return CallbackReply(200, EMPTY_XML, "application/xml")
        return CallbackReply(200, b"")
