"""The route table set through the admin API, kept so it survives a restart.

Routes are stored as JSON definitions in order; the engine turns them back into domain
``Route`` values. An empty table means "use the configuration file's routes".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.schema import route_table

__all__ = ["load_routes", "save_routes"]


async def load_routes(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The stored route definitions in order (empty when none was ever set)."""
    rows = await conn.execute(select(route_table.c.definition)
                              .order_by(route_table.c.position))
    return [orjson.loads(definition) for (definition,) in rows]


async def save_routes(conn: AsyncConnection, definitions: Sequence[dict[str, Any]],
                      now: float) -> None:
    """Replace the stored table with ``definitions`` (each has a unique ``name``)."""
    await conn.execute(delete(route_table))
    if definitions:
        await conn.execute(route_table.insert(), [
            {"position": i, "name": d["name"], "definition": orjson.dumps(d).decode(),
             "updated_at": now} for i, d in enumerate(definitions)])
