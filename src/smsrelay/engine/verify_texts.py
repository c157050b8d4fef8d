"""The dispatcher's way to the real text of a one-time-code message.

A verification's message row holds its text with the code masked; the text with the code is
sealed in ``verification_sends`` (``domain/verify.py``). When the dispatcher hands such a
message (``origin = "verify"``) to its connector, it asks here: one read by primary key,
then AES-GCM. No text (the verification ended, or a resend replaced the code) means the
message is not sent: the code in it no longer works.
"""

from __future__ import annotations

from smsrelay.domain.verify import unseal
from smsrelay.store import verifications as store
from smsrelay.store.db import Database

VERIFY_ORIGIN = "verify"


class SealedTexts:
    def __init__(self, db: Database, seal_key: bytes) -> None:
        self._db = db
        self._key = seal_key

    async def text_for(self, message_id: str) -> str | None:
        async with self._db.read() as conn:
            sealed = await store.sealed_text(conn, message_id)
        return unseal(self._key, sealed, message_id) if sealed else None
