"""Verifications, their sealed texts, conversions and the account's verify settings.

Rows only; the rules are in ``domain/verify.py`` and ``engine/verify.py``. A verification
changes with a guarded UPDATE (its status and check count as read), so two checks at once
cannot both spend the same attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.verify import VerificationState, VerificationStatus
from smsrelay.store.db import dialect_insert
from smsrelay.store.schema import conversions, verification_sends, verifications, verify_settings

__all__ = [
    "ConversionRow",
    "StatsRow",
    "Verification",
    "VerifySettings",
    "add_conversion",
    "close_sends",
    "expire_due",
    "get_settings",
    "get_verification",
    "insert_send",
    "insert_verification",
    "put_settings",
    "remove_verification",
    "sealed_text",
    "stats",
    "update_verification",
]

v = verifications
s = verification_sends


@dataclass(frozen=True, slots=True)
class Verification:
    id: str
    account_id: str
    to: str
    country: str | None
    prefix: str
    channel: str
    locale: str
    status: VerificationStatus
    code_hash: str
    code_length: int
    checks: int
    sends: int
    max_checks: int
    max_sends: int
    message_id: str
    device_ip: str | None
    created_at: float
    updated_at: float
    expires_at: float
    approved_at: float | None = None
    app_name: str | None = None  # the request's, when it named one
    web_domain: str | None = None
    app_hash: str | None = None

    @property
    def state(self) -> VerificationState:
        return VerificationState(
            self.status, self.checks, self.sends, self.expires_at, self.max_checks, self.max_sends
        )


def _verification(row: Row[Any]) -> Verification:
    m = row._mapping
    return Verification(
        id=m["id"],
        account_id=m["account_id"],
        to=m["to_number"],
        country=m["country"],
        prefix=m["prefix"],
        channel=m["channel"],
        locale=m["locale"],
        status=VerificationStatus(m["status"]),
        code_hash=m["code_hash"],
        code_length=m["code_length"],
        checks=m["checks"],
        sends=m["sends"],
        max_checks=m["max_checks"],
        max_sends=m["max_sends"],
        message_id=m["message_id"],
        device_ip=m["device_ip"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        expires_at=m["expires_at"],
        approved_at=m["approved_at"],
        app_name=m["app_name"],
        web_domain=m["web_domain"],
        app_hash=m["app_hash"],
    )


async def insert_verification(conn: AsyncConnection, ver: Verification) -> None:
    await conn.execute(
        v.insert().values(
            id=ver.id,
            account_id=ver.account_id,
            to_number=ver.to,
            country=ver.country,
            prefix=ver.prefix,
            channel=ver.channel,
            locale=ver.locale,
            status=str(ver.status),
            code_hash=ver.code_hash,
            code_length=ver.code_length,
            checks=ver.checks,
            sends=ver.sends,
            max_checks=ver.max_checks,
            max_sends=ver.max_sends,
            message_id=ver.message_id,
            device_ip=ver.device_ip,
            app_name=ver.app_name,
            web_domain=ver.web_domain,
            app_hash=ver.app_hash,
            created_at=ver.created_at,
            updated_at=ver.updated_at,
            expires_at=ver.expires_at,
        )
    )


async def remove_verification(conn: AsyncConnection, verification_id: str) -> None:
    """Undo a create whose message was refused: the client never saw the verification."""
    await conn.execute(delete(s).where(s.c.verification_id == verification_id))
    await conn.execute(delete(v).where(v.c.id == verification_id))


async def get_verification(
    conn: AsyncConnection, verification_id: str, account_id: str | None = None
) -> Verification | None:
    query = select(v).where(v.c.id == verification_id)
    if account_id is not None:
        query = query.where(v.c.account_id == account_id)
    row = (await conn.execute(query)).first()
    return _verification(row) if row is not None else None


async def update_verification(
    conn: AsyncConnection, current: Verification, now: float, **values: Any
) -> Verification | None:
    """Apply ``values`` if the row is still as ``current`` was read (status, checks, sends);
    None when another change came first."""
    result = await conn.execute(
        update(v)
        .where(
            v.c.id == current.id,
            v.c.status == str(current.status),
            v.c.checks == current.checks,
            v.c.sends == current.sends,
        )
        .values(updated_at=now, **values)
    )
    if result.rowcount != 1:
        return None
    return await get_verification(conn, current.id)


async def insert_send(
    conn: AsyncConnection, message_id: str, verification_id: str, sealed: str, now: float
) -> None:
    await conn.execute(
        s.insert().values(
            message_id=message_id,
            verification_id=verification_id,
            sealed_text=sealed,
            created_at=now,
        )
    )


async def close_sends(conn: AsyncConnection, verification_id: str) -> None:
    """Forget the sealed texts of a verification that ended (or whose code was replaced)."""
    await conn.execute(
        update(s)
        .where(s.c.verification_id == verification_id, s.c.sealed_text.is_not(None))
        .values(sealed_text=None)
    )


async def sealed_text(conn: AsyncConnection, message_id: str) -> str | None:
    return (
        await conn.execute(select(s.c.sealed_text).where(s.c.message_id == message_id))
    ).scalar_one_or_none()


async def expire_due(conn: AsyncConnection, now: float, *, limit: int = 500) -> list[Verification]:
    """Mark pending verifications past their expiry ``expired``; returns them as they are now."""
    ids = list(
        (
            await conn.execute(
                select(v.c.id)
                .where(v.c.status == str(VerificationStatus.PENDING), v.c.expires_at <= now)
                .order_by(v.c.expires_at)
                .limit(limit)
            )
        ).scalars()
    )
    if not ids:
        return []
    await conn.execute(
        update(v)
        .where(v.c.id.in_(ids), v.c.status == str(VerificationStatus.PENDING))
        .values(status=str(VerificationStatus.EXPIRED), updated_at=now)
    )
    await conn.execute(update(s).where(s.c.verification_id.in_(ids)).values(sealed_text=None))
    rows = (await conn.execute(select(v).where(v.c.id.in_(ids)))).all()
    return [_verification(r) for r in rows]


# -- conversions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversionRow:
    message_id: str
    source: str
    converted_at: float


async def add_conversion(
    conn: AsyncConnection, account_id: str, message_id: str, source: str, now: float
) -> ConversionRow:
    """Record that the message converted; the first record stays (asked again, it answers it)."""
    insert = dialect_insert(conn)
    await conn.execute(
        insert(conversions)
        .values(message_id=message_id, account_id=account_id, source=source, converted_at=now)
        .on_conflict_do_nothing()
    )
    row = (
        await conn.execute(
            select(conversions.c.source, conversions.c.converted_at).where(
                conversions.c.message_id == message_id
            )
        )
    ).one()
    return ConversionRow(message_id, row.source, row.converted_at)


# -- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatsRow:
    key: str | None
    created: int
    approved: int


def _grouped(column: Any, account_id: str, since: float, until: float) -> Select[Any]:
    approved = func.sum(case((v.c.status == str(VerificationStatus.APPROVED), 1), else_=0))
    return (
        select(column, func.count(), approved)
        .where(v.c.account_id == account_id, v.c.created_at >= since, v.c.created_at < until)
        .group_by(column)
        .order_by(func.count().desc(), column)
    )


async def stats(
    conn: AsyncConnection, account_id: str, since: float, until: float, *, limit: int = 100
) -> tuple[list[StatsRow], list[StatsRow]]:
    """Verifications created and approved, per country and per prefix."""
    out: list[list[StatsRow]] = []
    for column in (v.c.country, v.c.prefix):
        rows = (await conn.execute(_grouped(column, account_id, since, until).limit(limit))).all()
        out.append([StatsRow(r[0], int(r[1]), int(r[2] or 0)) for r in rows])
    return out[0], out[1]


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifySettings:
    app_name: str | None = None
    allowed_countries: tuple[str, ...] | None = None  # None: every country


async def get_settings(conn: AsyncConnection, account_id: str) -> VerifySettings:
    row = (
        await conn.execute(
            select(verify_settings).where(verify_settings.c.account_id == account_id)
        )
    ).first()
    if row is None:
        return VerifySettings()
    countries = row.allowed_countries
    return VerifySettings(
        row.app_name,
        None if countries is None else tuple(c for c in countries.split(",") if c),
    )


async def put_settings(
    conn: AsyncConnection, account_id: str, settings: VerifySettings, now: float
) -> None:
    countries = None
    if settings.allowed_countries is not None:
        countries = ",".join(settings.allowed_countries)
    insert = dialect_insert(conn)
    stmt = insert(verify_settings).values(
        account_id=account_id,
        app_name=settings.app_name,
        allowed_countries=countries,
        updated_at=now,
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[verify_settings.c.account_id],
            set_={
                "app_name": stmt.excluded.app_name,
                "allowed_countries": stmt.excluded.allowed_countries,
                "updated_at": stmt.excluded.updated_at,
            },
        )
    )
