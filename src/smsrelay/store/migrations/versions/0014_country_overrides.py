"""Country rule overrides set through the admin API.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "country_overrides",
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("overrides", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("country", name="pk_country_overrides"),
    )


def downgrade() -> None:
    op.drop_table("country_overrides")
