"""Conversions between the JSON contract and the engine's values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from smsrelay.domain.messages import Message, MessageEvent, request_priority
from smsrelay.domain.pricing import money
from smsrelay.domain.registration import Registration
from smsrelay.engine.accept import Prepared, SendRequest
from smsrelay.engine.notify import iso
from smsrelay.gateway.http.schemas import SendBody

T = TypeVar("T")


def timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_request(body: SendBody) -> SendRequest:
    return SendRequest(
        to=body.to,
        message=body.message,
        sender=body.sender,
        callback_url=body.callback_url,
        client_ref=body.client_ref,
        kind=body.kind,
        priority=body.priority,
        validity=None if body.validity is None else float(body.validity),
        send_at=timestamp(body.send_at),
        spintax=body.spintax,
        encoding=body.encoding,
        national_language=body.national_language,
        registration=_registration(body),
    )


def _registration(body: SendBody) -> Registration | None:
    """The ids the body names (the model checked each); None for none or ``{}``."""
    given = body.registration
    if given is None:
        return None
    registration = Registration(given.entity_id, given.template_id, given.telemarketer_id)
    return registration or None


def registration_out(registration: Registration | None) -> dict[str, str | None] | None:
    return registration.as_json() if registration else None


def accepted(prepared: Prepared) -> dict[str, Any]:
    m = prepared.message
    body: dict[str, Any] = {
        "message_id": m.id,
        "status": str(m.status),
        "segments": m.segments,
        "encoding": str(m.encoding),
        "variant": m.variant,
        "to": m.to,
        "country": m.country,
        "kind": str(m.kind),
        "priority": request_priority(m.priority),
        "client_ref": m.client_ref,
        "send_at": iso(m.not_before) if m.not_before > m.created_at else None,
        "expires_at": iso(m.expires_at),
        "replaced_characters": [list(pair) for pair in prepared.replaced],
        "held_for_quiet_hours": prepared.hold is not None,
        "quiet_hours_source": prepared.hold.source if prepared.hold else None,
        **priced(m),
        "from": m.sender,
        "sender_adapted": adapted_out(m.sender_adapted),
        "registration": registration_out(m.registration),
        "characters_changed": [{"from": a, "to": b} for a, b in prepared.replaced],
    }
    if prepared.opt_out_added:
        body["opt_out_added"] = prepared.opt_out_added
    if m.language:
        body["national_language"] = m.language
    return body


def adapted_out(adapted: tuple[str, str] | None) -> dict[str, str] | None:
    """``sender_adapted``: the sender asked for and why the destination did not take it."""
    return None if adapted is None else {"requested": adapted[0], "reason": adapted[1]}


def priced(m: Message) -> dict[str, Any]:
    """``price`` (a decimal string) and ``currency`` when a price list priced the message;
    nothing otherwise (the answers of unpriced accounts stay as they were)."""
    if m.price_micros is None:
        return {}
    return {"price": money(m.price_micros), "currency": m.currency}


def message_out(
    m: Message,
    events: Sequence[MessageEvent] | None = None,
    smpp_parts: Sequence[str] | None = None,
    sender_adapted: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The API's view of a message; with ``events`` (the single-message view) it also lists
    ``smpp_parts``: the ids an SMPP client knows the parts it sent the message in by (null
    for a message that did not come in parts), ``sender_adapted`` and ``registration`` (read
    with the message: ``m.registration``)."""
    body: dict[str, Any] = {
        "message_id": m.id,
        "status": str(m.status),
        "to": m.to,
        "from": m.sender,
        "message": m.body,
        "encoding": str(m.encoding),
        "national_language": m.language,
        "segments": m.segments,
        "kind": str(m.kind),
        "priority": request_priority(m.priority),
        "country": m.country,
        "variant": m.variant,
        "client_ref": m.client_ref,
        "callback_url": m.callback_url,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "send_at": iso(m.not_before) if m.not_before > m.created_at else None,
        "expires_at": iso(m.expires_at),
        "attempts": m.attempts,
        "connector": m.connector,
        "carrier_ids": list(m.carrier_ids),
        "error": ({"code": m.error_code, "message": m.error_message} if m.error_code else None),
        **priced(m),
    }
    if events is not None:
        body["smpp_parts"] = list(smpp_parts) if smpp_parts else None
        body["sender_adapted"] = adapted_out(sender_adapted)
        body["registration"] = registration_out(m.registration)
        body["events"] = [
            {
                "status": str(e.status),
                "at": iso(e.at),
                "error_code": e.error_code,
                "detail": e.detail,
            }
            for e in events
        ]
    return body


def paged(
    rows: Sequence[T], limit: int, cursor_of: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """One page from ``limit + 1`` fetched rows, and the cursor of the next page (or None)."""
    page = list(rows[:limit])
    return page, (cursor_of(page[-1]) if len(rows) > limit and page else None)
