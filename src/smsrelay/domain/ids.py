"""Time-ordered identifiers.

Message ids sort by creation time (48-bit milliseconds, then 80 random bits, Crockford
base32), so the primary key doubles as the cursor for pagination and the claim order for the
queue, and ids made on different nodes never collide.
"""

from __future__ import annotations

import os

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, now: float, entropy: bytes | None = None) -> str:
    """A sortable id ``<prefix>_<26 chars>`` for an object created at unix time ``now``."""
    millis = int(now * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(entropy if entropy is not None else os.urandom(10), "big")
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand & ((1 << 80) - 1), 16)}"


def id_floor(prefix: str, now: float) -> str:
    """The smallest id that :func:`new_id` can make at time ``now``: a time-range bound."""
    return f"{prefix}_{_b32(int(now * 1000), 10)}{'0' * 16}"
