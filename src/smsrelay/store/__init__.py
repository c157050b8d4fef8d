"""smsrelay.store: the persistence layer (SQLAlchemy Core on SQLite and PostgreSQL).

Repository functions live in one module per concern (``accounts``, ``idempotency``,
``messages``, ``queue``, ``receipts``, ``webhooks``); each takes the ``AsyncConnection`` of a
``Database.transaction()`` or ``Database.read()`` block first, so the caller decides what is
one transaction. All SQL of smsrelay is in this package.
"""

from __future__ import annotations

from smsrelay.store.db import Database, current_revision, head_revision, sqlite_url, upgrade

__all__ = ["Database", "current_revision", "head_revision", "sqlite_url", "upgrade"]
