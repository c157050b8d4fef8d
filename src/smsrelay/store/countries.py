"""Country rule overrides set through the admin API, kept so they survive a restart.

Stored as the JSON the API accepted, per country; ``domain/countries`` checks it again when
it is read, so a row written by an older version that no longer validates is reported, not
applied silently.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.schema import country_overrides

__all__ = ["delete_override", "load_overrides", "save_override"]


async def load_overrides(conn: AsyncConnection) -> dict[str, tuple[dict[str, Any], float]]:
    """Every stored override: ISO code → (fields as JSON values, when it was set)."""
    rows = await conn.execute(
        select(
            country_overrides.c.country,
            country_overrides.c.overrides,
            country_overrides.c.updated_at,
        )
    )
    return {country: (orjson.loads(fields), at) for country, fields, at in rows}


async def save_override(
    conn: AsyncConnection, country: str, fields: dict[str, Any], now: float
) -> None:
    """Replace the overrides of ``country`` with ``fields``."""
    await conn.execute(delete(country_overrides).where(country_overrides.c.country == country))
    await conn.execute(
        country_overrides.insert().values(
            country=country, overrides=orjson.dumps(fields).decode(), updated_at=now
        )
    )


async def delete_override(conn: AsyncConnection, country: str) -> bool:
    result = await conn.execute(
        delete(country_overrides).where(country_overrides.c.country == country)
    )
    return bool(result.rowcount)
