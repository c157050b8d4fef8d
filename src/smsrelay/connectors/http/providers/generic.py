"""A provider described by configuration (``provider = "generic"``, :class:`GenericHttp`).

What Kannel's generic HTTP SMSC does with regular expressions, as data: the send request is
a template, the answer is classified by three patterns, the message id is found by a path
into the JSON answer (or a pattern), and callbacks name their fields. It signs nothing, so
its callback URLs carry the connector's secret token (checked by the connector).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

from smsrelay.connectors.http.provider import (
    Callback,
    CallbackKind,
    CallbackReply,
    ProviderCall,
    SendContext,
    failed,
    http_failure,
)
from smsrelay.connectors.http.providers.addresses import digits
from smsrelay.connectors.options import GenericHttp, HttpOptions
from smsrelay.domain.errors import ErrorCode
from smsrelay.domain.messages import (
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    ReceiptStatus,
    SubmitOutcome,
)
from smsrelay.domain.registration import DLT_FIELDS, Registration
from smsrelay.httpclient import HttpResponse

_FIELD = re.compile(
    r"\{(to|to_digits|from|text|message_id|status_url|inbound_url"
    r"|entity_id|template_id|telemarketer_id)\}"
)

_CONTENT_TYPES = {"form": "application/x-www-form-urlencoded", "json": "application/json"}


def _escape_json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _escape_url(value: str) -> str:
    return quote(value, safe="")


def _escape_none(value: str) -> str:
    return value


_ESCAPES: dict[str, Callable[[str], str]] = {
    "form": quote_plus,
    "json": _escape_json,
    "none": _escape_none,
}


def render(template: str, values: Mapping[str, str], escape: Callable[[str], str]) -> str:
    """``template`` with each ``{field}`` replaced by its escaped value."""
    return _FIELD.sub(lambda m: escape(values[m.group(1)]), template)


def find(data: Any, path: str) -> str | None:
    """The value at a dotted path (``messages.0.id``) as text, or None."""
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    if data is None or isinstance(data, (dict, list)):
        return None
    return str(data)


class Generic:
    name: ClassVar[str] = "generic"

    def __init__(self, spec: GenericHttp) -> None:
        self.spec = spec
        self._permanent = re.compile(spec.permanent)
        self._temporary = re.compile(spec.temporary)
        self._success = re.compile(spec.success)
        self._id_pattern = (
            re.compile(spec.id_path[6:]) if spec.id_path.startswith("regex:") else None
        )

    def signs(self, options: HttpOptions) -> bool:
        return False

    def send(self, message: OutboundMessage, context: SendContext) -> ProviderCall:
        spec = self.spec
        values = {
            "to": message.to,
            "to_digits": digits(message.to),
            "from": context.sender(message),
            "text": message.body,
            "message_id": message.message_id,
            "status_url": context.status_url,
            "inbound_url": context.inbound_url,
            # India's DLT ids ("" when the message has none)
            **dict.fromkeys(DLT_FIELDS, ""),
            **dict((context.registration(message) or Registration()).items()),
        }
        url = render(spec.url, values, _escape_url)
        if url.startswith("/"):
            url = context.base_url + url
        headers = dict(spec.headers)
        body = b""
        if spec.content_type != "none" or spec.body:
            body = render(spec.body, values, _ESCAPES[spec.content_type]).encode()
            if spec.content_type in _CONTENT_TYPES:
                headers.setdefault("Content-Type", _CONTENT_TYPES[spec.content_type])
        return ProviderCall(spec.method, url, headers, body)

    def sent(self, response: HttpResponse) -> SubmitOutcome:
        text = response.body.decode("utf-8", "replace")
        line = f"{response.status} {text}"
        detail = f"provider answered {line[:200]}"
        if self._permanent.search(line):
            code = http_failure(response.status)
            permanent = code in (None, ErrorCode.CARRIER_THROTTLED, ErrorCode.CARRIER_SYSTEM_ERROR)
            return failed(
                response.status, detail, ErrorCode.CARRIER_REJECTED if permanent else code
            )
        if self._temporary.search(line):
            code = http_failure(response.status)
            temporary = code not in (None, ErrorCode.CARRIER_REJECTED)
            return failed(
                response.status, detail, code if temporary else ErrorCode.CARRIER_SYSTEM_ERROR
            )
        if not self._success.search(line):
            return failed(response.status, detail, ErrorCode.CARRIER_SYSTEM_ERROR)
        carrier_id = self._carrier_id(response, text)
        if not carrier_id:
            return failed(502, "the answer holds no message id", ErrorCode.CARRIER_SYSTEM_ERROR)
        return SubmitOutcome(carrier_ids=(carrier_id,))

    def _carrier_id(self, response: HttpResponse, text: str) -> str | None:
        if self._id_pattern is not None:
            match = self._id_pattern.search(text)
            return match.group(1) if match and match.groups() else None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return find(data, self.spec.id_path)

    def authentic(self, callback: Callback, options: HttpOptions) -> bool:
        return False  # never asked: it signs nothing, the connector checks its token

    def _records(self, callback: Callback) -> list[dict[str, Any]]:
        if "json" in callback.headers.get("content-type", ""):
            data = callback.json()
            items = data if isinstance(data, list) else [data]
            return [{**callback.query, **item} for item in items if isinstance(item, dict)]
        return [callback.params]

    def reports(self, callback: Callback, connector: str, now: float) -> Sequence[DeliveryReport]:
        spec = self.spec
        out: list[DeliveryReport] = []
        for record in self._records(callback):
            carrier_id = find(record, spec.status_id_field)
            word = (find(record, spec.status_field) or "").strip()
            if not carrier_id or not word:
                continue
            mapped = spec.status_map.get(word) or spec.status_map.get(word.lower()) or word.lower()
            try:
                status = ReceiptStatus(mapped)
            except ValueError:
                status = ReceiptStatus.ACCEPTED
            error = find(record, spec.status_error_field)
            out.append(
                DeliveryReport(connector, carrier_id, status, now, error, raw={"status": word})
            )
        return out

    def inbound(self, callback: Callback, connector: str, now: float) -> Sequence[InboundMessage]:
        spec = self.spec
        out: list[InboundMessage] = []
        for record in self._records(callback):
            sender = find(record, spec.inbound_from_field)
            text = find(record, spec.inbound_text_field)
            if not sender or text is None:
                continue
            to = find(record, spec.inbound_to_field) or ""
            carrier_id = find(record, spec.inbound_id_field)
            out.append(InboundMessage(connector, sender, to, text, now, carrier_id))
        return out

    def reply(self, kind: CallbackKind) -> CallbackReply:
        return CallbackReply(200, b"OK")
