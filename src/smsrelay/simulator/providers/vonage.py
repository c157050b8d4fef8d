"""A local Vonage SMS API: ``/sms/json``, its delivery receipts and inbound messages.

From Vonage's public reference: ``POST /sms/json`` (form or JSON, or GET with a query) with
``api_key`` and ``api_secret`` among the parameters; the answer is always HTTP 200 with one
entry per part, ``{"message-count", "messages": [{"status", "message-id", "to", ...}]}``,
``status`` ``"0"`` for success and a code with ``error-text`` otherwise (``"1"`` throttled,
``"4"`` bad credentials, ``"5"`` internal error). Each part gets a delivery receipt at the
request's ``callback`` URL, first ``accepted`` and then its final word. Receipts and inbound
messages are POSTed as JSON by default (``callback_method`` ``GET`` or ``POST`` for a query or
form, as Vonage's dashboard offers); with a ``signature_secret`` they carry ``timestamp``,
``nonce`` and ``sig`` (see :func:`sign`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeConfig, Outbound, ProviderFake, Sent

__all__ = ["VonageFake", "sign"]

# our outcome -> Vonage's final receipt status and err-code
_FINAL = {
    "delivered": ("delivered", "0"),
    "undelivered": ("failed", "1"),  # unknown error from the carrier
    "expired": ("expired", "5"),  # "expired" in the err-code table
    "rejected": ("rejected", "6"),  # "anti-spam rejection"
}


def sign(params: dict[str, str], secret: str, method: str = "md5hash") -> str:
    """Vonage's signature of a request: sorted ``&k=v`` pairs, ``&``/``=`` in values made
    ``_``; MD5 of that plus the secret (``md5hash``) or its HMAC under the secret. Upper-case
    hex, as Vonage's servers send it."""
    text = "".join(
        "&" + key + "=" + params[key].replace("&", "_").replace("=", "_")
        for key in sorted(params)
        if key != "sig"
    )
    if method == "md5hash":
        digest = hashlib.md5((text + secret).encode()).hexdigest()
    else:
        digest = hmac.new(secret.encode(), text.encode(), getattr(hashlib, method)).hexdigest()
    return digest.upper()


def _answer(status: str, text: str, to: str = "") -> JSONResponse:
    entry = {"status": status, "error-text": text}
    if to:
        entry["to"] = to
    return JSONResponse({"message-count": "1", "messages": [entry]})


def _parts(text: str, unicode: bool) -> list[str]:
    single, multi = (70, 67) if unicode else (160, 153)
    if len(text) <= single:
        return [text]
    return [text[i : i + multi] for i in range(0, len(text), multi)]


class VonageFake(ProviderFake):
    name = "vonage"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        self.config.credentials.setdefault("api_key", "fakekey1")
        self.config.credentials.setdefault("api_secret", "fake-api-secret")
        # signature_secret / signature_method / callback_method as the account is set up

    def routes(self) -> list[Route]:
        return [Route("/sms/json", self._send, methods=["GET", "POST"])]

    async def _params(self, request: Request) -> dict[str, str]:
        params = dict(request.query_params)
        body = await request.body()
        if "json" in request.headers.get("content-type", ""):
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            if isinstance(data, dict):
                params.update({k: str(v) for k, v in data.items()})
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return params

    async def _send(self, request: Request) -> Response:
        params = await self._params(request)
        key, secret = self.config.credentials["api_key"], self.config.credentials["api_secret"]
        if not (
            hmac.compare_digest(params.get("api_key", ""), key)
            and hmac.compare_digest(params.get("api_secret", ""), secret)
        ):
            return _answer("4", "Bad Credentials")
        refusal = self.refuse()
        if refusal == "throttled":
            return _answer("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry")
        if refusal == "error":
            return _answer("5", "Internal Error")
        to, sender, text = params.get("to", ""), params.get("from", ""), params.get("text", "")
        if not to or not sender or not text:
            return _answer("2", "Missing from, to or text")
        if not to.isdigit() or not 7 <= len(to) <= 15:
            return _answer("6", "Invalid Message: unroutable destination", to)
        unicode = params.get("type") == "unicode"
        if not unicode and any(ord(c) > 0xFF for c in text):
            return _answer("3", "Invalid text: use type=unicode")
        callback = params.get("callback", "")
        entries = []
        for part in _parts(text, unicode):
            dlt: dict[str, str] = {k: params[k] for k in ("entity-id", "content-id") if k in params}
            message = self.accept(to, sender, part, callback, dlt=dlt)
            entries.append(
                {
                    "to": to,
                    "message-id": message.id,
                    "status": "0",
                    "remaining-balance": "3.14159265",
                    "message-price": "0.03330000",
                    "network": "12345",
                    "client-ref": params.get("client-ref", ""),
                }
            )
        return JSONResponse({"message-count": str(len(entries)), "messages": entries})

    def _callback(self, url: str, params: dict[str, str]) -> Outbound:
        secret = self.config.credentials.get("signature_secret", "")
        if secret:
            params["timestamp"] = str(int(time.time()))
            params["nonce"] = str(uuid.uuid4())
            method = self.config.credentials.get("signature_method", "md5hash")
            params["sig"] = sign(params, secret, method)
        how = self.config.credentials.get("callback_method", "POST-JSON").upper()
        if how == "GET":
            joiner = "&" if "?" in url else "?"
            return Outbound("GET", url + joiner + urlencode(params), {})
        if how == "POST":
            return Outbound(
                "POST",
                url,
                {"Content-Type": "application/x-www-form-urlencoded"},
                urlencode(params).encode(),
            )
        return Outbound(
            "POST", url, {"Content-Type": "application/json"}, json.dumps(params).encode()
        )

    def _receipt(self, message: Sent, status: str, err: str) -> Outbound:
        now = datetime.now(UTC)
        params = {
            "msisdn": message.to,
            "to": message.sender,
            "network-code": "12345",
            "messageId": message.id,
            "price": "0.03330000",
            "status": status,
            "scts": now.strftime("%y%m%d%H%M"),
            "err-code": err,
            "api-key": self.config.credentials["api_key"],
            "message-timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
        }
        return self._callback(message.callback_url, params)

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        return self._receipt(message, *_FINAL[outcome])

    async def _report_later(self, message: Sent) -> None:
        await self.deliver(self._receipt(message, "accepted", "0"))
        await super()._report_later(message)

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        params = {
            "msisdn": sender.lstrip("+"),
            "to": to.lstrip("+"),
            "messageId": message_id,
            "text": text,
            "type": "unicode" if any(ord(c) > 0xFF for c in text) else "text",
            "keyword": (text.split() or [""])[0].upper(),
            "api-key": self.config.credentials["api_key"],
            "message-timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        return self._callback(self.config.inbound_url, params)
