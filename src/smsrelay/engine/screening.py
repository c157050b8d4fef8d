"""Suppression screening with coalesced reads: one query serves many concurrent accepts.

Every send is checked against the account's suppression list before it is committed. One
read per request would make the reader pool the ceiling of the accept path (an SMPP bind
with a window of 100 has 100 submits in flight), so, like group commit, one read is in
flight at a time and every check that arrives meanwhile is answered by the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from smsrelay.store import accounts as account_store
from smsrelay.store import suppressions as suppression_store
from smsrelay.store.db import Database

__all__ = ["SuppressionScreen"]

_Waiter = tuple[frozenset[str], "asyncio.Future[tuple[set[str], bool]]"]


class SuppressionScreen:
    """Answers "which of these numbers has the account suppressed, and is OTP exempt?"."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[str, list[_Waiter]] = {}
        self._task: asyncio.Task[None] | None = None

    async def check(self, account_id: str, numbers: Iterable[str]) -> tuple[set[str], bool]:
        """The suppressed subset of ``numbers`` and the account's ``optout_exempt_otp``."""
        future: asyncio.Future[tuple[set[str], bool]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account_id, []).append((frozenset(numbers), future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="suppression-screen")
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                async with self._db.read() as conn:
                    for account_id, waiters in batch.items():
                        wanted = frozenset().union(*(n for n, _ in waiters))
                        blocked = await suppression_store.suppressed_among(conn, account_id, wanted)
                        exempt = True
                        if blocked:
                            account = await account_store.get_account(conn, account_id)
                            exempt = account is None or account.optout_exempt_otp
                        for numbers, future in waiters:
                            if not future.done():
                                future.set_result((blocked & numbers, exempt))
            except Exception as error:  # every waiter of the batch learns of it
                for waiters in batch.values():
                    for _, future in waiters:
                        if not future.done():
                            future.set_exception(error)
