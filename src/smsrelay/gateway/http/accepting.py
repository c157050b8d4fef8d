"""What the sending endpoints share: the request's Idempotency-Key and the accept answer.

The accept path itself (rate limit, idempotency, screening, commit) is the engine's
``Acceptor.accept``; this module only turns HTTP into its arguments and its outcome back
into a response.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from smsrelay.engine.idempotency import IdempotencyKey


def request_hash(request: Request, raw: bytes) -> str:
    """The request's fingerprint: its path and its JSON body with keys sorted (so a client
    that re-serialises the same body in another key order is the same request)."""
    try:
        canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = raw
    return hashlib.sha256(request.url.path.encode() + b"\0" + canonical).hexdigest()


async def idempotency_of(request: Request) -> IdempotencyKey | None:
    """The request's Idempotency-Key header, checked, with the request's fingerprint."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    return IdempotencyKey.checked(key, request_hash(request, await request.body()))


def rendered(status: int, body: Any) -> tuple[int, bytes]:
    return status, orjson.dumps(body)


def respond(answer: tuple[int, bytes], *, replayed: bool = False) -> Response:
    """An answer rendered once: stored under an idempotency key, replayed, or fresh."""
    status, body = answer
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, status_code=status, headers=headers, media_type="application/json")
