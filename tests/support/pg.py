"""Throw-away PostgreSQL databases for tests that run the whole gateway on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import asyncpg

PG_HOST = os.environ.get("SMSRELAY_TEST_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("SMSRELAY_TEST_PG_USER", "postgres")


@contextlib.asynccontextmanager
async def fresh_postgres_url() -> AsyncIterator[str]:
    """An empty database for the duration of the block, as a SQLAlchemy asyncpg URL."""
    name = f"smsrelay_it_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(host=PG_HOST, user=PG_USER, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:5432/{name}"
    finally:
        admin = await asyncpg.connect(host=PG_HOST, user=PG_USER, database="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
