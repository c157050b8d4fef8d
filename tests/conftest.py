"""Shared fixtures, defined in ``tests/support`` and registered here for every suite."""

from __future__ import annotations

from tests.support.database import (  # noqa: F401  (fixtures are found by name)
    _postgres_session_url,
    _sqlite_template,
    database,
    postgres_database,
    postgres_database_url,
    sqlite_database,
    sqlite_database_url,
)
