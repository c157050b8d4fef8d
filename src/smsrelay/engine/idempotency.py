"""Idempotency keys for the accept path: one send per key, the first answer replayed after.

A client that retries a request it never saw answered (a timeout, a dropped connection) must
not send twice. Requests that carry the same key for the same account are serialised here;
the first one's answer is stored in the transaction that stores its messages (so an answer is
on record exactly when its messages are), and every later one gets that answer back, or
``idempotency_conflict`` when it is a different request under a used key. Records live 24 h
(``store/idempotency.py``). The surface decides what "the same request" means (the HTTP API
hashes the path and the canonical JSON body) and how an answer is rendered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.clock import Clock
from smsrelay.store import idempotency as idem_store
from smsrelay.store.db import Database

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's key and the fingerprint of the request it came with."""

    key: str
    request_hash: str

    @classmethod
    def checked(cls, key: str, request_hash: str) -> IdempotencyKey:
        """The key, or ``validation_error`` when it is empty, too long or not printable."""
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise SmsError(
                ErrorCode.VALIDATION_ERROR,
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
                field="Idempotency-Key",
            )
        return cls(key, request_hash)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer given to the first request under a key (status and rendered body)."""

    status: int
    body: bytes


class IdempotencyKeys:
    """Serialises requests per (account, key) and reads the answers already given."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def lock(self, account_id: str, key: str) -> AsyncIterator[None]:
        """Only one request per key at a time in this process; another process that commits
        the same key first makes the commit fail with ``IdempotencyTaken`` instead.

        Locks are counted by their users and dropped when the last one leaves, so the map
        never holds more than the requests in flight.
        """
        name = (account_id, key)
        entry = self._locks.get(name)
        if entry is None:
            entry = self._locks[name] = (asyncio.Lock(), [0])
        entry[1][0] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1][0] -= 1
            if entry[1][0] == 0:
                self._locks.pop(name, None)

    async def answered(self, account_id: str, key: IdempotencyKey) -> StoredAnswer | None:
        """The stored answer for this key, None when the key is new; raises
        ``idempotency_conflict`` when the key was used for a different request."""
        async with self._db.read() as conn:
            record = await idem_store.get_idempotency(conn, account_id, key.key, self._clock.now())
        if record is None:
            return None
        if record.request_hash != key.request_hash:
            raise SmsError(ErrorCode.IDEMPOTENCY_CONFLICT, field="Idempotency-Key")
        return StoredAnswer(record.response_status, record.response_body.encode())
