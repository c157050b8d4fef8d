"""Webhook signatures, a public contract::

    X-Smsrelay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">

keyed with the account's webhook secret (UTF-8). The webhook sender calls :func:`sign` (or
:func:`sign_many` while a secret is being rotated, which puts one ``v1=`` per secret in the
header); ``smsrelay webhook-listen`` and customers' receivers call :func:`verify`.

The timestamp is inside the MAC so a captured request cannot be replayed later than the
tolerance; the MAC covers the raw body bytes, so receivers must verify before parsing JSON.
Verification answers True or False and never raises: a receiver should not need a try block
to reject garbage.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

__all__ = ["SIGNATURE_HEADER", "sign", "sign_many", "verify"]

SIGNATURE_HEADER = "X-Smsrelay-Signature"
SCHEME = "v1"

_MAX_HEADER = 4096
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at unix time ``timestamp`` (whole seconds)."""
    return sign_many([secret], body, timestamp)


def sign_many(secrets: Sequence[str], body: bytes, timestamp: int) -> str:
    """The header value with one ``v1=`` entry per secret, in the given order, so receivers
    holding either the old or the new secret accept it during a rotation."""
    if not secrets:
        raise ValueError("at least one secret is needed")
    if timestamp < 0:
        raise ValueError("timestamp must be unix seconds")
    entries = ",".join(f"{SCHEME}={_mac(s, body, timestamp)}" for s in secrets)
    return f"t={timestamp},{entries}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300) -> bool:
    """Whether ``header`` is a valid signature of ``body`` under ``secret`` at time ``now``.

    True when the header has exactly one ``t=`` within ``tolerance`` seconds of ``now`` (either
    side, to allow for clock skew) and at least one ``v1=`` entry equal to the expected MAC,
    compared in constant time. Unknown entries (future schemes) are ignored; anything
    malformed, including a header longer than 4 KiB, is simply False.
    """
    if not isinstance(header, str) or len(header) > _MAX_HEADER:
        return False
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        if not item.strip():
            continue
        key, sep, value = item.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            candidates.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        return False
    timestamp = int(timestamps[0])
    if not abs(now - timestamp) <= tolerance:
        return False
    expected = _mac(secret, body, timestamp).encode("ascii")
    matched = False
    for candidate in candidates:
        if _HEX_SHA256.fullmatch(candidate):
            # every candidate is compared, so timing does not reveal which entry matched
            matched |= hmac.compare_digest(expected, candidate.lower().encode("ascii"))
    return matched
