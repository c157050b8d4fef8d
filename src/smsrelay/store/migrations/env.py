"""Alembic environment, configured from code: the URL arrives in ``config.attributes["url"]``.

``smsrelay.store.db.upgrade`` builds the config, so there is no alembic.ini to ship or to get
out of step. Migrations run through the same async drivers as the application (aiosqlite,
asyncpg); SQLite uses batch mode because it cannot ALTER most things in place.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from smsrelay.store.db import migration_engine
from smsrelay.store.schema import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = migration_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
    finally:
        await engine.dispose()


def _run_offline(url: str) -> None:
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


_url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
if not isinstance(_url, str):
    raise RuntimeError("no database URL: run migrations through smsrelay.store.db.upgrade")
if context.is_offline_mode():
    _run_offline(_url)
else:
    asyncio.run(_run_online(_url))
