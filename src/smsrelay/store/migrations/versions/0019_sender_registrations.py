"""Pool numbers carry their registration: a long code its 10DLC campaign, a toll-free number
its verification (``senders.registration_type`` and ``registration_id``; NULL: none).

Where a destination's registration scheme names the sender types it takes (the US: 10DLC,
toll-free, short code), sender adaptation uses only pool numbers registered as one of them.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("senders", sa.Column("registration_type", sa.String(20), nullable=True))
    op.add_column("senders", sa.Column("registration_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place
    with op.batch_alter_table("senders") as batch:
        batch.drop_column("registration_id")
        batch.drop_column("registration_type")
