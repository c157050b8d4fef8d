"""The writes around verifications that are not a code's life: an account's verify settings,
lifting the fraud guard's blocks, and conversions a client reports. Each is one write of the
engine's unit of work (``engine/unit_of_work.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.store import fraud as fraud_store
from smsrelay.store import messages as message_store
from smsrelay.store import verifications as store
from smsrelay.store.verifications import ConversionRow, VerifySettings


class VerifyAdmin:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def put_settings(self, account_id: str, settings: VerifySettings) -> None:
        async def write(conn: AsyncConnection, now: float) -> None:
            await store.put_settings(conn, account_id, settings, now)

        await self._uow.run(write)

    async def lift(self, key: str, account_id: str | None) -> int:
        """Lift the blocks in force on a prefix or country (of one account, or of all)."""

        async def write(conn: AsyncConnection, now: float) -> int:
            return await fraud_store.lift_blocks(conn, key, now, account_id=account_id)

        return await self._uow.run(write)

    async def convert(self, account_id: str, message_id: str) -> ConversionRow | None:
        """Record that the account's message converted; None when it has no such message."""

        async def write(conn: AsyncConnection, now: float) -> ConversionRow | None:
            if await message_store.get_message(conn, message_id, account_id=account_id) is None:
                return None
            return await store.add_conversion(conn, account_id, message_id, "api", now)

        return await self._uow.run(write)
