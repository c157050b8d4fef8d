"""Delivery-receipt text and TLVs (SMPP 3.4 Appendix B; §5.2.28 message_state).

A receipt arrives as a deliver_sm (or data_sm) with esm_class message type 0x04 (§5.2.12),
whose short_message (or message_payload) carries the de-facto text format::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:...

Carriers vary it freely, so :func:`parse_receipt` is tolerant: keys in any case and order,
fields missing or extra (kept in ``extra``), dates with or without seconds (10 or 12
digits, or 14 with a four-digit year), and ``text:`` taking the rest of the line. When the
PDU also carries the receipted_message_id and message_state TLVs (§5.3.2.12, §5.3.2.35),
:func:`receipt_from_pdu` lets them win: they are typed, the text is free-form.

Message ids: an MC may answer submit_sm_resp with an id in hex and report it in the receipt
in decimal (or the reverse), with or without leading zeros, in either case. The rule here:

- :func:`normalise_message_id` gives the canonical form: trimmed, lower-case, and, when the
  id is all hex digits, without leading zeros (``"000A1F"`` → ``"a1f"``, ``"0"`` stays).
- :func:`message_id_candidates` gives every canonical form an id may stand for: itself, plus
  its hex reading written in decimal and its decimal reading written in hex. Store the
  canonical submit_sm_resp id; look a receipt up by each candidate. The reading is
  ambiguous by nature (``"10"`` may be ten or sixteen), so a connector that knows its
  carrier's convention should prefer the exact candidate first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .constants import ESM_TYPE_MASK, EsmClass, MessageState
from .pdu import Pdu

__all__ = [
    "FINAL_STATES",
    "STAT_BY_STATE",
    "Receipt",
    "ReceiptParseError",
    "format_receipt",
    "is_receipt",
    "message_id_candidates",
    "normalise_message_id",
    "parse_receipt",
    "receipt_from_pdu",
    "state_from_stat",
]

#: §5.2.28 message_state → the 7-letter stat word of the receipt text (Appendix B).
STAT_BY_STATE: dict[MessageState, str] = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
_STATE_BY_STAT: dict[str, MessageState] = {word: st for st, word in STAT_BY_STATE.items()}
_STATE_BY_STAT.update(
    {  # spellings seen in the wild
        "DELIVERED": MessageState.DELIVERED,
        "UNDELIVERABLE": MessageState.UNDELIVERABLE,
        "UNDELIVERED": MessageState.UNDELIVERABLE,
        "REJECTED": MessageState.REJECTED,
        "ACCEPTED": MessageState.ACCEPTED,
        "DELETD": MessageState.DELETED,
        "EXPIRD": MessageState.EXPIRED,
    }
)

#: States after which nothing more will happen to the message.
FINAL_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.EXPIRED,
        MessageState.DELETED,
        MessageState.UNDELIVERABLE,
        MessageState.REJECTED,
    }
)

_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z_]+(?: date)?)\s*:", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]+")
_DEC = re.compile(r"[0-9]+")


class ReceiptParseError(ValueError):
    """The text has neither an ``id:`` nor a ``stat:`` field: it is not a receipt."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt. ``stat`` is upper-case (``DELIVRD``); ``state`` its §5.2.28 value."""

    message_id: str
    stat: str = ""
    state: MessageState | None = None
    err: str = ""
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    text: str = ""
    network_error_code: bytes | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        """The message reached an end state (delivered, expired, deleted, undeliverable,
        rejected)."""
        return self.state in FINAL_STATES

    @property
    def delivered_ok(self) -> bool:
        return self.state is MessageState.DELIVERED


def _parse_date(value: str) -> datetime | None:
    """YYMMDDhhmm[ss] (two-digit years are 20YY: receipts postdate 2000) or YYYYMMDDhhmmss."""
    if len(value) not in (10, 12, 14) or not value.isdigit():
        return None
    if len(value) == 14:
        year, value = int(value[:4]), value[4:]
    else:
        year, value = 2000 + int(value[:2]), value[2:]
    parts = [int(value[i : i + 2]) for i in range(0, len(value), 2)]
    try:
        return datetime(year, *parts)  # type: ignore[arg-type]
    except ValueError:
        return None


def _parse_int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def state_from_stat(stat: str) -> MessageState | None:
    """The §5.2.28 state a stat word stands for (``DELIVRD`` → DELIVERED), or ``None``."""
    return _STATE_BY_STAT.get(stat.strip().upper())


def parse_receipt(text: str | bytes) -> Receipt:
    """Parse receipt text (see the module docstring for what is tolerated).

    Raises ReceiptParseError when neither ``id:`` nor ``stat:`` is present.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("latin-1")
    values: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for i, match in enumerate(matches):
        key = " ".join(match.group(1).lower().split())
        start = match.end()
        if key == "text":
            values.setdefault("text", text[start:])
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        values.setdefault(key, text[start:end].strip())
    if "id" not in values and "stat" not in values:
        raise ReceiptParseError(f"not a delivery receipt: {text[:60]!r}")
    stat = values.pop("stat", "").upper()
    return Receipt(
        message_id=values.pop("id", ""),
        stat=stat,
        state=state_from_stat(stat),
        err=values.pop("err", ""),
        submitted=_parse_int(values.pop("sub", "")),
        delivered=_parse_int(values.pop("dlvrd", "")),
        submit_date=_parse_date(values.pop("submit date", "")),
        done_date=_parse_date(values.pop("done date", "")),
        text=values.pop("text", ""),
        extra=values,
    )


def is_receipt(pdu: Pdu) -> bool:
    """Is this deliver_sm/data_sm a delivery receipt (esm_class type 0x04, or the TLV)?"""
    esm = pdu.int_field("esm_class") & ESM_TYPE_MASK
    return esm == EsmClass.DELIVERY_RECEIPT or "receipted_message_id" in pdu.tlvs


def receipt_from_pdu(pdu: Pdu) -> Receipt | None:
    """The receipt a deliver_sm/data_sm carries, or ``None`` if it is not a receipt.

    The receipted_message_id and message_state TLVs win over the text when present; the
    text is read from short_message, or message_payload when short_message is empty. A PDU
    marked as a receipt whose text cannot be parsed still yields a Receipt if the TLVs
    carry the id.
    """
    if not is_receipt(pdu):
        return None
    body = pdu.fields.get("short_message") or pdu.tlvs.get("message_payload") or b""
    try:
        parsed = parse_receipt(body if isinstance(body, bytes | str) else b"")
    except ReceiptParseError:
        parsed = Receipt(message_id="")
    tlv_id = pdu.tlvs.get("receipted_message_id")
    tlv_state = pdu.tlvs.get("message_state")
    message_id = tlv_id if isinstance(tlv_id, str) and tlv_id else parsed.message_id
    state, stat = parsed.state, parsed.stat
    if isinstance(tlv_state, int):
        try:
            state = MessageState(tlv_state)
            stat = STAT_BY_STATE[state]
        except ValueError:
            pass
    if not message_id and state is None:
        return None
    nec = pdu.tlvs.get("network_error_code")
    return Receipt(
        message_id=message_id,
        stat=stat,
        state=state,
        err=parsed.err,
        submitted=parsed.submitted,
        delivered=parsed.delivered,
        submit_date=parsed.submit_date,
        done_date=parsed.done_date,
        text=parsed.text,
        network_error_code=nec if isinstance(nec, bytes) else None,
        extra=parsed.extra,
    )


def format_receipt(
    message_id: str,
    stat: str | MessageState,
    *,
    submit_date: datetime,
    done_date: datetime,
    err: int | str = 0,
    submitted: int = 1,
    delivered: int | None = None,
    text: str = "",
) -> str:
    """Receipt text in the Appendix B layout; ``text`` is cut to its customary 20 chars.

    ``delivered`` defaults to 1 for DELIVRD and 0 otherwise.
    """
    word = STAT_BY_STATE[stat] if isinstance(stat, MessageState) else stat.upper()
    if delivered is None:
        delivered = 1 if word == "DELIVRD" else 0
    err_text = f"{err:03d}" if isinstance(err, int) else err
    return (
        f"id:{message_id} sub:{submitted:03d} dlvrd:{delivered:03d} "
        f"submit date:{submit_date:%y%m%d%H%M} done date:{done_date:%y%m%d%H%M} "
        f"stat:{word} err:{err_text} text:{text[:20]}"
    )


def normalise_message_id(message_id: str) -> str:
    """Canonical form of a message id: trimmed, lower-case, leading zeros dropped when the
    id is all hex digits (so ``"00A1"`` and ``"a1"`` compare equal)."""
    value = message_id.strip().lower()
    if _HEX.fullmatch(value):
        value = value.lstrip("0") or "0"
    return value


def message_id_candidates(message_id: str) -> frozenset[str]:
    """Every canonical form ``message_id`` may denote: itself, its hex reading in decimal,
    and its decimal reading in hex. Two ids may name the same message when their candidate
    sets intersect; see the module docstring for the ambiguity this accepts."""
    canonical = normalise_message_id(message_id)
    forms = {canonical}
    if _HEX.fullmatch(canonical) and len(canonical) <= 32:
        forms.add(str(int(canonical, 16)))
        if _DEC.fullmatch(canonical):
            forms.add(format(int(canonical), "x"))
    return frozenset(forms)
