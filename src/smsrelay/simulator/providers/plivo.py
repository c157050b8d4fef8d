"""A local Plivo: the Message resource, its status callbacks and inbound messages.

From Plivo's public reference: ``POST /v1/Account/{auth_id}/Message/`` with HTTP Basic (the
auth id and auth token) and a JSON body (``src`` or ``powerpack_uuid``, ``dst``, ``text``,
``url``, ``method``); a 202 answer ``{"api_id", "message": "message(s) queued",
"message_uuid": [...]}``; errors as ``{"api_id", "error"}``. Status callbacks go to ``url``
as a form (POST) or query parameters (GET, when ``method`` says so): ``queued``, ``sent``,
then the final status, as Plivo reports them. Inbound messages go to the inbound URL as a
form with ``From``, ``To``, ``Text``, ``Type`` and ``MessageUUID``. Every callback is signed
the V3 way: ``X-Plivo-Signature-V3`` is base64 HMAC-SHA256 under the auth token of the URL
(query parameters sorted; for a POST, then the form's names and values sorted) followed by
``.`` and the ``X-Plivo-Signature-V3-Nonce``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeConfig, Outbound, ProviderFake, Sent

__all__ = ["PlivoFake", "sign"]

_NUMBER = re.compile(r"^[1-9]\d{6,14}$")

# our outcome -> Plivo's final Status and ErrorCode
_FINAL = {
    "delivered": ("delivered", "000"),
    "undelivered": ("undelivered", "80"),  # destination temporarily unavailable
    "expired": ("failed", "420"),  # expired in Plivo's queue
    "rejected": ("rejected", "100"),  # prohibited by the carrier
}


def sign(auth_token: str, method: str, url: str, params: dict[str, str], nonce: str) -> str:
    """Plivo's V3 signature of a callback to ``url`` carrying ``params``."""
    parts = urlsplit(url)
    text = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query = parse_qs(parts.query, keep_blank_values=True)
    pairs = [f"{k}={v}" for k in sorted(query) for v in sorted(query[k])]
    if method == "POST" and params:
        text += "?" + "&".join(pairs) + ("." if pairs else "")
        text += "".join(k + params[k] for k in sorted(params))
    elif pairs:
        text += "?" + "&".join(pairs)
    digest = hmac.new(auth_token.encode(), f"{text}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class PlivoFake(ProviderFake):
    name = "plivo"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        self.config.credentials.setdefault("auth_id", "MAFAKE0000000000000A")
        self.config.credentials.setdefault("auth_token", "fake-auth-token")
        self._methods: dict[str, str] = {}  # message id -> the method its callbacks use

    def routes(self) -> list[Route]:
        return [Route("/v1/Account/{auth_id}/Message/", self._create, methods=["POST"])]

    def _api_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_id(self, prefix: str = "") -> str:
        return prefix + str(uuid.UUID(int=self.rng.getrandbits(128), version=1))

    def _error(self, status: int, error: str) -> JSONResponse:
        return JSONResponse({"api_id": self._api_id(), "error": error}, status)

    def _authorized(self, request: Request) -> bool:
        auth_id, token = self.config.credentials["auth_id"], self.config.credentials["auth_token"]
        expected = "Basic " + base64.b64encode(f"{auth_id}:{token}".encode()).decode()
        return hmac.compare_digest(request.headers.get("authorization", ""), expected) and (
            request.path_params["auth_id"] == auth_id
        )

    async def _create(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "authentication failed")
        refusal = self.refuse()
        if refusal == "throttled":
            return self._error(429, "too many requests")
        if refusal == "error":
            return self._error(500, "internal server error")
        raw = await request.body()
        try:
            if "json" in request.headers.get("content-type", ""):
                body = json.loads(raw)
            else:
                body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            return self._error(400, "the request body is not valid JSON")
        dst = re.sub(r"[\s/\-.+()]", "", str(body.get("dst", "")))
        src = str(body.get("src") or body.get("powerpack_uuid") or "")
        text = body.get("text")
        if not _NUMBER.match(dst):
            return self._error(400, f"invalid dst parameter: {body.get('dst')!r}")
        if not src:
            return self._error(400, "either src or powerpack_uuid is required")
        if not isinstance(text, str) or not text:
            return self._error(400, "text parameter is required")
        method = str(body.get("method", "POST")).upper()
        dlt = {k: str(v) for k, v in body.items() if k.startswith("dlt_")}
        message = self.accept("+" + dst, src, text, str(body.get("url", "")), dlt=dlt)
        self._methods[message.id] = "GET" if method == "GET" else "POST"
        return JSONResponse(
            {
                "api_id": self._api_id(),
                "message": "message(s) queued",
                "message_uuid": [message.id],
            },
            202,
        )

    def _signed(self, method: str, url: str, params: dict[str, str]) -> Outbound:
        nonce = str(self.rng.getrandbits(64)).zfill(20)
        token = self.config.credentials["auth_token"]
        headers = {"X-Plivo-Signature-V3-Nonce": nonce, "User-Agent": "PlivoHTTP"}
        if method == "GET":
            parts = urlsplit(url)
            query = "&".join(filter(None, [parts.query, urlencode(params)]))
            url = urlunsplit(parts._replace(query=query))
            signature = sign(token, "GET", url, {}, nonce)
            body = b""
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            signature = sign(token, "POST", url, params, nonce)
            body = urlencode(params).encode()
        headers["X-Plivo-Signature-V3"] = signature
        headers["X-Plivo-Signature-Ma-V3"] = signature
        return Outbound(method, url, headers, body)

    def _status(self, message: Sent, status: str, error: str, sequence: int) -> Outbound:
        units = max(1, -(-len(message.text) // 153)) if len(message.text) > 160 else 1
        params = {
            "MessageUUID": message.id,
            "ParentMessageUUID": message.id,
            "PartInfo": "1 of 1",
            "From": message.sender.lstrip("+"),
            "To": message.to.lstrip("+"),
            "Type": "sms",
            "Status": status,
            "Units": str(units),
            "TotalRate": "0.00500",
            "TotalAmount": f"{0.005 * units:.5f}",
            "MCC": "310",
            "MNC": "260",
            "Sequence": str(sequence),
        }
        if status in ("failed", "undelivered", "rejected", "delivered"):
            params["ErrorCode"] = error
        method = self._methods.get(message.id, "POST")
        return self._signed(method, message.callback_url, params)

    def status_callback(self, message: Sent, outcome: str) -> Outbound:
        status, error = _FINAL[outcome]
        return self._status(message, status, error, 3)

    async def _report_later(self, message: Sent) -> None:
        await self.deliver(self._status(message, "queued", "", 1))
        await self.deliver(self._status(message, "sent", "", 2))
        await super()._report_later(message)

    def inbound_callback(self, sender: str, to: str, text: str, message_id: str) -> Outbound:
        params = {
            "From": sender.lstrip("+"),
            "To": to.lstrip("+"),
            "Text": text,
            "Type": "sms",
            "MessageUUID": message_id,
            "Units": "1",
            "TotalRate": "0.00000",
            "TotalAmount": "0.00000",
            "MessageIntent": "",
        }
        return self._signed("POST", self.config.inbound_url, params)
