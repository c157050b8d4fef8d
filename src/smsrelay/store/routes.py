"""Routing set through the admin API, kept so it survives a restart.

The route table is stored as JSON definitions in order (an empty table means "use the
configuration file's routes"); connectors added at run time are stored as their JSON
definitions, which are the config file's ``[[connectors]]`` fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.store.schema import connector_defs, route_table

__all__ = ["delete_connector", "load_connectors", "load_routes", "save_connector", "save_routes"]


async def load_routes(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The stored route definitions in order (empty when none was ever set)."""
    rows = await conn.execute(select(route_table.c.definition).order_by(route_table.c.position))
    return [orjson.loads(definition) for (definition,) in rows]


async def save_routes(
    conn: AsyncConnection, definitions: Sequence[dict[str, Any]], now: float
) -> None:
    """Replace the stored table with ``definitions`` (each has a unique ``name``)."""
    await conn.execute(delete(route_table))
    if definitions:
        await conn.execute(
            route_table.insert(),
            [
                {
                    "position": i,
                    "name": d["name"],
                    "definition": orjson.dumps(d).decode(),
                    "updated_at": now,
                }
                for i, d in enumerate(definitions)
            ],
        )


async def load_connectors(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Connector definitions added through the admin API, by name."""
    rows = await conn.execute(select(connector_defs.c.definition).order_by(connector_defs.c.name))
    return [orjson.loads(definition) for (definition,) in rows]


async def save_connector(conn: AsyncConnection, definition: dict[str, Any], now: float) -> None:
    """Store a new connector definition (its ``name`` must be unused)."""
    await conn.execute(
        connector_defs.insert().values(
            name=definition["name"], definition=orjson.dumps(definition).decode(), updated_at=now
        )
    )


async def delete_connector(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(delete(connector_defs).where(connector_defs.c.name == name))
    return bool(result.rowcount)
