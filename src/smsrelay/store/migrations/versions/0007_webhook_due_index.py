"""The webhook claim's order as a partial index over pending deliveries.

``ix_webhook_deliveries_state_next_attempt_at`` served the claim's range but not its order
(``next_attempt_at, id``): with statistics lagging a fast-growing table PostgreSQL fetched every
due delivery and sorted them for each claim. ``(next_attempt_at, id) WHERE state = 'pending'``
gives the rows in claim order, so a claim stops at its LIMIT.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at", "id"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.drop_index("ix_webhook_deliveries_state_next_attempt_at", table_name="webhook_deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_state_next_attempt_at",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
    )
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
